// The bill run: e-bills for one estate and period. Idempotent by construction — households that already have a
// bill for the period are not even read, and bills_once (household, period) refuses a second bill should two runs
// race past the advisory lock. Rows are written in bulk (jsonb_to_recordset) so 100,000 households take seconds.
import { randomUUID } from 'node:crypto';
import { appendAudit, recordAudit } from '../../core/audit.js';
import type { Actor } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import type { Tx } from '../../core/tx.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { type DiscountRow, type FeeItemRow, type HouseholdRow, type Line, linesFor, type Meter } from './calc.js';
import { lockAccount, settle } from './ledger.js';
import { addMonths, dateOfDay, dayNumber, n, parsePeriod, periodStart } from './money.js';
import { BILLING_TOPICS } from './topics.js';

const CHUNK = 2_000;

export interface RunResult {
  runId: string;
  period: string;
  billsCreated: number;
  totalFen: number;
  householdsConsidered: number;
}

export async function assertPeriodOpen(tx: Tx, estateId: string, period: string): Promise<void> {
  const [p] = await tx.$queryRawUnsafe<{ status: string }[]>(
    'SELECT status FROM billing_periods WHERE estate_id = $1::uuid AND period = $2 FOR UPDATE',
    estateId,
    period,
  );
  if (p?.status === 'closed') throw new AppError('CONFLICT', `period ${period} is closed`, '/body/period');
}

export async function runBills(
  prisma: PrismaClient,
  actor: Actor,
  estate: { id: string; timezone: string },
  period: string,
): Promise<RunResult> {
  parsePeriod(period);
  try {
    return await prisma.$transaction((tx) => runInTx(tx, actor, estate, period), { timeout: 600_000, maxWait: 30_000 });
  } catch (err) {
    if (err instanceof AppError) {
      await recordAudit(prisma, actor, {
        action: 'billing.run',
        entity: 'estate',
        entityId: estate.id,
        estateId: estate.id,
        outcome: 'denied',
        after: { period, reason: err.message },
      });
    }
    throw err;
  }
}

