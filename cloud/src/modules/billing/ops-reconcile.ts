import { recordAudit } from '../../core/audit.js';
import { AppError } from '../../core/errors.js';
import { NotifyRejected, type StatementLine } from './channels/types.js';
import { dayNumber, n } from './money.js';
import { authorizeBilling } from './policy.js';
import type { Acting, BillingScope } from './scope.js';

export interface Mismatch {
  kind: string;
  channelTxnId: string;
  outTradeNo: string | null;
  refundNo?: string | null;
  ours: number | null;
  theirs: number | null;
}

export function reconcileOps(scope: BillingScope) {
  const { prisma, channel } = scope;
  return {
    async reconcile(
      actor: Acting,
      input: { channel: string; statement: string; from: string; to: string; estateId?: string | undefined },
    ) {
      authorizeBilling(actor.principal, 'billing:reconcile');
      const ch = channel(input.channel);
      let lines: StatementLine[];
      try {
        lines = ch.parseStatement(input.statement);
      } catch (err) {
        // A parser refuses with NotifyRejected; anything else is a bug and answers 500 (logged), not "bad input".
        if (!(err instanceof NotifyRejected)) throw err;
        throw new AppError('VALIDATION', `${ch.name} statement: ${err.message}`, '/body/statement');
      }
      const estateId = actor.principal.role === 'admin' ? input.estateId : (actor.principal.estateId ?? undefined);
      const inEstate = estateId ? { estateId } : {};
      const from = new Date(`${input.from}T00:00:00+08:00`);
      const to = new Date(dayNumber(input.to) * 86_400_000 + 86_400_000 - 8 * 3_600_000);
      // A statement covers the payments made and the refunds asked for in its days (both providers bill a refund on
      // the day it was accepted, whenever the payment was made).
      const ours = await prisma.payment.findMany({
        where: { channel: ch.name, paidAt: { gte: from, lt: to }, ...inEstate },
      });
      const txns = lines.filter((l) => l.type === 'payment').map((l) => l.channelTxnId);
      const refundNos = lines.flatMap((l) => (l.type === 'refund' && l.refundNo ? [l.refundNo] : []));
      const refunds = await prisma.refund.findMany({
        where: { OR: [{ createdAt: { gte: from, lt: to }, ...inEstate }, { outRefundNo: { in: refundNos } }] },
      });
      const byId = new Map(ours.map((p) => [p.id, p]));
      const more = await prisma.payment.findMany({
        where: {
          channel: ch.name,
          OR: [
            { channelTxnId: { in: txns } },
            { id: { in: refunds.map((r) => r.paymentId).filter((id) => !byId.has(id)) } },
          ],
        },
      });
      for (const p of more) byId.set(p.id, p);
      const byTxn = new Map([...byId.values()].map((p) => [p.channelTxnId, p]));
      // A refund is this channel's when its payment is.
      const ourRefunds = refunds.filter((r) => byId.has(r.paymentId));
      const refundByNo = new Map(ourRefunds.map((r) => [r.outRefundNo, r]));
      const orderIds = [...byId.values()].flatMap((p) => (p.orderId ? [p.orderId] : []));
      const orders = await prisma.paymentOrder.findMany({ where: { id: { in: orderIds } } });
      const tradeNoOf = new Map(orders.map((o) => [o.id, o.outTradeNo]));
      const outTradeNo = (p: { orderId: string | null }) => (p.orderId ? (tradeNoOf.get(p.orderId) ?? null) : null);

      const mismatches: Mismatch[] = [];
      const seen = new Set<string>();
      const seenRefunds = new Set<string>();
      let matched = 0;
      for (const l of lines) {
        const theirs = { channelTxnId: l.channelTxnId, outTradeNo: l.outTradeNo, theirs: l.amountFen };
        if (l.type === 'payment') {
          seen.add(l.channelTxnId);
          const p = byTxn.get(l.channelTxnId);
          if (estateId && p && p.estateId !== estateId) continue;
          if (!p) mismatches.push({ kind: 'missing_here', ...theirs, ours: null });
          else if (n(p.amountFen) !== l.amountFen)
            mismatches.push({ kind: 'amount_differs', ...theirs, ours: n(p.amountFen) });
          else matched++;
        } else {
          const r = l.refundNo ? refundByNo.get(l.refundNo) : undefined;
          if (estateId && r && r.estateId !== estateId) continue;
          if (r) seenRefunds.add(r.outRefundNo);
          const named = { ...theirs, refundNo: l.refundNo };
          if (!r) mismatches.push({ kind: 'refund_missing_here', ...named, ours: null });
          else if (n(r.amountFen) !== l.amountFen)
            mismatches.push({ kind: 'refund_amount_differs', ...named, ours: n(r.amountFen) });
          else matched++;
        }
      }
      for (const p of ours) {
        if (!seen.has(p.channelTxnId)) {
          const named = { channelTxnId: p.channelTxnId, outTradeNo: outTradeNo(p) };
          mismatches.push({ kind: 'missing_in_statement', ...named, ours: n(p.amountFen), theirs: null });
        }
      }
      for (const r of ourRefunds) {
        const p = byId.get(r.paymentId);
        if (!p || seenRefunds.has(r.outRefundNo) || r.createdAt < from || r.createdAt >= to) continue;
        if (estateId && r.estateId !== estateId) continue;
        mismatches.push({
          kind: 'refund_missing_in_statement',
          channelTxnId: p.channelTxnId,
          outTradeNo: outTradeNo(p),
          refundNo: r.outRefundNo,
          ours: n(r.amountFen),
          theirs: null,
        });
      }
      await recordAudit(prisma, actor, {
        action: 'billing.reconcile',
        entity: 'channel',
        entityId: ch.name,
        estateId: estateId ?? null,
        after: { from: input.from, to: input.to, lines: lines.length, matched, mismatches: mismatches.length },
      });
      return { channel: ch.name, from: input.from, to: input.to, statementLines: lines.length, matched, mismatches };
    },
  };
}
