// OWASP API1 (object level) and API3/API5 (property and function level): every role against every route that
// takes an id, on its own record, on another household of its estate, and on another estate. A refused call
// answers 403 (role may never) or 404 (object outside its scope), and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authzFixture, authzIds } from './access-helpers.js';
import { ACCESS_CASES } from './authz-access-cases.js';
import { fingerprint, type TestCloud, testCloud, type World } from './helpers/cloud.js';

export type Who = keyof World['logins'];
export type Target = 'own' | 'otherHousehold' | 'otherEstate';
export interface Case {
  name: string;
  /** Roles that may call the route at all, independently written down (not read from POLICY). */
  roles: Who[];
  /** Residents reach only their own household. Estate-wide routes (estate, units) have no household. */
  scope: 'household' | 'estate';
  request(w: World, t: Target, i: number): { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: object };
  /** Runs before each call, with the call's number `i` (the one request gets). */
  before?(c: TestCloud, i: number): Promise<unknown>;
}

const estateOf = (w: World, t: Target) => (t === 'otherEstate' ? w.estateB : w.estateA);
const plate = (i: number) => `沪A${String(10_000 + i)}`;

const CASES: Case[] = [
  {
    name: 'GET estate',
    roles: ['admin', 'staff', 'technician', 'installer', 'resident'],
    scope: 'estate',
    request: (w, t) => ({ method: 'GET', url: `/api/estates/${estateOf(w, t)}` }),
  },
  {
    name: 'GET units',
    roles: ['admin', 'staff', 'technician', 'installer', 'resident'],
    scope: 'estate',
    request: (w, t) => ({ method: 'GET', url: `/api/estates/${estateOf(w, t)}/units` }),
  },
  {
    name: 'POST building',
    roles: ['admin', 'staff'],
    scope: 'estate',
    request: (w, t, i) => ({
      method: 'POST',
      url: `/api/estates/${estateOf(w, t)}/buildings`,
      payload: { name: `T${i}`, floors: 6 },
    }),
  },
  {
    name: 'GET household',
    roles: ['admin', 'staff', 'technician', 'resident'],
    scope: 'household',
    request: (w, t) => ({ method: 'GET', url: `/api/households/${w[t].householdId}` }),
  },
  {
    name: 'POST member',
    roles: ['admin', 'staff'],
    scope: 'household',
    request: (w, t) => ({
      method: 'POST',
      url: `/api/households/${w[t].householdId}/members`,
      payload: { name: '王小明', relation: 'child' },
    }),
  },
  {
    name: 'PATCH person phone',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t, i) => ({
      method: 'PATCH',
      url: `/api/persons/${w[t].personId}`,
      payload: { phone: `1390000${String(1000 + i)}` },
    }),
  },
  {
    name: 'GET person sensitive',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t) => ({ method: 'GET', url: `/api/persons/${w[t].personId}/sensitive` }),
  },
  {
    name: 'GET person export',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t) => ({ method: 'GET', url: `/api/persons/${w[t].personId}/export` }),
  },
  {
    name: 'GET attachments',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t) => ({ method: 'GET', url: `/api/persons/${w[t].personId}/attachments` }),
  },
  {
    name: 'GET consents',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t) => ({ method: 'GET', url: `/api/persons/${w[t].personId}/consents` }),
  },
  {
    name: 'POST consent',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    // Each allowed grant is fresh: withdraw live ones first so a 409 never hides the authorisation result.
    before: (c) =>
      c.deps.prisma.consent.updateMany({ where: { withdrawnAt: null }, data: { withdrawnAt: new Date() } }),
    request: (w, t) => ({
      method: 'POST',
      url: `/api/persons/${w[t].personId}/consents`,
      payload: { purpose: 'analytics' },
    }),
  },
  {
    name: 'POST vehicle',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t, i) => ({
      method: 'POST',
      url: `/api/households/${w[t].householdId}/vehicles`,
      payload: { plate: plate(i) },
    }),
  },
  {
    name: 'POST renovation',
    roles: ['admin', 'staff', 'resident'],
    scope: 'household',
    request: (w, t) => ({
      method: 'POST',
      url: `/api/households/${w[t].householdId}/renovations`,
      payload: { description: '厨房改造', startsOn: '2025-03-01', endsOn: '2025-04-01' },
    }),
  },
  ...ACCESS_CASES,
];

function expected(c: Case, who: Who, target: Target): 'ok' | 403 | 404 {
  const role: Who = who === 'staffB' ? 'staff' : who;
  if (!c.roles.includes(role)) return 403;
  if (role === 'admin') return 'ok';
  if (target === 'otherEstate') return 404;
  if (role === 'resident' && c.scope === 'household' && target !== 'own') return 404;
  return 'ok';
}

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

const WHO: Who[] = ['admin', 'staff', 'technician', 'installer', 'resident'];
const TARGETS: Target[] = ['own', 'otherHousehold', 'otherEstate'];
let n = 0;

describe.each(CASES)('$name', (route) => {
  it.each(WHO.flatMap((who) => TARGETS.map((target) => ({ who, target }))))(
    '$who on $target',
    async ({ who, target }) => {
      const i = n++;
      await route.before?.(c, i);
      const want = expected(route, who, target);
      const before = want === 'ok' ? undefined : await fingerprint(c.deps);
      const res = await c.call(c.tokens[who], route.request(c.world, target, i));
      if (want === 'ok') {
        expect(res.statusCode, res.body).toBeLessThan(300);
      } else {
        expect(res.statusCode, res.body).toBe(want);
        expect(res.json().error.code).toBe(want === 403 ? 'FORBIDDEN' : 'NOT_FOUND');
        expect(await fingerprint(c.deps)).toEqual(before);
      }
    },
  );
});