async function runInTx(tx: Tx, actor: Actor, estate: { id: string; timezone: string }, period: string) {
  await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtext($1))', `bill_run:${estate.id}:${period}`);
  await assertPeriodOpen(tx, estate.id, period);
  await tx.$executeRawUnsafe(
    'INSERT INTO billing_periods (estate_id, period) VALUES ($1::uuid, $2) ON CONFLICT DO NOTHING',
    estate.id,
    period,
  );
  const settings = await tx.billingSettings.findUnique({ where: { estateId: estate.id } });
  const dueOn = dateOfDay(dayNumber(periodStart(period)) + (settings?.dueDays ?? 15));
  const items: FeeItemRow[] = (
    await tx.feeItem.findMany({ where: { estateId: estate.id, active: true }, orderBy: { code: 'asc' } })
  ).map((f) => ({
    id: f.id,
    code: f.code,
    name: f.name,
    kind: f.kind as FeeItemRow['kind'],
    cycle: f.cycle as FeeItemRow['cycle'],
    unitType: f.unitType,
    rateCentiFen: n(f.rateCentiFen),
  }));
  const discounts: DiscountRow[] = await tx.billingDiscount.findMany({
    where: { estateId: estate.id, active: true },
    select: { id: true, name: true, feeItemId: true, minMonths: true, percentBps: true },
  });
  const start = periodStart(period);
  const horizon = periodStart(addMonths(period, 12));
  const households = await tx.$queryRawUnsafe<
    {
      household_id: string;
      building_id: string;
      area: number;
      unit_type: string;
      spaces: number;
      moved_in: string;
      moved_out: string | null;
    }[]
  >(
    `SELECT h.id::text AS household_id, u.building_id::text AS building_id, u.area_centi_sqm AS area,
            coalesce(t.unit_type, 'residential') AS unit_type,
            (SELECT count(*) FROM vehicles v WHERE v.household_id = h.id AND v.parking_space IS NOT NULL)::int AS spaces,
            to_char(h.moved_in_at AT TIME ZONE $3, 'YYYY-MM-DD') AS moved_in,
            to_char(h.moved_out_at AT TIME ZONE $3, 'YYYY-MM-DD') AS moved_out
     FROM households h
     JOIN units u ON u.id = h.unit_id
     LEFT JOIN billing_unit_types t ON t.unit_id = u.id
     WHERE h.estate_id = $1::uuid
       AND h.moved_in_at < ($5::date::timestamp AT TIME ZONE $3)
       AND (h.moved_out_at IS NULL OR h.moved_out_at > ($4::date::timestamp AT TIME ZONE $3))
       AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.household_id = h.id AND b.period = $2 AND b.kind = 'bill')
     ORDER BY h.id`,
    estate.id,
    period,
    estate.timezone,
    start,
    horizon,
  );
  const readings = new Map<string, HouseholdRow['readings']>();
  for (const r of await tx.$queryRawUnsafe<
    { household_id: string; meter: Meter; current: bigint; previous: bigint | null }[]
  >(
    `SELECT r.household_id::text AS household_id, r.meter, r.reading_milli AS current,
            (SELECT p.reading_milli FROM meter_readings p WHERE p.household_id = r.household_id AND p.meter = r.meter
               AND p.period < r.period ORDER BY p.period DESC LIMIT 1) AS previous
     FROM meter_readings r WHERE r.estate_id = $1::uuid AND r.period = $2`,
    estate.id,
    period,
  )) {
    if (r.previous === null) continue; // a first reading is the baseline
    const m = readings.get(r.household_id) ?? {};
    m[r.meter] = { previous: n(r.previous), current: n(r.current) };
    readings.set(r.household_id, m);
  }
  const charges = new Map<string, HouseholdRow['charges']>();
  for (const c of await tx.$queryRawUnsafe<
    { id: string; household_id: string; fee_item_id: string; description: string; amount_fen: bigint; kind: string }[]
  >(
    `SELECT c.id::text, c.household_id::text AS household_id, c.fee_item_id::text AS fee_item_id, c.description,
            c.amount_fen, f.kind
     FROM billing_charges c JOIN fee_items f ON f.id = c.fee_item_id
     WHERE c.estate_id = $1::uuid AND c.bill_id IS NULL ORDER BY c.created_at, c.id`,
    estate.id,
  )) {
    const list = charges.get(c.household_id) ?? [];
    list.push({
      id: c.id,
      feeItemId: c.fee_item_id,
      description: c.description,
      amountFen: n(c.amount_fen),
      kind: c.kind as FeeItemRow['kind'],
    });
    charges.set(c.household_id, list);
  }

  const runId = randomUUID();
  await tx.$executeRawUnsafe(
    'INSERT INTO bill_runs (id, estate_id, period, actor_id) VALUES ($1::uuid, $2::uuid, $3, $4)',
    runId,
    estate.id,
    period,
    actor.principal?.accountId ?? (actor.system ? `system:${actor.system}` : null),
  );
  type NewBill = { id: string; household_id: string; building_id: string; total_fen: number; lines: Line[] };
  const bills: NewBill[] = [];
  const billedCharges: { id: string; bill_id: string }[] = [];
  for (const h of households) {
    const row: HouseholdRow = {
      householdId: h.household_id,
      areaCentiSqm: h.area,
      unitType: h.unit_type,
      parkingSpaces: h.spaces,
      movedIn: h.moved_in,
      movedOut: h.moved_out,
      readings: readings.get(h.household_id) ?? {},
      charges: charges.get(h.household_id) ?? [],
    };
    const lines = linesFor(row, items, discounts, period);
    const total = lines.reduce((s, l) => s + l.amountFen, 0);
    if (total <= 0) continue;
    const id = randomUUID();
    bills.push({ id, household_id: h.household_id, building_id: h.building_id, total_fen: total, lines });
    for (const c of row.charges) billedCharges.push({ id: c.id, bill_id: id });
  }

  let created = 0;
  let totalFen = 0;
  const createdIds = new Set<string>();
  for (let i = 0; i < bills.length; i += CHUNK) {
    const chunk = bills.slice(i, i + CHUNK);
    const inserted = await tx.$queryRawUnsafe<{ id: string; household_id: string; total_fen: bigint }[]>(
      `INSERT INTO bills (id, estate_id, building_id, household_id, period, kind, total_fen, due_on, run_id)
       SELECT x.id, $2::uuid, x.building_id, x.household_id, $3, 'bill', x.total_fen, $4::date, $5::uuid
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, building_id uuid, household_id uuid, total_fen bigint)
       ON CONFLICT DO NOTHING
       RETURNING id::text, household_id::text, total_fen`,
      JSON.stringify(chunk.map(({ lines: _l, ...b }) => b)),
      estate.id,
      period,
      dueOn,
      runId,
    );
    for (const b of inserted) createdIds.add(b.id);
    created += inserted.length;
    totalFen += inserted.reduce((s, b) => s + n(b.total_fen), 0);
    const rows = chunk
      .filter((b) => createdIds.has(b.id))
      .flatMap((b) =>
        b.lines.map((l, position) => ({
          bill_id: b.id,
          position,
          fee_item_id: l.feeItemId,
          kind: l.kind,
          description: l.description,
          basis: l.basis,
          basis_text: l.basisText,
          amount_fen: l.amountFen,
        })),
      );
    await tx.$executeRawUnsafe(
      `INSERT INTO bill_items (bill_id, position, fee_item_id, kind, description, basis, basis_text, amount_fen)
       SELECT x.bill_id, x.position, x.fee_item_id, x.kind, x.description, x.basis, x.basis_text, x.amount_fen
       FROM jsonb_to_recordset($1::jsonb)
         AS x(bill_id uuid, position int, fee_item_id uuid, kind text, description text, basis jsonb, basis_text text, amount_fen bigint)`,
      JSON.stringify(rows),
    );
    // The resident hears of the bill through the outbox, in the same transaction that issues it.
    await tx.$executeRawUnsafe(
      `INSERT INTO outbox_events (topic, aggregate_id, payload)
       SELECT $2, x.household_id::text,
              jsonb_build_object('billId', x.id, 'householdId', x.household_id, 'period', $3::text,
                                 'totalFen', x.total_fen, 'dueOn', $4::text)
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, household_id uuid, total_fen bigint)`,
      JSON.stringify(inserted.map((b) => ({ id: b.id, household_id: b.household_id, total_fen: n(b.total_fen) }))),
      BILLING_TOPICS.billIssued,
      period,
      dueOn,
    );
  }
  const charged = billedCharges.filter((c) => createdIds.has(c.bill_id));
  if (charged.length) {
    await tx.$executeRawUnsafe(
      `UPDATE billing_charges c SET bill_id = x.bill_id
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, bill_id uuid) WHERE c.id = x.id`,
      JSON.stringify(charged),
    );
  }
  // Credit a household already holds (an overpayment) pays its new bill at once.
  const withCredit = await tx.$queryRawUnsafe<{ household_id: string }[]>(
    `SELECT a.household_id::text AS household_id FROM billing_accounts a
     JOIN bills b ON b.household_id = a.household_id AND b.run_id = $2::uuid
     WHERE a.estate_id = $1::uuid AND a.credit_fen > 0`,
    estate.id,
    runId,
  );
  for (const { household_id } of withCredit) {
    const credit = await lockAccount(tx, household_id, estate.id);
    await settle(tx, household_id, credit, 'credit', `run:${runId}`);
  }
  await tx.$executeRawUnsafe(
    'UPDATE bill_runs SET finished_at = now(), bills_created = $2, total_fen = $3 WHERE id = $1::uuid',
    runId,
    created,
    BigInt(totalFen),
  );
  await appendAudit(tx, actor, {
    action: 'billing.run',
    entity: 'bill_run',
    entityId: runId,
    estateId: estate.id,
    after: { period, billsCreated: created, totalFen, dueOn, householdsConsidered: households.length },
  });
  return { runId, period, billsCreated: created, totalFen, householdsConsidered: households.length };
}
