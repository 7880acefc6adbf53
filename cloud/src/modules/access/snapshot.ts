// The full desired state of one gateway, computed from the access tables (issues 5 and 6). The change paths only
// push deltas as they happen, so a gateway provisioned after doors, groups and credentials exist would otherwise
// get nothing of them (and no config: no PIN key, no trusted keys). `snapshotForGateway` puts the config and the
// complete current items of every section, deletes what the gateway's desired state holds that is no longer
// current, and then replays the outbox rows of the last minute for this gateway, so a change that committed while
// the snapshot was read is not overwritten by the older snapshot (puts are idempotent; the replay is in id order).
// Called by the fleet module when a gateway becomes active, and by staff through POST /api/gateways/:id/resync.
import type { Section } from '@estate/protocols';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { recordAudit } from '../../core/audit.js';
import { authorize } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { ErrorResponses } from '../../core/schemas.js';
import { desiredState, keyOf, liveKeys } from '../../sync/index.js';
import { credentialItem } from './ble-keys.js';
import { type Acting, estateInScope } from './common.js';
import { type AccessSection, type Delta, revocation } from './desired.js';
import { doorItem } from './doors-groups.js';
import { faceService, templateItem } from './faces.js';
import { groupItemOf, memberItem } from './groups.js';
import { pinItem } from './pins.js';
import { passItem } from './visitors.js';

const SECTIONS: readonly AccessSection[] = ['access', 'gallery', 'credentials', 'passes', 'revocations'];
/** How far back the outbox is replayed after the puts: longer than any access transaction runs. */
const REPLAY_MS = 60_000;

type Upserts = { [S in AccessSection]: Delta<S>['upserts'] };
type Key = { kind: string; id: string };

/** Every current item of every section for this gateway, from the access tables. */
export async function snapshotItems(deps: CloudDeps, gatewayId: string, now = new Date()): Promise<Upserts> {
  const { prisma } = deps;
  const { estateId } = await prisma.gateway.findUniqueOrThrow({ where: { id: gatewayId }, select: { estateId: true } });
  const estate = { estateId };
  const live = { gt: now };
  const [doors, groups, members, pins, keys, templates, passes, cancelled, movedOut] = await Promise.all([
    // a door goes only to the gateway its controller is paired to; everything else to every gateway of the estate
    prisma.accessDoor.findMany({ where: { gatewayId }, orderBy: { id: 'asc' } }),
    prisma.accessGroup.findMany({ where: estate, include: { doors: true }, orderBy: { id: 'asc' } }),
    prisma.accessMember.findMany({ where: { group: estate }, orderBy: [{ personId: 'asc' }, { groupId: 'asc' }] }),
    prisma.accessPin.findMany({ where: estate, orderBy: { personId: 'asc' } }),
    prisma.bleKey.findMany({ where: { ...estate, notAfter: live }, orderBy: { id: 'asc' } }),
    prisma.faceTemplate.findMany({ where: estate, orderBy: { id: 'asc' } }),
    prisma.visitorPass.findMany({ where: { ...estate, status: 'approved', validTo: live }, orderBy: { id: 'asc' } }),
    // a cancelled pass that was issued (decided, not rejected) may still be in the visitor's hands
    prisma.visitorPass.findMany({
      where: { ...estate, status: 'cancelled', decidedAt: { not: null }, validTo: live },
      orderBy: { id: 'asc' },
    }),
    prisma.person.findMany({
      where: { household: { ...estate, movedOutAt: { not: null } } },
      select: { id: true, household: { select: { movedOutAt: true } } },
      orderBy: { id: 'asc' },
    }),
  ]);
  const byPerson = new Map<string, string[]>();
  for (const m of members) byPerson.set(m.personId, [...(byPerson.get(m.personId) ?? []), m.groupId]);
  const faces = faceService(deps);
  // Revocations: only what the tables still show. A deleted PIN or template leaves no row, but a gateway that never
  // had the item cannot accept it either; keys, passes and persons carry their own proof and must be refused.
  const revoked = [
    ...keys
      .filter((k) => k.status !== 'active')
      .map((k) => ({ ...revocation('ble_key', k.id, k.status), revokedAt: k.changedAt.getTime() })),
    ...cancelled.map((p) => revocation('pass', p.id, 'cancelled')),
    ...movedOut.map((p) => ({
      ...revocation('person', p.id, 'moved_out'),
      revokedAt: p.household.movedOutAt?.getTime() ?? now.getTime(),
    })),
  ];
  return {
    access: [
      ...doors.map(doorItem),
      ...groups.map(groupItemOf),
      ...[...byPerson].map(([personId, ids]) => memberItem(personId, ids)),
    ],
    gallery: templates.map((t) => templateItem(t, faces.openEmbedding(t))),
    credentials: [...pins.map(pinItem), ...keys.filter((k) => k.status !== 'revoked').map(credentialItem)],
    passes: passes.map(passItem),
    revocations: revoked,
  };
}

