// The hourly billing job: the overdue run for every estate as of its local date, with nobody pressing a button,
// and a second run the same day changing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBillingJobs } from '../src/modules/billing/scheduler.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
  const staffB = c.tokens.staffB;
  const post = async (url: string, payload: object, status: number) => {
    const res = await c.call(staffB, { method: 'POST', url, payload });
    expect(res.statusCode, res.body).toBe(status);
  };
  const estate = `/api/billing/estates/${c.world.estateB}`;
  await post(
    `${estate}/fee-items`,
    { code: 'PROP', name: '物业费', kind: 'property', cycle: 'monthly', rateCentiFen: 20_000 },
    201,
  );
  await post(`${estate}/runs`, { period: '2025-02' }, 200);
  await post(`${estate}/runs`, { period: '2025-03' }, 200);
});
afterAll(() => c?.close());

describe('billing scheduler', () => {
  it('runs overdue handling for every estate on its local date, once a day', async () => {
    // 2025-04-19 20:00 UTC is already the 20th in Asia/Shanghai
    const now = new Date('2025-04-19T20:00:00Z');
    const first = await runBillingJobs(c.deps, now);
    expect(first.length).toBe(await c.deps.prisma.estate.count());
    const b = first.find((r) => r.estateId === c.world.estateB);
    expect(b).toMatchObject({ asOf: '2025-04-20' });
    expect(b?.lateFees).toBeGreaterThan(0);
    expect(b?.followUps).toBeGreaterThan(0);
    const notes = await c.deps.prisma.bill.count({ where: { estateId: c.world.estateB, kind: 'debit_note' } });

    const again = await runBillingJobs(c.deps, new Date('2025-04-20T03:00:00Z'));
    expect(again.find((r) => r.estateId === c.world.estateB)).toMatchObject({ lateFees: 0, followUps: 0 });
    expect(await c.deps.prisma.bill.count({ where: { estateId: c.world.estateB, kind: 'debit_note' } })).toBe(notes);
  });
});
