// `npm start` demo (issue 7): the seeded estate has issued bills, sandbox payments and overdue households with
// follow-ups, and the demo resident still has a bill to pay in the sandbox.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudDeps, loadConfig, openDeps } from '../src/index.js';
import { seedDemo } from '../src/seed/seed.js';
import { testEnv } from './helpers/cloud.js';
import { type TestDatabase, testDatabase } from './helpers/db.js';

let deps: CloudDeps;
let close: () => Promise<void>;
let tdb: TestDatabase;
let dir: string;
let resident: string | undefined;
beforeAll(async () => {
  tdb = await testDatabase();
  dir = mkdtempSync(join(tmpdir(), 'estate-billing-seed-'));
  const opened = await openDeps(loadConfig(testEnv(dir, tdb.url)), { inMemory: true });
  deps = opened.deps;
  close = () => opened.db.close();
  const result = await seedDemo(deps, { estates: 2, households: 120, seed: 11, billing: true });
  const login = result.logins.find((l) => l.role === 'resident');
  const account = await deps.prisma.account.findUniqueOrThrow({
    where: { login: login?.login ?? '' },
    include: { person: true },
  });
  resident = account.person?.householdId;
});
afterAll(async () => {
  await close?.();
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('demo billing seed', () => {
  it('has issued bills, sandbox payments, overdue households and follow-ups', async () => {
    const { prisma } = deps;
    expect(await prisma.bill.count({ where: { kind: 'bill' } })).toBeGreaterThanOrEqual(150);
    expect(await prisma.payment.count({ where: { channel: 'sandbox' } })).toBeGreaterThan(50);
    expect(await prisma.bill.count({ where: { kind: 'debit_note', reason: '滞纳金' } })).toBeGreaterThan(0);
    expect(await prisma.billingFollowUp.count({ where: { status: 'open' } })).toBeGreaterThan(0);
    // Every seeded payment is fully allocated: paid amounts add up.
    const [sums] = await deps.driver.query<{ paid: string; allocated: string }>(
      `SELECT (SELECT sum(amount_fen) FROM payments)::text AS paid,
              (SELECT sum(amount_fen) FROM bill_allocations WHERE source = 'payment')::text AS allocated`,
    );
    expect(sums?.paid).toBe(sums?.allocated);
    const unpaid = await prisma.bill.findFirst({ where: { householdId: resident ?? '', kind: 'bill', paidFen: 0 } });
    expect(unpaid).not.toBeNull();
  });
});
