// Payment orders, signed channel notifications (verified before use, credited once), refunds, payment lookup.
// The billing domain: fee schedules, bill runs, notes, payment orders and their signed notifications, refunds
// and reconciliation. Every change commits with its audit row; money is fen (integers) throughout.
import { randomUUID } from 'node:crypto';
import { appendAudit, recordAudit } from '../../core/audit.js';
import { AppError, notFound } from '../../core/errors.js';
import { change, type Tx } from '../../core/tx.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { NotifyRejected, type NotifyRequest } from './channels/types.js';
import { lockAccount, unallocate } from './ledger.js';
import { n } from './money.js';
import { applyNotification, type Outcome } from './payment-credit.js';
import { authorizeBilling } from './policy.js';
import { type Acting, type BillingScope, ORDER_TTL_MS, tradeNo } from './scope.js';
import { BILLING_TOPICS } from './topics.js';
import { orderView, paymentView, systemLike, type Verified } from './views.js';

export function paymentOps(scope: BillingScope) {
  const { prisma, channels, householdIn, channel } = scope;
  return {
    // — payments —
    async createOrder(
      actor: Acting,
      input: {
        householdId?: string | undefined;
        billIds?: string[] | undefined;
        amountFen?: number | undefined;
        channel: string;
      },
    ) {
      const householdId = input.householdId ?? actor.principal.householdId;
      if (!householdId) throw new AppError('VALIDATION', 'householdId is required', '/body/householdId');
      const h = await householdIn(actor, householdId, 'billing:pay');
      const ch = channel(input.channel);
      const billIds = input.billIds ?? [];
      const bills = billIds.length
        ? await prisma.bill.findMany({ where: { id: { in: billIds }, householdId } })
        : await prisma.bill.findMany({ where: { householdId, kind: { not: 'credit_note' } } });
      if (billIds.length && bills.length !== new Set(billIds).size)
        throw new AppError('NOT_FOUND', 'Bill not found', '/body/billIds');
      const owed = bills.reduce((s, b) => s + Math.max(0, n(b.totalFen) - n(b.paidFen)), 0);
      const amountFen = input.amountFen ?? owed;
      // Zero or negative amounts never reach a provider (the schema refuses them in a body; this guards "pay all" of nothing).
      if (!Number.isSafeInteger(amountFen) || amountFen <= 0) {
        throw new AppError('VALIDATION', 'nothing to pay: the amount must be positive', '/body/amountFen');
      }
      const outTradeNo = tradeNo('P');
      const expiresAt = new Date(Date.now() + ORDER_TTL_MS);
      const request = ch.buildPayment(
        {
          outTradeNo,
          amountFen,
          currency: 'CNY',
          description: `物业缴费 ${h.unit.number}`,
          notifyUrl: `${channels.notifyBaseUrl}/api/billing/notify/${ch.name}`,
          expiresAt,
        },
        new Date(),
      );
      const order = await change(prisma, actor, async (tx, audit) => {
        const o = await tx.paymentOrder.create({
          data: {
            estateId: h.estateId,
            householdId,
            channel: ch.name,
            outTradeNo,
            amountFen: BigInt(amountFen),
            billIds: bills.filter((b) => billIds.includes(b.id)).map((b) => b.id),
            createdBy: actor.principal.accountId,
            expiresAt,
          },
        });
        await audit({
          action: 'billing.order.create',
          entity: 'payment_order',
          entityId: o.id,
          estateId: h.estateId,
          after: { outTradeNo, amountFen, channel: ch.name, billIds },
        });
        return o;
      });
      return { ...orderView(order), request };
    },
    /** The demo: the resident confirms in the sandbox, which then notifies like a provider would. */
    async sandboxPay(actor: Acting, orderId: string) {
      const o = await prisma.paymentOrder.findUnique({ where: { id: orderId } });
      if (!o) throw notFound('Order');
      authorizeBilling(actor.principal, 'billing:pay', { estateId: o.estateId, householdId: o.householdId }, 'Order');
      if (o.channel !== 'sandbox' || !channels.sandbox) throw new AppError('CONFLICT', 'not a sandbox order');
      const req = channels.sandbox.notification({ outTradeNo: o.outTradeNo, amountFen: n(o.amountFen) });
      const result = await this.notify('sandbox', req);
      const payment = await prisma.payment.findUnique({ where: { orderId } });
      return { outcome: result.outcome, payment: payment ? paymentView(payment) : null };
    },
    /**
     * An asynchronous notification from a channel. Verified before anything is read from it; then, under the
     * order's row lock, matched against the order (amount, currency, channel) and credited at most once: the
     * provider's transaction id is unique, and an order once paid takes no second payment.
     */
    async notify(channelName: string, req: NotifyRequest, now = new Date()) {
      const ch = channel(channelName);
      const headers = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([k]) => /^(wechatpay-|x-sandbox-|content-type)/i.test(k))
          .map(([k, v]) => [k, String(v)]),
      );
      // Every notification is logged, and a refused one audited, in the same commit as what it did.
      const log = async (tx: Tx, outcome: Outcome['outcome'], reason: string | null, v?: Partial<Verified>) => {
        await tx.paymentNotification.create({
          data: {
            channel: ch.name,
            outcome,
            reason,
            outTradeNo: v?.outTradeNo ?? null,
            channelTxnId: v?.channelTxnId ?? null,
            amountFen: v?.amountFen !== undefined && Number.isSafeInteger(v.amountFen) ? BigInt(v.amountFen) : null,
            body: req.body.slice(0, 20_000),
            headers,
          },
        });
        if (outcome !== 'rejected') return;
        await appendAudit(tx, systemLike(ch.name), {
          action: 'billing.notification',
          entity: 'payment_order',
          entityId: v?.outTradeNo ?? null,
          outcome: 'denied',
          after: { channel: ch.name, reason, channelTxnId: v?.channelTxnId ?? null, amountFen: v?.amountFen ?? null },
        });
      };
      let v: Verified;
      try {
        v = ch.verifyNotification(req, now);
      } catch (err) {
        const reason = err instanceof NotifyRejected ? err.message : 'malformed notification';
        await prisma.$transaction((tx) => log(tx, 'rejected', reason));
        return { ok: false, outcome: 'rejected' as const, reason, ack: ch.ack(false) };
      }
      const result = await prisma.$transaction(async (tx): Promise<Outcome> => {
        const r = await applyNotification(tx, ch.name, v);
        await log(tx, r.outcome, r.reason, v);
        return r;
      });
      if (result.outcome === 'rejected') {
        return { ok: false, outcome: 'rejected' as const, reason: result.reason ?? 'rejected', ack: ch.ack(false) };
      }
      // A duplicate is acknowledged so the provider stops retrying; it credits nothing.
      return { ok: true, outcome: result.outcome, reason: result.reason, ack: ch.ack(true) };
    },
    async refund(actor: Acting, paymentId: string, input: { amountFen: number; reason: string }) {
      const p = await prisma.payment.findUnique({ where: { id: paymentId } });
      if (!p) throw notFound('Payment');
      authorizeBilling(actor.principal, 'billing:refund', { estateId: p.estateId }, 'Payment');
      const ch = channel(p.channel);
      const order = p.orderId ? await prisma.paymentOrder.findUnique({ where: { id: p.orderId } }) : null;
      try {
        return await change(prisma, actor, async (tx, audit) => {
          const credit = await lockAccount(tx, p.householdId, p.estateId);
          const fresh = await tx.payment.findUniqueOrThrow({ where: { id: paymentId } });
          const refundable = n(fresh.amountFen) - n(fresh.refundedFen);
          if (input.amountFen > refundable) {
            throw new AppError(
              'VALIDATION',
              `at most ${refundable} fen of this payment can be refunded`,
              '/body/amountFen',
            );
          }
          const id = randomUUID();
          const outRefundNo = tradeNo('R');
          // Money not yet on a bill goes back first; then bills this payment paid are reopened.
          const fromCredit = Math.min(credit, input.amountFen);
          const short = await unallocate(tx, p.householdId, input.amountFen - fromCredit, paymentId, id);
          if (short > 0) throw new AppError('CONFLICT', 'the household has not that much money on its bills');
          await tx.$executeRawUnsafe(
            'UPDATE billing_accounts SET credit_fen = credit_fen - $2, updated_at = now() WHERE household_id = $1::uuid',
            p.householdId,
            BigInt(fromCredit),
          );
          await tx.payment.update({
            where: { id: paymentId },
            data: { refundedFen: { increment: BigInt(input.amountFen) } },
          });
          const status = ch.name === 'sandbox' ? 'succeeded' : 'requested';
          await tx.refund.create({
            data: {
              id,
              estateId: p.estateId,
              householdId: p.householdId,
              paymentId,
              outRefundNo,
              amountFen: BigInt(input.amountFen),
              reason: input.reason,
              status,
              createdBy: actor.principal.accountId,
            },
          });
          const request = ch.buildRefund(
            {
              outTradeNo: order?.outTradeNo ?? '',
              channelTxnId: p.channelTxnId,
              outRefundNo,
              refundFen: input.amountFen,
              totalFen: n(p.amountFen),
              reason: input.reason,
              notifyUrl: `${channels.notifyBaseUrl}/api/billing/notify/${ch.name}`,
            },
            new Date(),
          );
          await tx.outboxEvent.create({
            data: {
              topic: BILLING_TOPICS.refundRequested,
              aggregateId: p.householdId,
              payload: {
                refundId: id,
                paymentId,
                amountFen: input.amountFen,
                channel: ch.name,
                request,
              } as unknown as Prisma.InputJsonValue,
            },
          });
          await audit({
            action: 'billing.refund',
            entity: 'refund',
            entityId: id,
            estateId: p.estateId,
            after: { paymentId, amountFen: input.amountFen, reason: input.reason, outRefundNo },
          });
          return { id, paymentId, outRefundNo, amountFen: input.amountFen, status, request };
        });
      } catch (err) {
        if (err instanceof AppError) {
          await recordAudit(prisma, actor, {
            action: 'billing.refund',
            entity: 'payment',
            entityId: paymentId,
            estateId: p.estateId,
            outcome: 'denied',
            after: { amountFen: input.amountFen, reason: err.message },
          });
        }
        throw err;
      }
    },
    async paymentFor(actor: Acting, paymentId: string) {
      const p = await prisma.payment.findUnique({ where: { id: paymentId } });
      if (!p) throw notFound('Payment');
      authorizeBilling(
        actor.principal,
        'billing:read',
        { estateId: p.estateId, householdId: p.householdId },
        'Payment',
      );
      const allocations = await prisma.billAllocation.findMany({ where: { refId: paymentId }, orderBy: { id: 'asc' } });
      const bills = await prisma.bill.findMany({ where: { id: { in: allocations.map((a) => a.billId) } } });
      const household = await prisma.household.findUniqueOrThrow({
        where: { id: p.householdId },
        include: { unit: true },
      });
      const estate = await prisma.estate.findUniqueOrThrow({ where: { id: p.estateId } });
      return { payment: p, allocations, bills, household, estate };
    },

    /** Compares a channel's statement with what was recorded and lists every difference. */
  };
}
