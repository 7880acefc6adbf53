// Bad input gets a 4xx with a coded error and changes nothing (DESIGN: quality bars).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud({ ESTATE_CLOUD_BODY_LIMIT: '4096' });
});
afterAll(() => c?.close());

async function refusedUnchanged(
  token: string,
  options: Parameters<TestCloud['call']>[1],
  status: number,
  code: string | string[],
) {
  const before = await fingerprint(c.deps);
  const res = await c.call(token, options);
  expect(res.statusCode, res.body).toBe(status);
  expect([code].flat()).toContain(res.json().error.code);
  expect(await fingerprint(c.deps)).toEqual(before);
  return res.json<{ error: { field?: string } }>().error;
}

const vehicles = () => `/api/households/${c.world.own.householdId}/vehicles`;

describe('malformed bodies', () => {
  it('malformed JSON', async () => {
    await refusedUnchanged(
      c.tokens.staff,
      { method: 'POST', url: vehicles(), headers: { 'content-type': 'application/json' }, payload: '{"plate": "沪A' },
      400,
      'MALFORMED_JSON',
    );
  });

  it('wrong content type', async () => {
    await refusedUnchanged(
      c.tokens.staff,
      { method: 'POST', url: vehicles(), headers: { 'content-type': 'text/xml' }, payload: '<plate/>' },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('wrong types are not coerced', async () => {
    const err = await refusedUnchanged(
      c.tokens.staff,
      { method: 'POST', url: `/api/estates/${c.world.estateA}/buildings`, payload: { name: 'X', floors: '6' } },
      400,
      'VALIDATION',
    );
    expect(err.field).toBe('/body/floors');
  });

  it('unknown fields are refused, not silently dropped', async () => {
    const err = await refusedUnchanged(
      c.tokens.staff,
      { method: 'POST', url: vehicles(), payload: { plate: '沪A12345', ownerRole: 'admin' } },
      400,
      'VALIDATION',
    );
    expect(err.field).toBe('/body/ownerRole');
  });

  it('oversized bodies', async () => {
    await refusedUnchanged(
      c.tokens.staff,
      { method: 'POST', url: vehicles(), payload: { plate: '沪A12345', parkingSpace: 'x'.repeat(10_000) } },
      413,
      'BODY_TOO_LARGE',
    );
  });

  it('a missing required field names it', async () => {
    const err = await refusedUnchanged(
      c.tokens.staff,
      {
        method: 'POST',
        url: `/api/households/${c.world.own.householdId}/renovations`,
        payload: { description: 'x', startsOn: '2025-01-01' },
      },
      400,
      'VALIDATION',
    );
    expect(err.field).toContain('/body');
  });

  it('impossible dates and malformed ids', async () => {
    await refusedUnchanged(
      c.tokens.staff,
      {
        method: 'POST',
        url: `/api/households/${c.world.own.householdId}/renovations`,
        payload: { description: 'x', startsOn: '2025-02-30x', endsOn: '2025-03-01' },
      },
      400,
      'VALIDATION',
    );
    await refusedUnchanged(c.tokens.staff, { method: 'GET', url: '/api/households/not-a-uuid' }, 400, 'VALIDATION');
    await refusedUnchanged(
      c.tokens.staff,
      { method: 'GET', url: "/api/households/1'%20OR%20'1'='1" },
      400,
      'VALIDATION',
    );
  });
});

describe('injection strings in every search field', () => {
  const NASTY = [
    "' OR '1'='1",
    "'; DROP TABLE persons; --",
    '%',
    '_',
    '\\',
    '%%%_\\',
    '张\u0000三',
    '$1',
    '"); SELECT pg_sleep(5); --',
    '<script>alert(1)</script>',
  ];
  it.each(['name', 'phone', 'unit'])('%s', async (field) => {
    const before = await fingerprint(c.deps);
    for (const value of NASTY) {
      const res = await c.call(c.tokens.staff, {
        method: 'GET',
        url: `/api/owners/search?${field}=${encodeURIComponent(value)}`,
      });
      // Either refused by the schema or searched literally: never an error, never a match-everything.
      if (res.statusCode === 200) expect(res.json().items, `${field}=${value}`).toEqual([]);
      else {
        expect(res.statusCode, `${field}=${value} ${res.body}`).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION');
      }
    }
    expect(await fingerprint(c.deps)).toEqual(before);
  });

  it('cursor tampering', async () => {
    for (const cursor of [
      'AAAA',
      Buffer.from('["a"]').toString('base64url'),
      Buffer.from('[{"$ne":1},"x"]').toString('base64url'),
      'not base64!',
    ]) {
      const res = await c.call(c.tokens.staff, {
        method: 'GET',
        url: `/api/owners/search?cursor=${encodeURIComponent(cursor)}`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION');
    }
  });

  it('injection strings in audit filters', async () => {
    const res = await c.call(c.tokens.admin, {
      method: 'GET',
      url: `/api/audit?entity=${encodeURIComponent("x' OR 1=1 --")}`,
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('ids of another household or estate', () => {
  it('change nothing and say not found', async () => {
    const other = c.world.otherEstate;
    await refusedUnchanged(
      c.tokens.staff,
      { method: 'POST', url: `/api/households/${other.householdId}/vehicles`, payload: { plate: '沪C12345' } },
      404,
      'NOT_FOUND',
    );
    await refusedUnchanged(
      c.tokens.staff,
      { method: 'PATCH', url: `/api/persons/${other.personId}`, payload: { name: '改名' } },
      404,
      'NOT_FOUND',
    );
    await refusedUnchanged(
      c.tokens.resident,
      {
        method: 'POST',
        url: `/api/households/${c.world.otherHousehold.householdId}/renovations`,
        payload: { description: 'x', startsOn: '2025-01-01', endsOn: '2025-01-02' },
      },
      404,
      'NOT_FOUND',
    );
    const unit = await c.deps.prisma.unit.findFirstOrThrow({ where: { estateId: c.world.estateB } });
    await refusedUnchanged(
      c.tokens.staff,
      {
        method: 'POST',
        url: '/api/households',
        payload: { unitId: unit.id, members: [{ name: '张三', relation: 'owner' }] },
      },
      404,
      'NOT_FOUND',
    );
  });
});
