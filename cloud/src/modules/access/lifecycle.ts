// What other modules call when a person's right to a way in ends, inside their own transaction: withdrawal of the
// face_access consent (consents module) deletes the template; a move-out (owners module) takes everything —
// template, keys, PIN, group memberships, the household's visitor passes — and revokes the person on every gateway.
// The queued deltas are pushed after the caller commits (flushDesired / afterCommit).
import type { Tx } from '../../core/tx.js';
import { queueDesired, revocation } from './desired.js';
import { removeFaceTemplate } from './faces.js';
import { syncGroups, syncMembers } from './groups.js';
import { removePin } from './pins.js';
import { cancelPass } from './visitors.js';

export { afterCommit } from './desired.js';

export async function onFaceConsentWithdrawn(tx: Tx, personId: string): Promise<void> {
  await removeFaceTemplate(tx, personId, 'consent_withdrawn');
}

export async function onMoveOut(
  tx: Tx,
  household: { id: string; estateId: string },
  personIds: string[],
): Promise<void> {
  const { estateId } = household;
  for (const id of personIds) {
    await removeFaceTemplate(tx, id, 'moved_out');
    await removePin(tx, id, 'moved_out');
  }
  const keys = await tx.bleKey.findMany({ where: { personId: { in: personIds }, status: { not: 'revoked' } } });
  if (keys.length) {
    await tx.bleKey.updateMany({
      where: { id: { in: keys.map((k) => k.id) } },
      data: { status: 'revoked', changedAt: new Date() },
    });
    await queueDesired(tx, estateId, 'credentials', { deletes: keys.map((k) => ({ kind: 'ble_key', id: k.id })) });
    await queueDesired(tx, estateId, 'revocations', {
      upserts: keys.map((k) => revocation('ble_key', k.id, 'moved_out')),
    });
  }
  await tx.accessMember.deleteMany({ where: { personId: { in: personIds } } });
  const own = await tx.accessGroup.findUnique({ where: { householdId: household.id } });
  if (own) await tx.accessGroup.delete({ where: { id: own.id } });
  await syncMembers(tx, estateId, personIds);
  if (own) await syncGroups(tx, estateId, [own.id]);
  const passes = await tx.visitorPass.findMany({
    where: { householdId: household.id, status: { in: ['pending', 'approved'] } },
  });
  for (const p of passes) await cancelPass(tx, p, 'host_moved_out');
  await queueDesired(tx, estateId, 'revocations', {
    upserts: personIds.map((id) => revocation('person', id, 'moved_out')),
  });
}
