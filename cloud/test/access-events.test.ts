// Access events as the gateways stored them: staff search with every filter and a keyset cursor, a person's history
// (a resident sees only their own), counts per door and hour; then a move-out, which takes every way in away
// (template, PIN, phone key, visitor pass, group) and revokes the person on the gateways.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredState } from '../src/sync/index.js';
import { insertEvent, pairedGateway, phoneKey } from './access-helpers.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
let p1: string; // the resident's own person
let p2: string; // a person of another household of the estate
const T = Date.parse('2025-06-01T08:00:00.000Z');
const at = (min: number) => new Date(T + min * 60_000);
const iso = (min: number) => at(min).toISOString();

beforeAll(async () => {
  c = await testCloud();
  await pairedGateway(c);
  p1 = c.world.own.personId;
  p2 = c.world.otherHousehold.personId;
  const rows: [number, string, string | undefined, string, boolean, number][] = [
    [1, 'door-a', p1, 'face', true, 5],
    [2, 'door-a', p2, 'pin', true, 10],
    [3, 'door-b', p1, 'ble', false, 20],
    [4, 'door-a', undefined, 'qr', false, 65],
    [5, 'door-b', p2, 'face', true, 70],
    [6, 'door-a', p1, 'pin', true, 180],
  ];
  for (const [seq, doorId, personId, method, granted, min] of rows) {
    await insertEvent(c, seq, { doorId, ...(personId ? { personId } : {}), method, granted, ts: at(min) });
  }
}, 180_000);
afterAll(() => c?.close());

interface Event {
  seq: number;
  personId: string | null;
  score: number | null;
  [k: string]: unknown;
}
type Page = { items: Event[]; nextCursor: string | null };
const get = (token: string, url: string) => c.call(token, { method: 'GET', url });
const seqs = async (token: string, url: string) => {
  const res = await get(token, url);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Page>().items.map((e) => e.seq);
};

describe('search across the gateways (staff)', () => {
  const url = (q: string) => `/api/estates/${c.world.estateA}/access-events?${q}`;

  it('filters by door, person, method, result and time range, newest first', async () => {
    expect(await seqs(c.tokens.staff, url(''))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(await seqs(c.tokens.staff, url('doorId=door-a'))).toEqual([6, 4, 2, 1]);
    expect(await seqs(c.tokens.staff, url(`personId=${p1}`))).toEqual([6, 3, 1]);
    expect(await seqs(c.tokens.staff, url('method=face'))).toEqual([5, 1]);
    expect(await seqs(c.tokens.staff, url('granted=false'))).toEqual([4, 3]);
    expect(await seqs(c.tokens.staff, url(`from=${iso(0)}&to=${iso(60)}`))).toEqual([3, 2, 1]);
    expect(await seqs(c.tokens.staff, url(`doorId=door-a&granted=true&to=${iso(120)}`))).toEqual([2, 1]);
    expect((await get(c.tokens.staff, url('method=retina'))).statusCode).toBe(400);
  });

  it('pages with a cursor, every event once; a face record has its score and no image', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(c.tokens.staff, url(`limit=4${cursor ? `&cursor=${cursor}` : ''}`));
      const page = res.json<Page>();
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1]);
    const face = (await get(c.tokens.staff, url('method=face'))).json<Page>().items[0];
    expect(face?.score).toBeCloseTo(0.81);
    expect(Object.keys(face ?? {}).sort()).toEqual([
      'credentialId',
      'deviceId',
      'doorId',
      'gatewayId',
      'granted',
      'method',
      'personId',
      'reason',
      'score',
      'seq',
      'ts',
    ]);
  });

  it('residents and technicians may not search (403); staff of another estate get 404', async () => {
    expect((await get(c.tokens.resident, url(''))).statusCode).toBe(403);
    expect((await get(c.tokens.technician, url(''))).statusCode).toBe(403);
    const other = await get(c.tokens.staffB, url(''));
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain('door-a');
  });
});

describe("a person's history", () => {
  const url = (personId: string, q = '') => `/api/persons/${personId}/access-events?${q}`;

  it('a resident sees their own only; not their neighbour’s (404)', async () => {
    expect(await seqs(c.tokens.resident, url(p1))).toEqual([6, 3, 1]);
    expect(await seqs(c.tokens.resident, url(p1, 'granted=false'))).toEqual([3]);
    // a personId in the query cannot widen a history to someone else
    expect((await get(c.tokens.resident, url(p1, `personId=${p2}`))).statusCode).toBe(400);
    const other = await get(c.tokens.resident, url(p2));
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain('door-b');
  });

  it('staff see anyone of their estate; staff of another estate get 404', async () => {
    expect(await seqs(c.tokens.staff, url(p2))).toEqual([5, 2]);
    expect((await get(c.tokens.staffB, url(p1))).statusCode).toBe(404);
  });
});