/**
 * What to delete from the desired state. Revocations are only ever deleted when they contradict a current
 * credential (a PIN set again, a key resumed): a revocation the tables cannot explain any more is kept, because
 * dropping one would let a credential back in.
 */
function deletesFor(section: AccessSection, current: Key[], items: Upserts): Key[] {
  if (section !== 'revocations') {
    const wanted = new Set(items[section].map(keyOf));
    return current.filter((k) => !wanted.has(keyOf(k)));
  }
  const valid = new Set(
    [...items.credentials, ...items.gallery, ...items.passes]
      .filter((i) => !('status' in i) || i.status === 'active')
      .map(keyOf),
  );
  const revokedNow = new Set(items.revocations.map(keyOf));
  return current.filter((k) => valid.has(keyOf(k)) && !revokedNow.has(keyOf(k)));
}

export interface SnapshotResult {
  gatewayId: string;
  sections: Record<AccessSection, { upserts: number; deletes: number }>;
  replayed: number;
}

/** Puts the config and the full current access state into the gateway's desired state. */
export async function snapshotForGateway(deps: CloudDeps, gatewayId: string): Promise<SnapshotResult> {
  const sync = desiredState(deps);
  const started = new Date();
  const gw = await deps.prisma.gateway.findUnique({ where: { id: gatewayId } });
  if (!gw) throw notFound('Gateway');
  if (gw.status === 'retired') throw new AppError('CONFLICT', 'the gateway is retired');
  await sync.setConfig(gatewayId); // first: without its PIN key and trusted keys the gateway can use nothing else
  const items = await snapshotItems(deps, gatewayId, started);
  const sections = {} as SnapshotResult['sections'];
  for (const section of SECTIONS) {
    const deletes = deletesFor(section, await liveKeys(deps.driver, gatewayId, section), items);
    await sync.put(gatewayId, section, { upserts: items[section], deletes });
    sections[section] = { upserts: items[section].length, deletes: deletes.length };
  }
  return { gatewayId, sections, replayed: await replayRecent(deps, gw, started) };
}

/** Pushes to this gateway again every outbox row of its estate written shortly before the snapshot or since. */
async function replayRecent(deps: CloudDeps, gw: { id: string; estateId: string }, since: Date): Promise<number> {
  const rows = await deps.prisma.accessDesiredQueue.findMany({
    where: {
      estateId: gw.estateId,
      createdAt: { gte: new Date(since.getTime() - REPLAY_MS) },
      OR: [{ gatewayId: null }, { gatewayId: gw.id }],
      failedReason: null, // set aside by the flush: the sync engine refuses it for good
    },
    orderBy: { id: 'asc' },
  });
  const sync = desiredState(deps);
  for (const row of rows) {
    await sync.put(gw.id, row.section as Section, { upserts: row.upserts, deletes: row.deletes } as unknown as Delta);
  }
  return rows.length;
}

const SectionCounts = Type.Object({ upserts: Type.Integer(), deletes: Type.Integer() });
const Resynced = Type.Object({
  gatewayId: Type.String(),
  sections: Type.Record(Type.String(), SectionCounts),
  replayed: Type.Integer(),
});
const GatewayParams = Type.Object(
  { id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }) },
  { additionalProperties: false },
);

/** Staff repair of drift: the gateway's desired state rebuilt from the access tables. */
export async function resyncGateway(deps: CloudDeps, actor: Acting, gatewayId: string): Promise<SnapshotResult> {
  authorize(actor.principal, 'access:manage'); // a role that may never learns FORBIDDEN, not whether the id exists
  const gw = await deps.prisma.gateway.findUnique({ where: { id: gatewayId }, select: { estateId: true } });
  if (!gw) throw notFound('Gateway');
  estateInScope(actor, gw.estateId, 'access:manage', 'Gateway');
  const result = await snapshotForGateway(deps, gatewayId);
  await recordAudit(deps.prisma, actor, {
    action: 'gateway.resync',
    entity: 'gateway',
    entityId: gatewayId,
    estateId: gw.estateId,
    after: result.sections,
  });
  return result;
}

export const resyncRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/gateways/:id/resync',
    { schema: { tags: ['access'], params: GatewayParams, response: { 200: Resynced, ...ErrorResponses } } },
    async (req) => resyncGateway(app.deps, actorOf(req), req.params.id),
  );
};
