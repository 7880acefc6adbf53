// Desired-state sync end to end: the cloud's desired state → signed deltas over a real broker → the gateway
// verifies and applies → its ack is recorded in the cloud. Bad input (a bad signature, an older version, a gap)
// changes nothing on the gateway and is answered; a revocation reaches the gateway within 5 s and is enforced.
import { generateKeyPairSync } from 'node:crypto';
import { pinHash } from '@estate/edge';
import { encode, signDocument, topicFor } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anEstateFromTheCloud, aSyncWorld, GW, type SyncWorld, until } from './helpers/sync-world.js';

let w: SyncWorld;
beforeAll(async () => {
  w = await aSyncWorld();
  await anEstateFromTheCloud(w, pinHash);
}, 180_000);
afterAll(async () => {
  await w?.close();
});

const desiredRow = () => w.deps.prisma.gatewayDesired.findUniqueOrThrow({ where: { gatewayId: GW } });
const caughtUp = async () => {
  const row = await desiredRow();
  return row.appliedVersion === row.version;
};

describe('desired-state sync, cloud → broker → gateway', () => {
  it('applies what the cloud put and the cloud records the ack: versions, no drift, gateway row', async () => {
    await until(caughtUp);
    const row = await desiredRow();
    expect(row.version).toBe(3);
    expect(row.ackStatus).toBe('applied');
    expect(row.drift).toEqual([]); // the gateway's section hashes equal the cloud's
    expect((await w.deps.prisma.gateway.findUniqueOrThrow({ where: { id: GW } })).appliedVersion).toBe(3);
    const sections = await w.deps.prisma.desiredSection.findMany({ where: { gatewayId: GW } });
    for (const s of sections) expect(s.appliedVersion).toBe(s.version);
    expect(w.gw.parts.model.doors.get('b1-main')?.deviceId).toBe('door-b1');
    expect(w.gw.parts.model.config?.estateId).toBe(w.estateId);
    // the PIN hashed with the cloud's per-gateway PIN key opens the door
    expect(await w.reader.enterPin('482916')).toMatchObject({ granted: true });
  });

  it('hashes a section from the digests stored with its items, as the cloud does, and rows without one alike', async () => {
    await until(caughtUp);
    const { db, store } = w.gw.parts;
    const cloud = await w.deps.prisma.desiredSection.findUniqueOrThrow({
      where: { gatewayId_section: { gatewayId: GW, section: 'access' } },
    });
    const count = "SELECT COUNT(*) AS n FROM section_items WHERE section = 'access' AND digest IS NOT NULL";
    expect((db.prepare(count).get() as { n: number }).n).toBe(store.count('access'));
    expect(store.hash('access')).toBe(cloud.sha256);
    // as an older gateway's rows: no digest, hashed from the item itself
    db.prepare("UPDATE section_items SET digest = NULL WHERE section = 'access'").run();
    expect((db.prepare(count).get() as { n: number }).n).toBe(0);
    expect(store.hash('access')).toBe(cloud.sha256);
  });

  it('refuses a delta with a bad signature: nothing applied, the cloud hears why', async () => {
    const stranger = generateKeyPairSync('ed25519');
    const before = w.gw.parts.store.version('access');
    const forged = signDocument(
      {
        gatewayId: GW,
        section: 'access' as const,
        fromVersion: before,
        toVersion: before + 100,
        chunk: { index: 0, count: 1 },
        upserts: [{ kind: 'member' as const, id: 'p-mallory', groups: ['g-b1'] }],
        deletes: [],
      },
      { keyId: (await w.deps.signing.signer('desired')).keyId, alg: 'Ed25519', privateKey: stranger.privateKey },
    );
    await w.publisher.publish(topicFor('accessSync', { gatewayId: GW }), encode('accessSync', forged as never));
    await until(async () => (await desiredRow()).ackStatus === 'rejected');
    expect((await desiredRow()).ackReason).toBe('bad_signature');
    expect(w.gw.parts.store.version('access')).toBe(before);
    expect(w.gw.parts.model.memberGroups.has('p-mallory')).toBe(false);
  });

  it('refuses an older version of a section it already runs', async () => {
    const [old] = await w.desired.deltaFor(GW, 'access', 0); // the full copy at the current version
    await w.desired.put(GW, 'access', { upserts: [{ kind: 'member', id: 'p-bob', groups: ['g-b1'] }] });
    await until(caughtUp);
    const stale = w.refusals.filter((r) => r === 'stale_version').length;
    await w.publisher.publish(topicFor('accessSync', { gatewayId: GW }), encode('accessSync', old?.doc as never));
    await until(() => w.refusals.filter((r) => r === 'stale_version').length > stale);
    expect(w.gw.parts.model.memberGroups.has('p-bob')).toBe(true); // the newer state stays
  });

  it('a delta with a gap makes the gateway ask, and the cloud resends from the version it runs', async () => {
    const pass = (id: string) => ({ kind: 'pass', id, doors: ['b1-main'], validFrom: 0, validTo: 9e12, maxUses: 1 });
    const at = w.gw.parts.store.version('passes');
    await w.sync.stop(); // the gateway misses the next delta
    await w.desired.put(GW, 'passes', { upserts: [pass('v-1')] });
    await w.sync.start();
    const gaps = w.refusals.filter((r) => r === 'version_gap').length;
    await w.desired.put(GW, 'passes', { upserts: [pass('v-2')] }); // a delta from a version it never ran
    await until(() => w.refusals.filter((r) => r === 'version_gap').length > gaps);
    await until(caughtUp);
    expect(at).toBe(0);
    expect(w.gw.parts.store.items('passes').map((p) => p.id)).toEqual(['v-1', 'v-2']);
    expect(w.gw.parts.store.version('passes')).toBe((await desiredRow()).version);
  });

  it('a revocation reaches the gateway within 5 s and the revoked person is refused at the door', async () => {
    const t0 = Date.now();
    await w.desired.put(GW, 'revocations', {
      upserts: [{ kind: 'person', id: 'p-alice', revokedAt: t0, reason: 'consent_withdrawn' }],
    });
    await until(() => w.gw.parts.model.isRevoked('person', 'p-alice'), 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const before = w.doorCommands.length;
    expect(await w.reader.enterPin('482916')).toMatchObject({ granted: false, reason: 'person_revoked' });
    await new Promise((r) => setTimeout(r, 100));
    expect(w.doorCommands.length).toBe(before);
  });

  it('a section that drifted on the gateway is reported and repaired by the cloud with a full copy', async () => {
    await until(caughtUp);
    const { db, store } = w.gw.parts;
    const cloudAccess = () =>
      w.deps.prisma.desiredSection.findUniqueOrThrow({
        where: { gatewayId_section: { gatewayId: GW, section: 'access' } },
      });
    const before = await cloudAccess();
    const items = store.items('access').map((i) => i.id);
    // the gateway's copy loses an item behind the sync's back (a restored backup, a bad disk): same version
    await w.sync.stop();
    db.prepare("DELETE FROM section_items WHERE section = 'access' AND id = ?").run(items[0]);
    expect(store.version('access')).toBe(before.version);
    expect(store.hash('access')).not.toBe(before.sha256);
    await w.sync.start(); // it hashes what it runs afresh, asks, and reports the drift
    await until(async () => (await cloudAccess()).version > before.version);
    await until(caughtUp);
    const after = await cloudAccess();
    expect(after.version).toBeGreaterThan(before.version); // the gateway's next manifest version
    expect(after.sha256).toBe(before.sha256); // the same content, reissued
    expect(store.version('access')).toBe(after.version);
    expect(store.hash('access')).toBe(after.sha256);
    expect(store.items('access').map((i) => i.id)).toEqual(items);
    await until(async () => ((await desiredRow()).drift as unknown[]).length === 0);
  });
});
