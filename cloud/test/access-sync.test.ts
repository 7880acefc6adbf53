// Access management → the sync engine's desired state: the queued deltas (a transactional outbox) drain into the
// versioned desired state of the right gateways, as signed documents a gateway accepts; a failed push keeps the
// delta queued until the next flush, one refused for good is set aside so it blocks nothing; and every gateway of an
// estate carries the estate's one PIN key.
import { decodeAs, encode, type MessageName, type SECTIONS, verifyDocument } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DesiredSink, flushDesired, queueDesired } from '../src/modules/access/desired.js';
import { estatePinKey, pinHash } from '../src/modules/access/pins.js';
import { desiredState } from '../src/sync/index.js';
import { pairedGateway, trustedRing } from './access-helpers.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
let ds: ReturnType<typeof desiredState>;
let doorId: string;

beforeAll(async () => {
  c = await testCloud();
  await pairedGateway(c);
  const { prisma } = c.deps;
  await prisma.gateway.createMany({
    data: [
      { id: 'gw-a2', estateId: c.world.estateA, name: 'A back gate', status: 'active' },
      { id: 'gw-b', estateId: c.world.estateB, name: 'B gate house', status: 'active' },
    ],
  });
  ds = desiredState(c.deps);
  const res = await c.call(c.tokens.staff, {
    method: 'POST',
    url: `/api/estates/${c.world.estateA}/doors`,
    payload: { name: 'Lobby', gatewayId: 'gw-a', deviceId: 'door-ctl-1', readers: ['cam-1'] },
  });
  expect(res.statusCode, res.body).toBe(201);
  doorId = res.json<{ id: string }>().id;
}, 180_000);
afterAll(() => c?.close());

const ring = () => trustedRing(c);

type Doc = { toVersion: number; upserts: { kind: string; id: string; [k: string]: unknown }[] };

/** The whole section as the gateway would receive it from version 0: each document encoded, decoded, verified. */
async function itemsOf(gatewayId: string, section: Exclude<(typeof SECTIONS)[number], 'config'>) {
  const docs = await ds.deltaFor(gatewayId, section, 0);
  const keys = await ring(); // after deltaFor, which makes the desired-state key on first use
  for (const d of docs) {
    const back = decodeAs(d.name as MessageName, encode(d.name as 'accessSync', d.doc as never));
    expect(back.ok, JSON.stringify(back)).toBe(true);
    expect(verifyDocument(d.doc as never, keys, 'desired', Date.now())).toEqual({ ok: true });
  }
  return docs.flatMap((d) => (d.doc as unknown as Doc).upserts);
}

const version = async (gatewayId: string, section: (typeof SECTIONS)[number]) =>
  (await ds.manifest(gatewayId)).sections[section].version;

