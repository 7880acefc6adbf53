// A gateway provisioned after the estate's access data exists gets all of it (issues 5 and 6): the config with the
// estate's PIN key, the doors mapped to it, every group, member, PIN, key, template and pass of the estate, and the
// revocations the tables still show; staff repair drift with POST /api/gateways/:id/resync.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { photos, photosByPerson } from '@estate/models';
import { exportRawPublicKey, normalizeClaimCode, provisionProofMessage, type Section } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estatePinKey, pinHash } from '../src/modules/access/pins.js';
import { desiredState } from '../src/sync/index.js';
import { pairedGateway, phoneKey } from './access-helpers.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
const HOUR = 3_600_000;
const PIN = '583920';
const ids = { lobby: '', gate: '', group: '', pass: '', cancelled: '', key: '', revokedKey: '', template: '' };
let gw = '';

type Item = { kind: string; id: string; [k: string]: unknown };
/** The gateway's full desired copy of a section, as the sync engine would send it from version 0. */
async function itemsOf(gatewayId: string, section: Section): Promise<Item[]> {
  const docs = await desiredState(c.deps).deltaFor(gatewayId, section, 0);
  return docs.flatMap((d) => (d.doc as { upserts?: Item[] }).upserts ?? []);
}
const find = (items: Item[], kind: string, id: string) => items.find((i) => i.kind === kind && i.id === id);

async function ok<T>(token: string, method: 'POST' | 'PUT', url: string, payload?: object): Promise<T> {
  const r = await c.call(token, { method, url, ...(payload ? { payload } : {}) });
  expect(r.statusCode, r.body).toBeLessThan(300);
  return r.json<T>();
}

async function provisionNewGateway(): Promise<string> {
  const g = await ok<{ id: string; claim: { code: string } }>(
    c.tokens.installer,
    'POST',
    `/api/estates/${c.world.estateA}/gateways`,
    { name: 'Back gate house' },
  );
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const nonce = randomBytes(16).toString('base64url');
  const code = normalizeClaimCode(g.claim.code) ?? g.claim.code;
  await ok(c.tokens.staff, 'POST', '/api/gateways/provision', {
    claimCode: g.claim.code,
    publicKey: exportRawPublicKey(publicKey).toString('base64url'),
    nonce,
    proof: sign(null, provisionProofMessage(code, nonce), privateKey).toString('base64url'),
    software: 'estate-gateway/test',
  });
  return g.id;
}

beforeAll(async () => {
  c = await testCloud();
  const { ownBuilding } = await pairedGateway(c);
  const { estateA, own, otherHousehold } = c.world;
  const door = (name: string, deviceId: string, buildingId?: string) =>
    ok<{ id: string }>(c.tokens.staff, 'POST', `/api/estates/${estateA}/doors`, {
      name,
      gatewayId: 'gw-a',
      deviceId,
      ...(buildingId ? { buildingId } : {}),
    });
  ids.lobby = (await door('Lobby', 'door-ctl-1', ownBuilding)).id;
  ids.gate = (await door('Main gate', 'gate-ctl')).id;
  ids.group = (
    await ok<{ id: string }>(c.tokens.staff, 'POST', `/api/estates/${estateA}/access-groups`, {
      name: 'Cleaners',
      kind: 'staff',
      doors: [ids.gate],
    })
  ).id;
  await ok(c.tokens.staff, 'PUT', `/api/access/groups/${ids.group}/members/${otherHousehold.personId}`);
  await ok(c.tokens.resident, 'PUT', `/api/persons/${own.personId}/pin`, { pin: PIN });
  const key = (name: string) =>
    ok<{ id: string }>(c.tokens.resident, 'POST', `/api/persons/${own.personId}/ble-keys`, {
      phoneName: name,
      alg: 'Ed25519',
      publicKey: phoneKey(),
    });
  ids.key = (await key('phone')).id;
  ids.revokedKey = (await key('lost phone')).id;
  await ok(c.tokens.resident, 'POST', `/api/ble-keys/${ids.revokedKey}/revoke`);
  const visit = async () => {
    const v = await ok<{ id: string; status: string }>(
      c.tokens.resident,
      'POST',
      `/api/persons/${own.personId}/visitors`,
      {
        name: 'Zhao Visitor',
        phone: '13812345678',
        purpose: 'dinner',
        validFrom: new Date(Date.now() - HOUR).toISOString(),
        validTo: new Date(Date.now() + 4 * HOUR).toISOString(),
        doors: [ids.gate],
      },
    );
    if (v.status === 'pending') await ok(c.tokens.staff, 'POST', `/api/visitors/${v.id}/approve`, {});
    return v.id;
  };
  ids.pass = await visit();
  ids.cancelled = await visit();
  await ok(c.tokens.resident, 'POST', `/api/visitors/${ids.cancelled}/cancel`);
  await ok(c.tokens.resident, 'POST', `/api/persons/${own.personId}/consents`, { purpose: 'face_access' });
  const franck = (photosByPerson(photos()).get('franck') ?? [])
    .slice(0, 2)
    .map((p) => readFileSync(p.path).toString('base64'));
  ids.template = (
    await ok<{ templateId: string }>(c.tokens.resident, 'POST', `/api/persons/${own.personId}/face`, { photos: franck })
  ).templateId;
  // only now, with all of the above in the tables, does the second gateway come; the outbox rows are made old, so
  // what the new gateway gets is the snapshot of the tables, not the replay of recent rows (snapshot.ts)
  await c.deps.prisma.accessDesiredQueue.updateMany({ data: { createdAt: new Date(Date.now() - 10 * 60_000) } });
  gw = await provisionNewGateway();
}, 240_000);
afterAll(() => c?.close());

