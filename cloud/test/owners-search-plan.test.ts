// The owner search must stay an index lookup, not a walk over every person of the estate: the plan the database
// chooses for a 房号-prefix search uses the (estate, number) prefix index on units.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchSql } from '../src/modules/owners/repository.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

async function plan(f: Parameters<typeof searchSql>[0]): Promise<PlanNode[]> {
  const q = searchSql(f);
  const rows = await c.deps.driver.transaction(async (tx) => {
    // The test world is a few rows, where a sequential scan is always cheapest; at the pilot's size (8,000
    // households) it is not. Forbidding it shows which indexes the statement lets the planner use.
    await tx.exec('SET LOCAL enable_seqscan = off');
    return tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values);
  });
  const json = rows[0]?.['QUERY PLAN'];
  const doc = (typeof json === 'string' ? JSON.parse(json) : json) as { Plan: PlanNode }[];
  return nodes((doc[0] as { Plan: PlanNode }).Plan);
}

describe('owner search plan', () => {
  it('finds units by 房号 prefix through the (estate, number) index of the estate searched', async () => {
    const unit = await c.deps.prisma.unit.findFirstOrThrow({
      where: { estateId: c.world.estateA, households: { some: { status: 'active' } } },
    });
    const steps = await plan({ estateId: c.world.estateA, unit: unit.number.slice(0, 4), limit: 21 });
    const prefix = steps.find((n) => n['Index Name'] === 'units_number_prefix');
    const used = JSON.stringify(steps.map((n) => [n['Node Type'], n['Index Name'] ?? null]));
    expect(prefix?.['Index Cond'] ?? `units_number_prefix not used: ${used}`).toMatch(/\bnumber\b/);
  });
});
