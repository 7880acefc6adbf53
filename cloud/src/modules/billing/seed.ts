// Demo billing for `npm start`: the first estate gets a fee schedule, water readings, three monthly bill runs
// (through the real bill run), sandbox payments for most households (written in bulk, so first start stays fast),
// and an overdue run that charges late fees and opens follow-ups for households two months behind. The demo
// resident keeps this month's bill unpaid, to pay it in the sandbox.
import { recordAudit } from '../../core/audit.js';
import { systemActor } from '../../core/context.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { addMonths, localDate } from './money.js';
import { runOverdue } from './overdue.js';
import { runBills } from './run.js';

export async function seedBilling(
  prisma: PrismaClient,
  estateId: string,
  keepUnpaid: string | undefined,
  now = new Date(),
) {
  const actor = systemActor('seed');
  const estate = await prisma.estate.findUniqueOrThrow({ where: { id: estateId } });
  const today = localDate(now, estate.timezone);
  const current = today.slice(0, 7);
  const periods = [addMonths(current, -2), addMonths(current, -1), current];
  await prisma.feeItem.createMany({
    data: [
      { estateId, code: 'PROP', name: '物业服务费', kind: 'property', cycle: 'monthly', rateCentiFen: 23_500n },
      {
        estateId,
        code: 'PROP-SHOP',
        name: '商铺物业费',
        kind: 'property',
        cycle: 'monthly',
        unitType: 'shop',
        rateCentiFen: 58_000n,
      },
      { estateId, code: 'PARK', name: '车位管理费', kind: 'parking', cycle: 'monthly', rateCentiFen: 1_200_000n },
      { estateId, code: 'WATER', name: '水费', kind: 'water', cycle: 'monthly', rateCentiFen: 34_500n },
      { estateId, code: 'ONCE', name: '一次性费用', kind: 'one_off', cycle: 'once', rateCentiFen: 0n },
      { estateId, code: 'EV', name: '充电费', kind: 'ev_charging', cycle: 'once', rateCentiFen: 0n },
    ],
  });
  await prisma.billingSettings.create({ data: { estateId, dueDays: 15, lateFeeBpsPerDay: 5 } });
  // Water meters: a baseline before the first period, then 5–20 m³ a month.
  await prisma.$executeRawUnsafe(
    `INSERT INTO meter_readings (estate_id, household_id, meter, period, reading_milli, source)
     SELECT h.estate_id, h.id, 'water', p.period,
            (abs(hashtext(h.id::text)) % 500000) + p.k * (5000 + abs(hashtext(h.id::text || p.period)) % 15000), 'import'
     FROM households h
     CROSS JOIN (SELECT * FROM unnest($2::text[]) WITH ORDINALITY AS x(period, k)) p
     WHERE h.estate_id = $1::uuid AND h.status = 'active'`,
    estateId,
    [addMonths(current, -3), ...periods],
  );
  const share = [92, 90, 55];
  for (const [i, period] of periods.entries()) {
    await runBills(prisma, actor, estate, period);
    // Residents who pay: the same ones each month mostly, so some fall two months behind.
    const paid = await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(
        `CREATE TEMP TABLE seed_paid ON COMMIT DROP AS
         SELECT b.id AS bill_id, b.household_id, b.estate_id, b.total_fen, gen_random_uuid() AS order_id,
                gen_random_uuid() AS payment_id, (b.due_on - 3)::timestamp AT TIME ZONE 'Asia/Shanghai' AS paid_at
         FROM bills b
         WHERE b.estate_id = $1::uuid AND b.period = $2 AND b.kind = 'bill' AND b.paid_fen = 0
           AND abs(hashtext(b.household_id::text)) % 100 < $3 AND b.household_id IS DISTINCT FROM $4::uuid
           AND (b.due_on - 3) <= $5::date`,
        estateId,
        period,
        share[i] ?? 0,
        i === periods.length - 1 ? (keepUnpaid ?? null) : null,
        today,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO payment_orders (id, estate_id, household_id, channel, out_trade_no, amount_fen, bill_ids, status, created_by, created_at, expires_at, paid_at)
         SELECT order_id, estate_id, household_id, 'sandbox', 'PSEED' || replace(order_id::text, '-', ''), total_fen,
                jsonb_build_array(bill_id), 'paid', 'system:seed', paid_at, paid_at + interval '30 minutes', paid_at FROM seed_paid`,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO payments (id, estate_id, household_id, order_id, channel, channel_txn_id, amount_fen, paid_at)
         SELECT payment_id, estate_id, household_id, order_id, 'sandbox', 'SBXSEED' || replace(payment_id::text, '-', ''), total_fen, paid_at
         FROM seed_paid`,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO bill_allocations (household_id, bill_id, amount_fen, source, ref_id)
         SELECT household_id, bill_id, total_fen, 'payment', payment_id::text FROM seed_paid`,
      );
      await tx.$executeRawUnsafe('UPDATE bills b SET paid_fen = b.total_fen FROM seed_paid s WHERE b.id = s.bill_id');
      const [row] = await tx.$queryRawUnsafe<{ n: number }[]>('SELECT count(*)::int AS n FROM seed_paid');
      return row?.n ?? 0;
    });
    await recordAudit(prisma, actor, {
      action: 'billing.seed_payments',
      entity: 'estate',
      entityId: estateId,
      estateId,
      after: { period, payments: paid, channel: 'sandbox' },
    });
  }
  return runOverdue(prisma, actor, estateId, today);
}