describe('counts per door and hour', () => {
  const url = (q: string) => `/api/estates/${c.world.estateA}/access-events/counts?${q}`;

  it('granted and denied per door and hour inside the range', async () => {
    const res = await get(c.tokens.staff, url(`from=${iso(0)}&to=${iso(120)}`));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual([
      { doorId: 'door-a', hour: iso(0), granted: 2, denied: 0 },
      { doorId: 'door-b', hour: iso(0), granted: 0, denied: 1 },
      { doorId: 'door-a', hour: iso(60), granted: 0, denied: 1 },
      { doorId: 'door-b', hour: iso(60), granted: 1, denied: 0 },
    ]);
    const one = await get(c.tokens.staff, url(`from=${iso(0)}&to=${iso(240)}&doorId=door-a`));
    expect(one.json<{ hour: string }[]>().map((r) => r.hour)).toEqual([iso(0), iso(60), iso(180)]);
  });

  it('refuses an empty or longer than 31-day range, and other estates', async () => {
    expect((await get(c.tokens.staff, url(`from=${iso(60)}&to=${iso(0)}`))).statusCode).toBe(400);
    expect((await get(c.tokens.staff, url(`from=${iso(0)}&to=${iso(32 * 24 * 60)}`))).statusCode).toBe(400);
    expect((await get(c.tokens.staffB, url(`from=${iso(0)}&to=${iso(60)}`))).statusCode).toBe(404);
  });
});

describe('move-out', () => {
  it('deletes the template and PIN, revokes keys and passes, leaves the groups, and revokes the person', async () => {
    const { prisma } = c.deps;
    const householdId = c.world.own.householdId;
    const ok = (r: { statusCode: number; body: string }) => expect(r.statusCode, r.body).toBeLessThan(300);
    ok(await c.call(c.tokens.resident, { method: 'PUT', url: `/api/persons/${p1}/pin`, payload: { pin: '582914' } }));
    const key = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${p1}/ble-keys`,
      payload: { phoneName: 'phone', alg: 'Ed25519', publicKey: phoneKey() },
    });
    ok(key);
    const door = await c.call(c.tokens.staff, {
      method: 'POST',
      url: `/api/estates/${c.world.estateA}/doors`,
      payload: { name: 'Main gate', gatewayId: 'gw-a', deviceId: 'gate-ctl' },
    });
    ok(door);
    const visit = await c.call(c.tokens.resident, {
      method: 'POST',
      url: `/api/persons/${p1}/visitors`,
      payload: {
        name: 'Guest',
        phone: '13812345678',
        purpose: 'visit',
        validFrom: new Date().toISOString(),
        validTo: new Date(Date.now() + 3_600_000).toISOString(),
        doors: [door.json().id],
      },
    });
    ok(visit);
    ok(await c.call(c.tokens.staff, { method: 'POST', url: `/api/visitors/${visit.json().id}/approve`, payload: {} }));
    // a template as enrolment leaves it (enrolment itself is proven in access.test.ts)
    await prisma.faceTemplate.create({
      data: {
        id: 'tpl-moving',
        estateId: c.world.estateA,
        personId: p1,
        model: 'fr_feature',
        dim: 512,
        embeddingSealed: 'x',
        photosUsed: 1,
        agreementMilli: 1000,
      },
    });
    expect(await prisma.accessMember.count({ where: { personId: p1 } })).toBe(1);

    ok(await c.call(c.tokens.staff, { method: 'POST', url: `/api/households/${householdId}/move-out`, payload: {} }));

    expect(await prisma.faceTemplate.count({ where: { personId: p1 } })).toBe(0);
    expect(await prisma.accessPin.count({ where: { personId: p1 } })).toBe(0);
    expect((await prisma.bleKey.findUniqueOrThrow({ where: { id: key.json().id } })).status).toBe('revoked');
    const pass = await prisma.visitorPass.findUniqueOrThrow({ where: { id: visit.json().id } });
    expect(pass).toMatchObject({ status: 'cancelled', shareHash: null, tokenEnc: null });
    expect(await prisma.accessMember.count({ where: { personId: p1 } })).toBe(0);
    expect(await prisma.accessGroup.count({ where: { householdId } })).toBe(0);
    expect(await prisma.accessDesiredQueue.count({ where: { pushedAt: null } })).toBe(0);

    // what the gateways now hold
    const ds = desiredState(c.deps);
    const items = async (section: 'access' | 'credentials' | 'revocations' | 'passes') =>
      (await ds.deltaFor('gw-a', section, 0)).flatMap(
        (d) => (d.doc as unknown as { upserts: { kind: string; id: string; reason?: string }[] }).upserts,
      );
    expect((await items('credentials')).filter((i) => i.id === p1 || i.id === key.json().id)).toEqual([]);
    expect((await items('access')).some((i) => i.kind === 'member' && i.id === p1)).toBe(false);
    expect((await items('passes')).some((i) => i.id === visit.json().id)).toBe(false);
    const revoked = (await items('revocations')).map((i) => `${i.kind}:${i.id}:${i.reason}`);
    for (const r of [
      `person:${p1}:moved_out`,
      `ble_key:${key.json().id}:moved_out`,
      `pass:${visit.json().id}:host_moved_out`,
      'template:tpl-moving:moved_out',
    ]) {
      expect(revoked).toContain(r);
    }
    // and nothing new can be given to the household
    const again = await c.call(c.tokens.staff, {
      method: 'PUT',
      url: `/api/persons/${p1}/pin`,
      payload: { pin: '582914' },
    });
    expect(again.statusCode).toBe(409);
  });
});
