/**
 * Seeds a billing estate in bulk: a few set-based INSERT … SELECT statements over generate_series instead of one
 * API call per household, so 100,000 households take seconds and the bench times only the bill run. Every
 * "random" figure is a hash of the row's number or id, so each run bills the same amounts.
 */
import type { RunningCloud } from '@estate/cloud';

export interface SeededEstate {
  estateId: string;
  households: number;
  /** Households the run must bill: all but those who left before the period began (none here). */
  billable: number;
}

/** The period the benches bill; readings exist for it and the month before, so water is billed by usage. */
export const PERIOD = '2025-03';
const PREVIOUS = '2025-02';
const UNITS_PER_BUILDING = 400;

/**
 * An estate of `households` households, each in its own unit (60–200 m², 2.5 % of them shops on the ground
 * floor), 30 % with a parking space, all with water readings for PERIOD and the month before, 1 % moving in
 * during PERIOD (prorated), 1 % with a pending one-off charge; fee items for residential and commercial property
 * fees, parking and water.
 */
export async function seedEstate(cloud: RunningCloud, code: string, households: number): Promise<SeededEstate> {
  const db = cloud.deps.prisma;
  const [estate] = await db.$queryRawUnsafe<{ id: string }[]>(
    `INSERT INTO estates (code, name, city) VALUES ($1, $2, '上海') RETURNING id::text`,
    code,
    `基准小区 ${code}`,
  );
  if (!estate) throw new Error('no estate inserted');
  const e = estate.id;
  const buildings = Math.ceil(households / UNITS_PER_BUILDING);
  const run = (sql: string, ...params: unknown[]) => db.$executeRawUnsafe(sql, e, ...params);
  await run(
    `INSERT INTO buildings (estate_id, name, floors)
     SELECT $1::uuid, 'B' || lpad(b::text, 4, '0'), 40 FROM generate_series(1, $2::int) b`,
    buildings,
  );
  await run(
    `INSERT INTO units (estate_id, building_id, number, floor, area_centi_sqm)
     SELECT $1::uuid, bl.id, bl.name || '-' || lpad(i::text, 6, '0'), 1 + (i / $3::int) % 40,
            6000 + (i * 7919) % 14000
     FROM generate_series(0, $2::int - 1) i
     JOIN buildings bl ON bl.estate_id = $1::uuid AND bl.name = 'B' || lpad((i % $3::int + 1)::text, 4, '0')`,
    households,
    buildings,
  );
  await run(
    `INSERT INTO households (estate_id, unit_id, moved_in_at)
     SELECT $1::uuid, u.id,
            CASE WHEN abs(hashtext(u.number)) % 100 = 0 THEN timestamptz '2025-03-10 00:00+08'
                 ELSE timestamptz '2020-01-01 00:00+08' + (abs(hashtext(u.number)) % 1500) * interval '1 day' END
     FROM units u WHERE u.estate_id = $1::uuid`,
  );
  await run(
    `INSERT INTO billing_unit_types (unit_id, estate_id, unit_type)
     SELECT id, $1::uuid, 'commercial' FROM units WHERE estate_id = $1::uuid AND floor = 1`,
  );
  await run(
    `INSERT INTO vehicles (estate_id, household_id, plate, parking_space)
     SELECT $1::uuid, h.id, '沪B' || lpad(row_number() OVER ()::text, 6, '0'), 'P-' || row_number() OVER ()
     FROM households h WHERE h.estate_id = $1::uuid AND abs(hashtext(h.id::text)) % 10 < 3`,
  );
  await run(
    `INSERT INTO meter_readings (estate_id, household_id, meter, period, reading_milli, source)
     SELECT $1::uuid, h.id, 'water', p.period, 100000 + p.k * (2000 + abs(hashtext(h.id::text)) % 20000), 'import'
     FROM households h, (VALUES ($2, 0), ($3, 1)) AS p(period, k) WHERE h.estate_id = $1::uuid`,
    PREVIOUS,
    PERIOD,
  );
  await run(
    `INSERT INTO fee_items (estate_id, code, name, kind, cycle, unit_type, rate_centi_fen) VALUES
       ($1::uuid, 'PROP', '住宅物业费', 'property', 'monthly', 'residential', 23500),
       ($1::uuid, 'PROP-SHOP', '商铺物业费', 'property', 'monthly', 'commercial', 58000),
       ($1::uuid, 'PARK', '车位管理费', 'parking', 'monthly', NULL, 3000000),
       ($1::uuid, 'WATER', '水费', 'water', 'monthly', NULL, 42000),
       ($1::uuid, 'ONCE', '装修垃圾清运费', 'one_off', 'once', NULL, 0)`,
  );
  await run(
    `INSERT INTO billing_charges (estate_id, household_id, fee_item_id, description, amount_fen)
     SELECT $1::uuid, h.id, f.id, '装修垃圾清运', 20000
     FROM households h JOIN fee_items f ON f.estate_id = $1::uuid AND f.code = 'ONCE'
     WHERE h.estate_id = $1::uuid AND abs(hashtext(h.id::text)) % 100 = 7`,
  );
  // Fresh statistics, as autovacuum would have gathered them on a table that grew over months.
  await db.$executeRawUnsafe('ANALYZE');
  return { estateId: e, households, billable: households };
}

/**
 * One pending WeChat Pay order per bill of the estate's PERIOD run, for the whole amount of the bill (as the
 * resident's "pay this bill" would create), numbered `${prefix}000001` … in household order.
 */
export async function seedOrders(
  cloud: RunningCloud,
  estateId: string,
  prefix: string,
): Promise<{ outTradeNo: string; amountFen: number }[]> {
  return (
    await cloud.deps.prisma.$queryRawUnsafe<{ out_trade_no: string; amount_fen: bigint }[]>(
      `INSERT INTO payment_orders (estate_id, household_id, channel, out_trade_no, amount_fen, bill_ids, created_by, expires_at)
       SELECT b.estate_id, b.household_id, 'wechat', $3 || lpad((row_number() OVER (ORDER BY b.household_id))::text, 6, '0'),
              b.total_fen, jsonb_build_array(b.id::text), 'bench', now() + interval '2 hours'
       FROM bills b WHERE b.estate_id = $1::uuid AND b.period = $2 AND b.kind = 'bill'
       RETURNING out_trade_no, amount_fen`,
      estateId,
      PERIOD,
      prefix,
    )
  ).map((r) => ({ outTradeNo: r.out_trade_no, amountFen: Number(r.amount_fen) }));
}