describe('a gateway provisioned after the access data exists', () => {
  it('gets a config carrying the estate PIN key and the trusted keys', async () => {
    const docs = await desiredState(c.deps).deltaFor(gw, 'config', 0);
    expect(docs.map((d) => d.name)).toEqual(['configSync']);
    const cfg = (docs[0]?.doc as { config?: { pinKey: string; estateId: string; trustedKeys: unknown[] } } | undefined)
      ?.config;
    expect(cfg?.pinKey).toBe(await estatePinKey(c.deps, c.world.estateA));
    expect(cfg?.estateId).toBe(c.world.estateA);
    expect(cfg?.trustedKeys).toHaveLength((await c.deps.signing.trusted()).length);
  });

  it('gets every group, member, PIN, key, template and pass of the estate, but not another gateway’s doors', async () => {
    const { own, otherHousehold, estateA } = c.world;
    const access = await itemsOf(gw, 'access');
    expect(find(access, 'group', ids.group)).toMatchObject({ doors: [ids.gate] });
    expect(find(access, 'member', otherHousehold.personId)).toMatchObject({ groups: [ids.group] });
    expect(find(access, 'member', own.personId)).toBeDefined(); // the household's default group
    expect(access.filter((i) => i.kind === 'door')).toEqual([]); // both doors run on gw-a
    const credentials = await itemsOf(gw, 'credentials');
    const hash = pinHash(await estatePinKey(c.deps, estateA), PIN);
    expect(find(credentials, 'pin', own.personId)).toEqual({ kind: 'pin', id: own.personId, hash });
    expect(find(credentials, 'ble_key', ids.key)).toMatchObject({ status: 'active', personId: own.personId });
    expect(find(credentials, 'ble_key', ids.revokedKey)).toBeUndefined();
    expect(find(await itemsOf(gw, 'gallery'), 'template', ids.template)).toMatchObject({ personId: own.personId });
    const passes = await itemsOf(gw, 'passes');
    expect(passes.map((p) => p.id)).toEqual([ids.pass]);
    expect(find(passes, 'pass', ids.pass)).toMatchObject({ doors: [ids.gate] });
    const revoked = await itemsOf(gw, 'revocations');
    expect(find(revoked, 'ble_key', ids.revokedKey)).toBeDefined();
    expect(find(revoked, 'pass', ids.cancelled)).toBeDefined();
  });

  it('holds the same shared items as the gateway that was there all along', async () => {
    for (const section of ['gallery', 'credentials', 'passes'] as const) {
      const sorted = async (g: string) => (await itemsOf(g, section)).sort((a, b) => a.id.localeCompare(b.id));
      expect(await sorted(gw), section).toEqual(await sorted('gw-a'));
    }
  });
});

