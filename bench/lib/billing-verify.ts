/**
 * After the payment bench: what the database says of the bench's orders. Each order's notification must have
 * credited it exactly once. A duplicate that credited again would show as a second payment of the order, or —
 * since every order pays its bill in full — as money left over as credit on the household's account.
 */
import type { RunningCloud } from '@estate/cloud';

export interface CreditCheck {
  orders: number;
  uncredited: number;
  duplicatesCredited: number;
  /** Notifications the cloud logged as duplicates (acknowledged, nothing credited) and as rejected. */
  loggedDuplicates: number;
  loggedRejected: number;
  problems: string[];
}

export async function checkCredits(cloud: RunningCloud, estateId: string, prefix: string): Promise<CreditCheck> {
  const db = cloud.deps.prisma;
  const [row] = await db.$queryRawUnsafe<
    {
      orders: bigint;
      unpaid_orders: bigint;
      uncredited: bigint;
      extra_payments: bigint;
      credit_accounts: bigint;
      short_bills: bigint;
      wrong_amounts: bigint;
    }[]
  >(
    `WITH o AS (
       SELECT o.id, o.status, o.amount_fen, count(p.id) AS payments, coalesce(sum(p.amount_fen), 0) AS paid
       FROM payment_orders o LEFT JOIN payments p ON p.order_id = o.id
       WHERE o.estate_id = $1::uuid AND o.out_trade_no LIKE $2 || '%' GROUP BY o.id)
     SELECT (SELECT count(*) FROM o) AS orders,
            (SELECT count(*) FROM o WHERE status <> 'paid') AS unpaid_orders,
            (SELECT count(*) FROM o WHERE payments = 0) AS uncredited,
            (SELECT coalesce(sum(payments - 1), 0) FROM o WHERE payments > 1)::bigint AS extra_payments,
            (SELECT count(*) FROM o WHERE payments = 1 AND paid <> amount_fen) AS wrong_amounts,
            (SELECT count(*) FROM billing_accounts WHERE estate_id = $1::uuid AND credit_fen > 0) AS credit_accounts,
            (SELECT count(*) FROM bills WHERE estate_id = $1::uuid AND kind = 'bill' AND paid_fen <> total_fen)
              AS short_bills`,
    estateId,
    prefix,
  );
  const logged = await db.$queryRawUnsafe<{ outcome: string; n: bigint }[]>(
    `SELECT outcome, count(*) AS n FROM payment_notifications WHERE out_trade_no LIKE $1 || '%' GROUP BY outcome`,
    prefix,
  );
  const count = (k: keyof NonNullable<typeof row>) => Number(row?.[k] ?? 0);
  const outcome = (o: string) => Number(logged.find((l) => l.outcome === o)?.n ?? 0);
  const check: CreditCheck = {
    orders: count('orders'),
    uncredited: count('uncredited'),
    duplicatesCredited: count('extra_payments') + count('credit_accounts'),
    loggedDuplicates: outcome('duplicate'),
    loggedRejected: outcome('rejected'),
    problems: [],
  };
  const p = check.problems;
  if (check.uncredited > 0) p.push(`${check.uncredited} of ${check.orders} orders were never credited`);
  if (count('unpaid_orders') > 0) p.push(`${count('unpaid_orders')} orders are not marked paid`);
  if (count('extra_payments') > 0) p.push(`${count('extra_payments')} payments beyond one per order`);
  if (count('credit_accounts') > 0) p.push(`${count('credit_accounts')} households were left with credit (paid twice)`);
  if (count('wrong_amounts') > 0) p.push(`${count('wrong_amounts')} payments differ from their order's amount`);
  if (count('short_bills') > 0) p.push(`${count('short_bills')} bills are not paid in full`);
  if (check.loggedRejected > 0) p.push(`${check.loggedRejected} notifications were rejected`);
  return check;
}
