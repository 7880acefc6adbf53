// Dashboard figures: collection rate (收缴率) = money collected on a period's bills ÷ their net amount (credit
// notes deducted, credit-note allocations not counted as collected); overdue rate (滞纳率) = households with a past-due
// balance ÷ households billed; aging of past-due balances (all periods) in 1–30, 31–60, 61–90, 90+ days as of a date.
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { n } from './money.js';

export interface FigureRow {
  estateId: string;
  buildingId: string | null;
  buildingName: string | null;
  period: string;
  billedFen: number;
  collectedFen: number;
  collectionRate: number | null;
  billedHouseholds: number;
  overdueHouseholds: number;
  overdueRate: number | null;
  overdueFen: number;
  aging: { d1_30: number; d31_60: number; d61_90: number; d90_plus: number };
}

const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

export async function figures(
  prisma: PrismaClient,
  q: { estateId?: string | undefined; period: string; asOf: string; by: 'estate' | 'building' },
): Promise<FigureRow[]> {
  const byBuilding = q.by === 'building';
  const key = byBuilding ? Prisma.sql`b.estate_id, b.building_id` : Prisma.sql`b.estate_id`;
  const estate = q.estateId ? Prisma.sql`AND b.estate_id = ${q.estateId}::uuid` : Prisma.empty;
  const rows = await prisma.$queryRaw<
    {
      estate_id: string;
      building_id: string | null;
      billed: bigint;
      collected: bigint;
      households: bigint;
      overdue_households: bigint;
      overdue: bigint;
      a30: bigint;
      a60: bigint;
      a90: bigint;
      a90p: bigint;
    }[]
  >`
    WITH period_bills AS (
      SELECT b.* FROM bills b WHERE b.period = ${q.period} ${estate}
    ), per AS (
      SELECT ${key},
             sum(b.total_fen) AS billed,
             sum(CASE WHEN b.kind <> 'credit_note' THEN b.paid_fen ELSE 0 END)
               - coalesce(sum((SELECT sum(a.amount_fen) FROM bill_allocations a
                               WHERE a.bill_id = b.id AND a.source = 'credit_note')), 0) AS collected,
             count(DISTINCT b.household_id) FILTER (WHERE b.kind = 'bill') AS households
      FROM period_bills b GROUP BY ${key}
    ), late AS (
      SELECT ${key}, b.household_id, b.total_fen - b.paid_fen AS owed, ${q.asOf}::date - b.due_on AS days, b.period
      FROM bills b
      WHERE b.kind <> 'credit_note' AND b.paid_fen < b.total_fen AND b.due_on < ${q.asOf}::date ${estate}
    ), aging AS (
      SELECT ${key},
             count(DISTINCT b.household_id) FILTER (WHERE b.period = ${q.period}) AS overdue_households,
             sum(b.owed) FILTER (WHERE b.period = ${q.period}) AS overdue,
             sum(b.owed) FILTER (WHERE b.days BETWEEN 1 AND 30) AS a30,
             sum(b.owed) FILTER (WHERE b.days BETWEEN 31 AND 60) AS a60,
             sum(b.owed) FILTER (WHERE b.days BETWEEN 61 AND 90) AS a90,
             sum(b.owed) FILTER (WHERE b.days > 90) AS a90p
      FROM late b GROUP BY ${key}
    )
    SELECT per.estate_id::text AS estate_id, ${byBuilding ? Prisma.sql`per.building_id::text` : Prisma.sql`NULL::text`} AS building_id,
           per.billed, per.collected, per.households,
           coalesce(aging.overdue_households, 0) AS overdue_households, coalesce(aging.overdue, 0) AS overdue,
           coalesce(aging.a30, 0) AS a30, coalesce(aging.a60, 0) AS a60, coalesce(aging.a90, 0) AS a90, coalesce(aging.a90p, 0) AS a90p
    FROM per LEFT JOIN aging ON aging.estate_id = per.estate_id
      ${byBuilding ? Prisma.sql`AND aging.building_id = per.building_id` : Prisma.empty}
    ORDER BY 1, 2`;
  const buildings = byBuilding
    ? new Map(
        (
          await prisma.building.findMany({
            where: { id: { in: rows.map((r) => r.building_id).filter((x): x is string => !!x) } },
          })
        ).map((b) => [b.id, b.name]),
      )
    : new Map<string, string>();
  return rows.map((r) => ({
    estateId: r.estate_id,
    buildingId: r.building_id,
    buildingName: r.building_id ? (buildings.get(r.building_id) ?? null) : null,
    period: q.period,
    billedFen: n(r.billed),
    collectedFen: n(r.collected),
    collectionRate: rate(n(r.collected), n(r.billed)),
    billedHouseholds: n(r.households),
    overdueHouseholds: n(r.overdue_households),
    overdueRate: rate(n(r.overdue_households), n(r.households)),
    overdueFen: n(r.overdue),
    aging: { d1_30: n(r.a30), d31_60: n(r.a60), d61_90: n(r.a90), d90_plus: n(r.a90p) },
  }));
}
