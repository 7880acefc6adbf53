// The owner search must stay an index lookup, not a walk over every person of the estate: the plan the database
// chooses for a 房号-prefix search uses the (estate, number) prefix index on units.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchSql } from '../src/modules/owners/repository.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { describePlan, planOf } from './helpers/plan.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

describe('owner search plan', () => {
  it('finds units by 房号 prefix through the (estate, number) index of the estate searched', async () => {
    const unit = await c.deps.prisma.unit.findFirstOrThrow({
      where: { estateId: c.world.estateA, households: { some: { status: 'active' } } },
    });
    const steps = await planOf(c, searchSql({ estateId: c.world.estateA, unit: unit.number.slice(0, 4), limit: 21 }));
    const prefix = steps.find((n) => n['Index Name'] === 'units_number_prefix');
    const used = describePlan(steps);
    expect(prefix?.['Index Cond'] ?? `units_number_prefix not used: ${used}`).toMatch(/\bnumber\b/);
  });
});
