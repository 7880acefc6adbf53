// Access management through the API on a real database: doors and groups, face enrolment under consent, BLE keys,
// PINs, visitors with approval and the share page, access-event search, and what consent withdrawal and move-out
// take away — each change checked in the desired-state queue against the protocols schemas.
import { readFileSync } from 'node:fs';
import { photos, photosByPerson } from '@estate/models';
import { verifyBleKey } from '@estate/protocols';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estatePinKey, pinHash } from '../src/modules/access/pins.js';
import { desiredState } from '../src/sync/index.js';
import { lastQueued, pairedGateway, phoneKey, queuedSince, trustedRing } from './access-helpers.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
let doorId: string;
let gateId: string;
let _farDoorId: string;
const b64 = (path: string) => readFileSync(path).toString('base64');

beforeAll(async () => {
  c = await testCloud();
  const { ownBuilding, otherBuilding } = await pairedGateway(c);
  const door = (name: string, deviceId: string, buildingId?: string) =>
    c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/estates/${c.world.estateA}/doors`,
      payload: { name, gatewayId: 'gw-a', deviceId, ...(buildingId ? { buildingId } : {}), readers: ['cam-1'] },
    });
  const made = [
    await door('Lobby', 'door-ctl-1', ownBuilding),
    await door('Main gate', 'gate-ctl'),
    await door('Far lobby', 'door-ctl-2', otherBuilding),
  ];
  for (const r of made) expect(r.statusCode, r.body).toBe(201);
  [doorId, gateId, _farDoorId] = made.map((r) => r.json<{ id: string }>().id) as [string, string, string];
}, 120_000);
afterAll(() => c?.close());

const keyRing = () => trustedRing(c);

describe('doors and groups', () => {
  it('only staff of the estate manage doors; a device must be a paired door controller', async () => {
    const payload = { name: 'X', gatewayId: 'gw-a', deviceId: 'cam-1' };
    const url = `/api/estates/${c.world.estateA}/doors`;
    expect((await c.call(c.tokens.resident, { method: 'POST', url, payload })).statusCode).toBe(403);
    expect((await c.call(c.tokens.staffB, { method: 'POST', url, payload })).statusCode).toBe(404);
    const wrong = await c.call(c.tokens.staff, { method: 'POST', url, payload });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.field).toBe('/body/deviceId');
  });

  it('a staff group with a protocols schedule is queued as an access item; a bad schedule is refused', async () => {
    const since = await lastQueued(c);
    const schedule = {
      windows: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00' }],
      holidays: ['2025-10-01'],
      holidayWindows: [],
    };
    const res = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/estates/${c.world.estateA}/access-groups`,
      payload: { name: 'Cleaners', kind: 'staff', schedule, doors: [doorId, gateId] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const q = await queuedSince(c, since);
    expect(q[0]?.upserts[0]).toMatchObject({ kind: 'group', schedule, doors: [doorId, gateId].sort() });
    const bad = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/estates/${c.world.estateA}/access-groups`,
      payload: {
        name: 'Bad',
        kind: 'staff',
        schedule: { ...schedule, windows: [{ days: [8], from: '25:00', to: '19:00' }] },
        doors: [],
      },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('face enrolment', () => {
  const url = () => `/api/persons/${c.world.own.personId}/face`;
  const franck = () => (photosByPerson(photos()).get('franck') ?? []).slice(0, 2).map((p) => b64(p.path));

  it('is refused without a face_access consent', async () => {
    const res = await c.call(c.tokens.resident, { method: 'POST', url: url(), payload: { photos: franck() } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('CONSENT_REQUIRED');
  });

  it('refuses a photo with no face or several faces, saying which and why', async () => {
    const grant = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${c.world.own.personId}/consents`,
      payload: { purpose: 'face_access' },
    });
    expect(grant.statusCode).toBe(201);
    const blank = (
      await sharp({ create: { width: 320, height: 240, channels: 3, background: '#888' } })
        .jpeg()
        .toBuffer()
    ).toString('base64');
    const none = await c.call(c.tokens.resident, { method: 'POST', url: url(), payload: { photos: [blank] } });
    expect(none.statusCode).toBe(422);
    expect(none.json().error.message).toMatch(/^no_face/);
    const group = photos().find((p) => p.faces > 1);
    const many = await c.call(c.tokens.resident, {
      method: 'POST',
      url: url(),
      payload: { photos: [franck()[0], b64(group?.path ?? '')] },
    });
    expect(many.statusCode).toBe(422);
    expect(many.json().error).toMatchObject({ field: '/body/photos/1' });
    expect(many.json().error.message).toMatch(/^several_faces/);
    expect(await c.deps.prisma.faceTemplate.count()).toBe(0);
  }, 60_000);

  it('keeps only a sealed template and queues it for the gallery with the household group', async () => {
    const since = await lastQueued(c);
    const res = await c.call(c.tokens.resident, { method: 'POST', url: url(), payload: { photos: franck() } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ enrolled: true, dim: 512, photosUsed: 2 });
    const row = await c.deps.prisma.faceTemplate.findUniqueOrThrow({ where: { personId: c.world.own.personId } });
    expect(row.embeddingSealed).not.toMatch(/^[A-Za-z0-9_-]{2000,}$/); // sealed, not the wire base64
    const q = await queuedSince(c, since);
    const item = q.find((d) => d.section === 'gallery')?.upserts[0];
    expect(item).toMatchObject({ kind: 'template', personId: c.world.own.personId, dim: 512 });
    const member = q.flatMap((d) => d.upserts).find((u) => u.kind === 'member');
    expect(member).toMatchObject({ id: c.world.own.personId });
    const group = q.flatMap((d) => d.upserts).find((u) => u.kind === 'group');
    expect(group?.doors).toEqual([doorId, gateId].sort()); // own building + common gate, not the far lobby
  }, 60_000);

  it('a resident cannot enrol another person of their household; withdrawal deletes the template everywhere', async () => {
    const other = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${c.world.otherHousehold.personId}/face`,
      payload: { photos: franck() },
    });
    expect(other.statusCode).toBe(404);
    const since = await lastQueued(c);
    const consent = await c.deps.prisma.consent.findFirstOrThrow({
      where: { personId: c.world.own.personId, withdrawnAt: null },
    });
    const w = await c.call(c.tokens.resident, { method: 'POST', url: `/api/consents/${consent.id}/withdraw` });
    expect(w.statusCode).toBe(200);
    expect(await c.deps.prisma.faceTemplate.count({ where: { personId: c.world.own.personId } })).toBe(0);
    const q = await queuedSince(c, since);
    expect(q.find((d) => d.section === 'gallery')?.deletes[0]?.kind).toBe('template');
    expect(q.find((d) => d.section === 'revocations')?.upserts[0]).toMatchObject({
      kind: 'template',
      reason: 'consent_withdrawn',
    });
  });
});

describe('BLE keys', () => {
  let keyId: string;
  it('issues a credential the gateway verifies offline', async () => {
    const res = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${c.world.own.personId}/ble-keys`,
      payload: { phoneName: 'my phone', alg: 'Ed25519', publicKey: phoneKey() },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { id, credential } = res.json<{ id: string; credential: string }>();
    keyId = id;
    const v = verifyBleKey(credential, { ring: await keyRing(), now: Date.now() });
    expect(v.ok && v.claims).toMatchObject({ id, sub: c.world.own.personId, estate: c.world.estateA });
  });

  it('suspend, then revoke; a revoked key cannot be suspended or fetched again', async () => {
    const post = (action: string) =>
      c.call(c.tokens.resident, { method: 'POST', url: `/api/ble-keys/${keyId}/${action}` });
    expect((await post('suspend')).json().status).toBe('suspended');
    expect((await post('revoke')).json().status).toBe('revoked');
    const again = await post('suspend');
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CREDENTIAL_REVOKED');
    expect(
      (await c.call(c.tokens.resident, { method: 'GET', url: `/api/ble-keys/${keyId}/credential` })).statusCode,
    ).toBe(409);
  });

  it('rotation: old credentials stay trusted during the overlap, re-fetched ones use the new key', async () => {
    const issued = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/persons/${c.world.otherHousehold.personId}/ble-keys`,
      payload: { phoneName: 'p', alg: 'Ed25519', publicKey: phoneKey() },
    });
    const old = issued.json<{ id: string; credential: string }>();
    expect(
      (
        await c.call(c.tokens.staff, {
          method: 'POST',
          url: '/api/access/signing/ble-key/rotate',
          payload: { overlapHours: 24 },
        })
      ).statusCode,
    ).toBe(403);
    const rot = await c.call(c.tokens.admin, {
      method: 'POST',
      url: '/api/access/signing/ble-key/rotate',
      payload: { overlapHours: 24 },
    });
    expect(rot.json().keysToReissue).toBeGreaterThanOrEqual(1);
    // the gateways' config now trusts the new key, and still the old one during the overlap
    const [config] = await desiredState(c.deps).deltaFor('gw-a', 'config', 0);
    if (!config) throw new Error('no config pushed to gw-a');
    const trusted = (config.doc as unknown as { config: { trustedKeys: { keyId: string }[] } }).config.trustedKeys;
    const oldKid = (
      verifyBleKey(old.credential, { ring: await keyRing(), now: Date.now() }) as { claims: { kid: string } }
    ).claims.kid;
    expect(trusted.map((k) => k.keyId)).toEqual(expect.arrayContaining([rot.json().keyId, oldKid]));
    expect(verifyBleKey(old.credential, { ring: await keyRing(), now: Date.now() }).ok).toBe(true);
    const fresh = await c.call(c.tokens.staff, { method: 'GET', url: `/api/ble-keys/${old.id}/credential` });
    const v = verifyBleKey(fresh.json().credential, { ring: await keyRing(), now: Date.now() });
    expect(v.ok && v.claims.kid).toBe(rot.json().keyId);
    expect(verifyBleKey(old.credential, { ring: await keyRing(), now: Date.now() + 25 * 3_600_000 }).ok).toBe(false);
  });
});

describe('PINs', () => {
  it('refuses trivial PINs and PINs in use; stores the keyed hash the gateway computes', async () => {
    const put = (token: string, personId: string, pin: string) =>
      c.call(token, { method: 'PUT', url: `/api/persons/${personId}/pin`, payload: { pin } });
    for (const pin of ['111111', '123456', '121212', '123123']) {
      expect((await put(c.tokens.resident, c.world.own.personId, pin)).statusCode).toBe(422);
    }
    expect((await put(c.tokens.resident, c.world.own.personId, '582914')).statusCode).toBe(200);
    const taken = await put(c.tokens.staff, c.world.otherHousehold.personId, '582914');
    expect(taken.statusCode).toBe(422);
    expect((await put(c.tokens.resident, c.world.otherHousehold.personId, '582915')).statusCode).toBe(404);
    const row = await c.deps.prisma.accessPin.findUniqueOrThrow({ where: { personId: c.world.own.personId } });
    expect(row.hash).toBe(pinHash(await estatePinKey(c.deps, c.world.estateA), '582914'));
  });
});
