// Dispatch loads the candidates of an estate with their open workload in one statement; that statement must read
// the estate's open orders through the partial index, not count each technician's whole history per decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidatesOf, candidatesSql } from '../src/modules/repairs/repository.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { describePlan, planOf } from './helpers/plan.js';
import { aRepair, aTechnician } from './repairs-helpers.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

describe('dispatch candidates', () => {
  it('count the open orders once through repair_orders_open_technician, with no per-technician subplan', async () => {
    const steps = await planOf(c, candidatesSql(c.world.estateA));
    const used = describePlan(steps);
    expect(steps.some((n) => n['Index Name'] === 'repair_orders_open_technician') ? 'used' : used).toBe('used');
    expect(steps.filter((n) => n['Parent Relationship'] === 'SubPlan')).toEqual([]);
  });

  it('count only open orders: a completed one no longer weighs on its technician', async () => {
    const t = await aTechnician(c, { name: 'Workload', skills: ['plumbing'] });
    const first = await aRepair(c);
    const second = await aRepair(c);
    expect([first.technician?.id, second.technician?.id]).toEqual([t.id, t.id]);
    const before = await candidatesOf(c.deps.prisma, c.world.estateA, new Date());
    expect(before.find((x) => x.id === t.id)?.openOrders).toBe(2);
    await c.deps.prisma.repairOrder.update({ where: { id: first.id }, data: { status: 'completed' } });
    const after = await candidatesOf(c.deps.prisma, c.world.estateA, new Date());
    expect(after.find((x) => x.id === t.id)?.openOrders).toBe(1);
    // The other estate's technicians are not candidates here.
    expect(after.every((x) => x.id === t.id)).toBe(true);
  });
});
