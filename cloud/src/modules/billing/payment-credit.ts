// What a verified payment notification does to the books, inside the caller's transaction: matched against its
// order under the order's row lock, then credited at most once. The provider's transaction id is unique (the
// payment insert skips on conflict, so a duplicate racing past the order lock still credits nothing) and an order
// once paid takes no second payment. The credited path is seven statements: order lock; payment + order paid +
// account lock; bills due; allocations + credit; outbox event; the audit row (two, see appendAudits).
import { appendAudit } from '../../core/audit.js';
import type { Tx } from '../../core/tx.js';
import { lockAccountSql, settle } from './ledger.js';
import { n } from './money.js';
import { BILLING_TOPICS } from './topics.js';
import { systemLike, type Verified } from './views.js';

export type Outcome = { outcome: 'credited' | 'duplicate' | 'ignored' | 'rejected'; reason: string | null };

interface LockedOrder {
  id: string;
  estate_id: string;
  household_id: string;
  channel: string;
  amount_fen: bigint;
  currency: string;
  status: string;
  bill_ids: string[];
}

// The payment, the order marked paid and the household's account locked (created if needed, as lockAccount),
// all only if the payment was new. Its snapshot is taken after the order lock, like the statements it replaces.
const CREDIT_SQL = `
  WITH payment AS (
    INSERT INTO payments (estate_id, household_id, order_id, channel, channel_txn_id, amount_fen, currency, paid_at)
    VALUES ($2::uuid, $1::uuid, $3::uuid, $4, $5, $6, $7, $8::timestamptz)
    ON CONFLICT (channel, channel_txn_id) DO NOTHING RETURNING id),
  paid AS (
    UPDATE payment_orders SET status = 'paid', paid_at = $8::timestamptz
    WHERE id = $3::uuid AND EXISTS (SELECT 1 FROM payment)),
  account AS (
    ${lockAccountSql('SELECT $1::uuid, $2::uuid WHERE EXISTS (SELECT 1 FROM payment)')})
  SELECT payment.id::text AS id, (SELECT credit_fen FROM account) AS credit_fen FROM payment`;

async function sameTransaction(tx: Tx, channel: string, channelTxnId: string, orderId: string) {
  const same = await tx.payment.findUnique({
    where: { channel_channelTxnId: { channel, channelTxnId } },
    select: { orderId: true },
  });
  return same
    ? ({ outcome: 'duplicate', reason: same.orderId === orderId ? null : 'transaction of another order' } as const)
    : null;
}

export async function applyNotification(tx: Tx, channel: string, v: Verified): Promise<Outcome> {
  const [order] = await tx.$queryRawUnsafe<LockedOrder[]>(
    `SELECT id::text, estate_id::text, household_id::text, channel, amount_fen, currency, status, bill_ids
     FROM payment_orders WHERE out_trade_no = $1 FOR UPDATE`,
    v.outTradeNo,
  );
  if (!order) return { outcome: 'rejected', reason: 'unknown order' };
  if (order.channel !== channel) return { outcome: 'rejected', reason: 'channel mismatch' };
  if (v.currency !== order.currency) return { outcome: 'rejected', reason: 'currency mismatch' };
  if (v.amountFen !== n(order.amount_fen)) return { outcome: 'rejected', reason: 'amount mismatch' };
  if (!v.succeeded || order.status === 'paid') {
    const dup = await sameTransaction(tx, channel, v.channelTxnId, order.id);
    if (dup) return dup;
    // Not (yet) paid, or a later state arriving first: nothing to credit; the success will come.
    if (!v.succeeded) return { outcome: 'ignored', reason: `state ${v.state}` };
    return { outcome: 'rejected', reason: 'order already paid by another transaction' };
  }
  const [credited] = await tx.$queryRawUnsafe<{ id: string; credit_fen: bigint }[]>(
    CREDIT_SQL,
    order.household_id,
    order.estate_id,
    order.id,
    channel,
    v.channelTxnId,
    BigInt(v.amountFen),
    v.currency,
    v.paidAt,
  );
  if (!credited) {
    // The transaction id is already recorded (for another order: this order is not paid).
    return (await sameTransaction(tx, channel, v.channelTxnId, order.id)) ?? { outcome: 'duplicate', reason: null };
  }
  const paymentId = credited.id;
  const left = await settle(
    tx,
    order.household_id,
    n(credited.credit_fen) + v.amountFen,
    'payment',
    paymentId,
    order.bill_ids,
  );
  await tx.outboxEvent.create({
    data: {
      topic: BILLING_TOPICS.paymentReceived,
      aggregateId: order.household_id,
      payload: { paymentId, amountFen: v.amountFen, channel, creditFen: left },
    },
  });
  await appendAudit(tx, systemLike(channel), {
    action: 'billing.payment',
    entity: 'payment',
    entityId: paymentId,
    estateId: order.estate_id,
    after: { outTradeNo: v.outTradeNo, channelTxnId: v.channelTxnId, amountFen: v.amountFen, creditLeftFen: left },
  });
  return { outcome: 'credited', reason: null };
}