describe('list routes stay inside the estate', () => {
  it('staff of estate B find no one of estate A, by any filter', async () => {
    const mine = await c.call(c.tokens.staffB, { method: 'GET', url: '/api/owners/search?limit=100' });
    expect(mine.statusCode).toBe(200);
    const items = mine.json<{ items: { estateId: string }[] }>().items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.estateId === c.world.estateB)).toBe(true);
    const asked = await c.call(c.tokens.staffB, {
      method: 'GET',
      url: `/api/owners/search?estateId=${c.world.estateA}`,
    });
    expect(asked.statusCode).toBe(404);
  });

  it('residents, technicians and installers: only what their role may list', async () => {
    expect((await c.call(c.tokens.resident, { method: 'GET', url: '/api/owners/search' })).statusCode).toBe(403);
    expect((await c.call(c.tokens.installer, { method: 'GET', url: '/api/owners/search' })).statusCode).toBe(403);
    expect((await c.call(c.tokens.technician, { method: 'GET', url: '/api/owners/search' })).statusCode).toBe(200);
    const estates = await c.call(c.tokens.staff, { method: 'GET', url: '/api/estates' });
    expect(estates.json<{ id: string }[]>().map((e) => e.id)).toEqual([c.world.estateA]);
    expect((await c.call(c.tokens.staff, { method: 'GET', url: '/api/audit' })).statusCode).toBe(403);
    expect((await c.call(c.tokens.staff, { method: 'GET', url: '/api/accounts' })).statusCode).toBe(200);
    expect((await c.call(c.tokens.resident, { method: 'GET', url: '/api/accounts' })).statusCode).toBe(403);
  });
});

describe('property level (OWASP API3)', () => {
  it('a resident cannot set their own role, nor anyone else’s', async () => {
    const me = (await c.call(c.tokens.resident, { method: 'GET', url: '/api/auth/me' })).json<{ accountId: string }>();
    const res = await c.call(c.tokens.resident, {
      method: 'PATCH',
      url: `/api/accounts/${me.accountId}`,
      payload: { role: 'admin' },
    });
    expect(res.statusCode).toBe(403);
    const after = await c.deps.prisma.account.findUniqueOrThrow({ where: { id: me.accountId } });
    expect(after.role).toBe('resident');
  });

  it('a resident may change their phone but not their name, relation or ID number', async () => {
    for (const payload of [{ name: '李四' }, { relation: 'owner' }, { idNumber: '11010519491231002X' }]) {
      const res = await c.call(c.tokens.resident, {
        method: 'PATCH',
        url: `/api/persons/${c.world.own.personId}`,
        payload,
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.field).toBe(`/body/${Object.keys(payload)[0]}`);
    }
  });

  it('staff cannot create an admin or another staff account', async () => {
    for (const role of ['admin', 'staff']) {
      const res = await c.call(c.tokens.staff, {
        method: 'POST',
        url: '/api/accounts',
        payload: { login: `x.${role}`, password: 'long enough password', role },
      });
      expect(res.statusCode).toBe(403);
    }
  });

  it('household details never carry an ID number or a full phone', async () => {
    const res = await c.call(c.tokens.technician, {
      method: 'GET',
      url: `/api/households/${c.world.otherHousehold.householdId}`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(/\d{17}[\dX]/);
    expect(res.body).not.toMatch(/"1[3-9]\d{9}"/);
    expect(res.json().members[0]).not.toHaveProperty('idNumber');
  });

  it('access: a visit cannot be registered approved, for another estate or household; nothing is stored', async () => {
    await authzFixture(c);
    const base = {
      name: 'Guest',
      phone: '13812345678',
      purpose: 'visit',
      validFrom: new Date().toISOString(),
      validTo: new Date(Date.now() + 3_600_000).toISOString(),
      doors: [authzIds('own').door],
    };
    for (const extra of [
      { status: 'approved' },
      { estateId: c.world.estateB },
      { householdId: c.world.otherHousehold.householdId },
    ]) {
      const before = await fingerprint(c.deps);
      const res = await c.call(c.tokens.resident, {
        method: 'POST',
        url: `/api/persons/${c.world.own.personId}/visitors`,
        payload: { ...base, ...extra },
      });
      expect(res.statusCode).toBe(400);
      expect(await fingerprint(c.deps)).toEqual(before);
    }
  });

  it('access: no PIN hash, pass token, share link, full visitor phone or face embedding in any read', async () => {
    await authzFixture(c);
    const own = c.world.own.personId;
    for (const url of [
      `/api/persons/${own}/pin`,
      `/api/persons/${own}/visitors`,
      `/api/persons/${own}/face`,
      `/api/persons/${own}/ble-keys`,
      `/api/estates/${c.world.estateA}/visitors`,
    ]) {
      const res = await c.call(c.tokens.staff, { method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).not.toMatch(/"(hash|tokenEnc|token|shareHash|phoneEnc|embedding\w*|phoneKey)"/);
      expect(res.body, url).not.toContain('13812345678');
    }
  });
});