describe('the queue drains into the desired state', () => {
  it('a door goes to its own gateway only; nothing stays queued', async () => {
    expect(await c.deps.prisma.accessDesiredQueue.count({ where: { pushedAt: null } })).toBe(0);
    expect((await itemsOf('gw-a', 'access')).find((i) => i.kind === 'door')).toMatchObject({
      id: doorId,
      deviceId: 'door-ctl-1',
      readers: ['cam-1'],
    });
    expect((await itemsOf('gw-a2', 'access')).some((i) => i.kind === 'door')).toBe(false);
  });

  it('a PIN set through the API reaches every gateway of the estate (versions bump), none of another', async () => {
    const before = { a: await version('gw-a', 'credentials'), a2: await version('gw-a2', 'credentials') };
    const res = await c.call(c.tokens.resident, {
      method: 'PUT',
      url: `/api/persons/${c.world.own.personId}/pin`,
      payload: { pin: '582914' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await version('gw-a', 'credentials')).toBeGreaterThan(before.a);
    expect(await version('gw-a2', 'credentials')).toBeGreaterThan(before.a2);
    const hash = pinHash(await estatePinKey(c.deps, c.world.estateA), '582914');
    for (const gw of ['gw-a', 'gw-a2']) {
      expect(await itemsOf(gw, 'credentials')).toContainEqual({ kind: 'pin', id: c.world.own.personId, hash });
      // the person is in their household's group on every gateway, so the PIN opens something
      expect((await itemsOf(gw, 'access')).find((i) => i.kind === 'member')).toMatchObject({
        id: c.world.own.personId,
      });
    }
    expect(await version('gw-b', 'credentials')).toBe(0);
  });

  it('removing the PIN deletes it and adds a revocation on the gateways', async () => {
    const res = await c.call(c.tokens.staff, { method: 'DELETE', url: `/api/persons/${c.world.own.personId}/pin` });
    expect(res.statusCode, res.body).toBe(204);
    expect((await itemsOf('gw-a', 'credentials')).some((i) => i.kind === 'pin')).toBe(false);
    expect(await itemsOf('gw-a2', 'revocations')).toContainEqual(
      expect.objectContaining({ kind: 'pin', id: c.world.own.personId, reason: 'deleted' }),
    );
  });

  it('outbox: a rolled-back change queues nothing; a failed push stays queued and the next flush delivers it', async () => {
    const { prisma } = c.deps;
    const queued = await prisma.accessDesiredQueue.count();
    await expect(
      prisma.$transaction(async (tx) => {
        await queueDesired(tx, c.world.estateA, 'revocations', {
          upserts: [{ kind: 'ble_key', id: 'k-rolled-back', revokedAt: Date.now(), reason: 'x' }],
        });
        throw new Error('the business change failed');
      }),
    ).rejects.toThrow('the business change failed');
    expect(await prisma.accessDesiredQueue.count()).toBe(queued);

    await prisma.$transaction((tx) =>
      queueDesired(tx, c.world.estateA, 'revocations', {
        upserts: [{ kind: 'ble_key', id: 'k-late', revokedAt: Date.now(), reason: 'lost' }],
      }),
    );
    const down: DesiredSink = {
      put: () => Promise.reject(new Error('sync engine down')),
      putForEstate: () => Promise.reject(new Error('sync engine down')),
    };
    expect(await flushDesired(c.deps, down)).toEqual({ pushed: 0, pending: 1, error: 'sync engine down' });
    expect((await itemsOf('gw-a', 'revocations')).some((i) => i.id === 'k-late')).toBe(false);
    expect(await flushDesired(c.deps)).toEqual({ pushed: 1, pending: 0 });
    for (const gw of ['gw-a', 'gw-a2']) {
      expect((await itemsOf(gw, 'revocations')).some((i) => i.id === 'k-late')).toBe(true);
    }
    expect(await flushDesired(c.deps)).toEqual({ pushed: 0, pending: 0 });
  });

  it('outbox: a delta refused for good is set aside with its reason; the revocation queued after it still goes out', async () => {
    const { prisma } = c.deps;
    await prisma.$transaction(async (tx) => {
      // not a template the gallery section accepts: the sync engine will refuse it however often it is tried
      await queueDesired(tx, c.world.estateA, 'gallery', { upserts: [{ kind: 'template', id: 't-bad' } as never] });
      await queueDesired(tx, c.world.estateA, 'revocations', {
        upserts: [{ kind: 'ble_key', id: 'k-after-bad', revokedAt: Date.now(), reason: 'lost' }],
      });
    });
    expect(await flushDesired(c.deps)).toEqual({ pushed: 1, pending: 0, failed: 1 });
    const bad = await prisma.accessDesiredQueue.findFirstOrThrow({ where: { failedReason: { not: null } } });
    expect(bad.section).toBe('gallery');
    expect(bad.failedReason).toMatch(/^VALIDATION: gallery /);
    expect(bad.pushedAt).not.toBeNull();
    for (const gw of ['gw-a', 'gw-a2']) {
      expect((await itemsOf(gw, 'revocations')).some((i) => i.id === 'k-after-bad')).toBe(true);
      expect((await itemsOf(gw, 'gallery')).some((i) => i.id === 't-bad')).toBe(false);
    }
    expect(await flushDesired(c.deps)).toEqual({ pushed: 0, pending: 0 });
  });
});

describe('the PIN key in the gateway config', () => {
  const pinKeyOf = async (gatewayId: string) => {
    await ds.setConfig(gatewayId);
    const [doc] = await ds.deltaFor(gatewayId, 'config', 0);
    if (!doc) throw new Error(`no config for ${gatewayId}`);
    expect(verifyDocument(doc.doc as never, await ring(), 'desired', Date.now())).toEqual({ ok: true });
    return (doc.doc as unknown as { config: { pinKey: string } }).config.pinKey;
  };

  it('is the estate key: equal on two gateways of one estate, different in another estate', async () => {
    const [a, a2, b] = [await pinKeyOf('gw-a'), await pinKeyOf('gw-a2'), await pinKeyOf('gw-b')];
    expect(a).toBe(await estatePinKey(c.deps, c.world.estateA));
    expect(a2).toBe(a);
    expect(b).not.toBe(a);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    // kept sealed: neither the estate's settings nor the stored config item holds it in the clear
    const settings = await c.deps.prisma.accessSettings.findUniqueOrThrow({ where: { estateId: c.world.estateA } });
    expect(settings.pinKeySealed).not.toContain(a);
    const stored = await c.deps.prisma.desiredItem.findFirstOrThrow({
      where: { gatewayId: 'gw-a', section: 'config' },
    });
    expect(JSON.stringify(stored.body)).not.toContain(a);
  });
});
