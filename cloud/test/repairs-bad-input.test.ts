// Bad input to repairs (issue 8 "Bad input"): each refusal carries a clear code and changes nothing.

import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PHOTO_BYTES } from '../src/modules/repairs/photos.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { act, aRepair, aTechnician, repairsFingerprint } from './repairs-helpers.js';

let c: TestCloud;
let mine: Awaited<ReturnType<typeof aTechnician>>;
let other: Awaited<ReturnType<typeof aTechnician>>;
beforeAll(async () => {
  c = await testCloud();
  mine = await aTechnician(c, { name: 'Mine', skills: ['plumbing'] });
  other = await aTechnician(c, { name: 'Other', skills: ['electrical'] });
});
afterAll(() => c?.close());

async function refused(token: string, options: InjectOptions, status: number, code: string) {
  const before = await repairsFingerprint(c);
  const res = await c.call(token, options);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error.code).toBe(code);
  expect(await repairsFingerprint(c)).toEqual(before);
  return res.json<{ error: { message: string; field?: string } }>().error;
}

describe('refused with a clear reason, nothing changed', () => {
  it('an illegal status transition (completing an order nobody accepted)', async () => {
    const o = await aRepair(c);
    const e = await refused(
      mine.token,
      { method: 'POST', url: `/api/repairs/${o.id}/complete`, payload: {} },
      409,
      'ILLEGAL_TRANSITION',
    );
    expect(e.message).toBe('an order that is assigned cannot become completed');
  });

  it("a technician closing someone else's order", async () => {
    const o = await aRepair(c);
    expect(o.technician?.id).toBe(mine.id);
    await act(c, mine.token, o.id, 'accept');
    await act(c, mine.token, o.id, 'start');
    await refused(
      other.token,
      { method: 'POST', url: `/api/repairs/${o.id}/complete`, payload: {} },
      403,
      'NOT_ASSIGNEE',
    );
  });

  it('a resident rating twice', async () => {
    const o = await aRepair(c);
    for (const a of ['accept', 'start', 'complete']) await act(c, mine.token, o.id, a);
    expect((await act(c, c.tokens.resident, o.id, 'rating', { rating: 4 })).statusCode).toBe(200);
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/repairs/${o.id}/rating`, payload: { rating: 1 } },
      409,
      'ALREADY_RATED',
    );
  });

  it("a resident rating another household's order (it does not even exist for them)", async () => {
    const unit = await c.deps.prisma.household.findUniqueOrThrow({ where: { id: c.world.otherHousehold.householdId } });
    const o = await aRepair(c, { place: { kind: 'unit', unitId: unit.unitId } }, c.tokens.staff);
    for (const a of ['accept', 'start', 'complete']) await act(c, mine.token, o.id, a);
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/repairs/${o.id}/rating`, payload: { rating: 5 } },
      404,
      'NOT_FOUND',
    );
  });

  it('a rating out of range', async () => {
    const o = await aRepair(c);
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/repairs/${o.id}/rating`, payload: { rating: 6 } },
      400,
      'VALIDATION',
    );
  });

  it('an oversized photo', async () => {
    const big = Buffer.alloc(MAX_PHOTO_BYTES + 1, 0);
    big.set([0xff, 0xd8, 0xff], 0);
    const e = await refused(
      c.tokens.resident,
      {
        method: 'POST',
        url: '/api/repairs',
        payload: {
          category: 'plumbing',
          description: 'x',
          place: { kind: 'unit' },
          photos: [{ contentBase64: big.toString('base64') }],
        },
      },
      413,
      'FILE_TOO_LARGE',
    );
    expect(e.field).toBe('/body/photos/0');
  });

  it('a photo that is not an image, whatever it claims', async () => {
    const pdf = Buffer.from('%PDF-1.7\n...').toString('base64');
    await refused(
      c.tokens.resident,
      {
        method: 'POST',
        url: '/api/repairs',
        payload: { category: 'plumbing', description: 'x', place: { kind: 'unit' }, photos: [{ contentBase64: pdf }] },
      },
      415,
      'NOT_AN_IMAGE',
    );
    const o = await aRepair(c);
    await refused(
      c.tokens.resident,
      {
        method: 'POST',
        url: `/api/repairs/${o.id}/photos`,
        payload: { contentBase64: Buffer.from('GIF89a....').toString('base64') },
      },
      415,
      'NOT_AN_IMAGE',
    );
  });

  it('a resident cancelling once work has begun, or dispatching, or reading figures', async () => {
    const o = await aRepair(c);
    await act(c, mine.token, o.id, 'accept');
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/repairs/${o.id}/cancel`, payload: {} },
      409,
      'ILLEGAL_TRANSITION',
    );
    await refused(
      c.tokens.resident,
      { method: 'POST', url: `/api/repairs/${o.id}/assign`, payload: {} },
      403,
      'FORBIDDEN',
    );
    await refused(c.tokens.resident, { method: 'GET', url: '/api/repairs/stats' }, 403, 'FORBIDDEN');
  });

  it('staff of another estate cannot see or dispatch the order; an unknown category is refused', async () => {
    const o = await aRepair(c);
    await refused(
      c.tokens.staffB,
      { method: 'POST', url: `/api/repairs/${o.id}/assign`, payload: {} },
      404,
      'NOT_FOUND',
    );
    await refused(
      c.tokens.resident,
      {
        method: 'POST',
        url: '/api/repairs',
        payload: { category: 'magic', description: 'x', place: { kind: 'unit' } },
      },
      400,
      'VALIDATION',
    );
  });
});