describe('POST /api/gateways/:id/resync', () => {
  const resync = (token: string, id = gw) => c.call(token, { method: 'POST', url: `/api/gateways/${id}/resync` });

  it('is for staff and admins of the gateway’s estate only', async () => {
    expect((await resync(c.tokens.resident)).statusCode).toBe(403);
    expect((await resync(c.tokens.technician)).statusCode).toBe(403);
    expect((await resync(c.tokens.staffB)).statusCode).toBe(404);
    expect((await resync(c.tokens.staff, 'gw-nosuch')).statusCode).toBe(404);
    expect((await resync(c.tokens.admin)).statusCode).toBe(200);
  });

  it('repairs drift: a lost door and group come back, an item nobody has any more is deleted', async () => {
    await c.deps.prisma.gatewayDevice.create({ data: { gatewayId: gw, deviceId: 'back-ctl', kind: 'door' } });
    const back = await ok<{ id: string }>(c.tokens.staff, 'POST', `/api/estates/${c.world.estateA}/doors`, {
      name: 'Back gate',
      gatewayId: gw,
      deviceId: 'back-ctl',
    });
    const sync = desiredState(c.deps);
    const stray = {
      kind: 'group',
      id: 'grp-stray',
      doors: [],
      schedule: { windows: [], holidays: [], holidayWindows: [] },
    };
    await sync.put(gw, 'access', {
      upserts: [stray],
      deletes: [
        { kind: 'door', id: back.id },
        { kind: 'group', id: ids.group },
      ],
    });
    expect(find(await itemsOf(gw, 'access'), 'door', back.id)).toBeUndefined();
    // a stale revocation of a PIN that is set again would refuse it; one the tables cannot explain stays
    const pinRevoked = { kind: 'pin', id: c.world.own.personId, revokedAt: Date.now(), reason: 'deleted' };
    const unexplained = { kind: 'template', id: 'tpl-unexplained', revokedAt: Date.now(), reason: 'deleted' };
    await sync.put(gw, 'revocations', { upserts: [pinRevoked, unexplained] });

    const res = await resync(c.tokens.staff);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().sections.access.deletes).toBe(1);
    const access = await itemsOf(gw, 'access');
    expect(find(access, 'door', back.id)).toMatchObject({ deviceId: 'back-ctl' });
    expect(find(access, 'group', ids.group)).toBeDefined();
    expect(find(access, 'group', 'grp-stray')).toBeUndefined();
    expect(find(await itemsOf('gw-a', 'access'), 'door', back.id)).toBeUndefined();
    expect(res.json().sections.revocations.deletes).toBe(1);
    const revoked = await itemsOf(gw, 'revocations');
    expect(find(revoked, 'pin', c.world.own.personId)).toBeUndefined();
    expect(find(revoked, 'template', 'tpl-unexplained')).toBeDefined();
    const audit = await c.deps.prisma.auditEntry.findFirst({ where: { action: 'gateway.resync', entityId: gw } });
    expect(audit).not.toBeNull();
  });

  it('replays the outbox rows of the last minute for this gateway, so a change racing the snapshot is kept', async () => {
    const { prisma } = c.deps;
    const row = (id: string, createdAt: Date, gatewayId: string | null = null) => ({
      estateId: c.world.estateA,
      gatewayId,
      section: 'revocations',
      upserts: [{ kind: 'template', id, revokedAt: Date.now(), reason: 'deleted' }],
      deletes: [],
      createdAt,
      pushedAt: new Date(),
    });
    // as a change committed while the snapshot was read would have left them (already pushed to the others)
    await prisma.accessDesiredQueue.createMany({
      data: [
        row('tpl-racing', new Date()),
        row('tpl-old', new Date(Date.now() - 10 * 60_000)),
        row('tpl-other-gateway', new Date(), 'gw-a'),
      ],
    });
    const res = await resync(c.tokens.staff);
    expect(res.statusCode, res.body).toBe(200);
    const revoked = await itemsOf(gw, 'revocations');
    expect(find(revoked, 'template', 'tpl-racing')).toBeDefined();
    expect(find(revoked, 'template', 'tpl-old')).toBeUndefined();
    expect(find(revoked, 'template', 'tpl-other-gateway')).toBeUndefined();
  });
});
