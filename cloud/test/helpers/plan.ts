// The plan PostgreSQL chooses for a statement, as a flat list of its nodes, for tests that pin an index down.
import type { TestCloud } from './cloud.js';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Parent Relationship'?: string;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

export async function planOf(c: TestCloud, q: { text: string; values: unknown[] }): Promise<PlanNode[]> {
  const rows = await c.deps.driver.transaction(async (tx) => {
    // A test world is a few rows, where a sequential scan is always cheapest; at a real estate's size it is not.
    // Forbidding it shows which indexes the statement lets the planner use.
    await tx.exec('SET LOCAL enable_seqscan = off');
    return tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values);
  });
  const json = rows[0]?.['QUERY PLAN'];
  const doc = (typeof json === 'string' ? JSON.parse(json) : json) as { Plan: PlanNode }[];
  return nodes((doc[0] as { Plan: PlanNode }).Plan);
}

/** Node types and index (or table) names of a plan, for a failure message that shows what was used instead. */
export const describePlan = (steps: readonly PlanNode[]) =>
  JSON.stringify(steps.map((n) => [n['Node Type'], n['Index Name'] ?? n['Relation Name'] ?? null]));
