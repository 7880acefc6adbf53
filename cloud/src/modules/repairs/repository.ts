// Queries of the repairs domain that need more than Prisma's builder: the dispatch candidates of an estate with
// their open workload and best-known position, and the per-estate / per-technician figures.

import type { Tx } from '../../core/tx.js';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { OPEN } from './categories.js';
import type { Candidate, Point } from './dispatch.js';

/** A reported location older than this says nothing about where the technician is now. */
export const LOCATION_FRESH_MS = 2 * 3600_000;

type Db = PrismaClient | Tx;

interface CandidateRow {
  id: string;
  account_id: string;
  name: string;
  skills: unknown;
  on_duty: boolean;
  shift_start_min: number;
  shift_end_min: number;
  lat_e6: number | null;
  lng_e6: number | null;
  located_at: Date | null;
  base_lat: number | null;
  base_lng: number | null;
  open_orders: number;
}

/**
 * The technicians of an estate with their base building's position and their open workload, in one statement.
 * The workload is counted once over the estate's open orders (a technician only ever holds orders of their own
 * estate: auto-dispatch picks among the estate's technicians, an override checks it), which the partial index
 * repair_orders_open_technician holds and nothing else; a count per technician would instead walk each one's
 * whole history of closed orders for every decision (migrations/0031_repairs_dispatch_index.sql).
 */
export function candidatesSql(estateId: string): Prisma.Sql {
  return Prisma.sql`
    SELECT t.id::text, t.account_id::text, t.name, t.skills, t.on_duty, t.shift_start_min, t.shift_end_min, t.lat_e6, t.lng_e6,
           t.located_at, bp.lat_e6 AS base_lat, bp.lng_e6 AS base_lng, coalesce(w.open_orders, 0) AS open_orders
    FROM technicians t
    LEFT JOIN building_positions bp ON bp.building_id = t.base_building_id
    LEFT JOIN (SELECT o.technician_id, count(*)::int AS open_orders
               FROM repair_orders o
               WHERE o.estate_id = ${estateId}::uuid AND o.status IN (${Prisma.join([...OPEN])})
               GROUP BY o.technician_id) w ON w.technician_id = t.id
    WHERE t.estate_id = ${estateId}::uuid`;
}

function candidateOf(r: CandidateRow, now: Date): Candidate {
  const fresh = r.located_at && now.getTime() - r.located_at.getTime() <= LOCATION_FRESH_MS;
  let position: Point | null = null;
  if (fresh && r.lat_e6 !== null && r.lng_e6 !== null) position = { latE6: r.lat_e6, lngE6: r.lng_e6 };
  else if (r.base_lat !== null && r.base_lng !== null) position = { latE6: r.base_lat, lngE6: r.base_lng };
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    skills: Array.isArray(r.skills) ? r.skills.filter((s): s is string => typeof s === 'string') : [],
    onDuty: r.on_duty,
    shiftStartMin: r.shift_start_min,
    shiftEndMin: r.shift_end_min,
    position,
    openOrders: r.open_orders,
  };
}

export async function candidatesOf(db: Db, estateId: string, now: Date): Promise<Candidate[]> {
  const rows = await db.$queryRaw<CandidateRow[]>(candidatesSql(estateId));
  return rows.map((r) => candidateOf(r, now));
}

/**
 * All a dispatch decision reads, in one statement: the estate's time zone, the position of the order's building
 * and the candidates (none: one row with the candidate columns null).
 */
export async function dispatchContextOf(db: Db, estateId: string, buildingId: string | null, now: Date) {
  const rows = await db.$queryRaw<
    (Omit<CandidateRow, 'id'> & { id: string | null; timezone: string; at_lat: number | null; at_lng: number | null })[]
  >`
    SELECT e.timezone, op.lat_e6 AS at_lat, op.lng_e6 AS at_lng, c.*
    FROM estates e
    LEFT JOIN building_positions op ON op.building_id = ${buildingId}::uuid
    LEFT JOIN (${candidatesSql(estateId)}) c ON true
    WHERE e.id = ${estateId}::uuid`;
  const first = rows[0];
  if (!first) throw new Error(`estate ${estateId} not found`);
  const at: Point | null =
    first.at_lat !== null && first.at_lng !== null ? { latE6: first.at_lat, lngE6: first.at_lng } : null;
  const candidates = rows.flatMap((r) => (r.id === null ? [] : [candidateOf({ ...r, id: r.id }, now)]));
  return { timezone: first.timezone, at, candidates };
}

export async function positionOf(db: Db, buildingId: string | null): Promise<Point | null> {
  if (!buildingId) return null;
  const p = await db.buildingPosition.findUnique({ where: { buildingId } });
  return p ? { latE6: p.latE6, lngE6: p.lngE6 } : null;
}

export interface FigureRow {
  estate_id: string;
  technician_id: string | null;
  per_technician: boolean;
  orders: number;
  completed: number;
  accept_min: number | null;
  complete_min: number | null;
  avg_rating: number | null;
  ratings: number;
  complained: number;
}

export function figures(prisma: PrismaClient, estateId: string | undefined, from: Date, to: Date) {
  const where = [Prisma.sql`o.created_at >= ${from}`, Prisma.sql`o.created_at < ${to}`];
  if (estateId) where.push(Prisma.sql`o.estate_id = ${estateId}::uuid`);
  return prisma.$queryRaw<FigureRow[]>`
    SELECT o.estate_id::text AS estate_id, o.technician_id::text AS technician_id,
           GROUPING(o.technician_id) = 0 AS per_technician,
           count(*)::int AS orders,
           count(o.completed_at)::int AS completed,
           (avg(extract(epoch FROM o.accepted_at - o.created_at)) / 60)::float8 AS accept_min,
           (avg(extract(epoch FROM o.completed_at - o.created_at)) / 60)::float8 AS complete_min,
           avg(o.rating)::float8 AS avg_rating,
           count(o.rating)::int AS ratings,
           count(c.order_id)::int AS complained
    FROM repair_orders o
    LEFT JOIN (SELECT DISTINCT order_id FROM repair_complaints) c ON c.order_id = o.id
    WHERE ${Prisma.join(where, ' AND ')} AND o.status <> 'cancelled'
    GROUP BY GROUPING SETS ((o.estate_id), (o.estate_id, o.technician_id))
    ORDER BY 1, 3, 2`;
}
