import { recordAudit } from '../../core/audit.js';
import { AppError } from '../../core/errors.js';
import { NotifyRejected, type StatementLine } from './channels/types.js';
import { dayNumber, n } from './money.js';
import { authorizeBilling } from './policy.js';
import type { Acting, BillingScope } from './scope.js';

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
        throw new AppError(
          'VALIDATION',
          err instanceof NotifyRejected ? err.message : 'statement cannot be read',
          '/body/statement',
        );
      }
      const estateId = actor.principal.role === 'admin' ? input.estateId : (actor.principal.estateId ?? undefined);
      const from = new Date(`${input.from}T00:00:00+08:00`);
      const to = new Date(dayNumber(input.to) * 86_400_000 + 86_400_000 - 8 * 3_600_000);
      const ours = await prisma.payment.findMany({
        where: { channel: ch.name, paidAt: { gte: from, lt: to }, ...(estateId ? { estateId } : {}) },
      });
      const byTxn = new Map(ours.map((p) => [p.channelTxnId, p]));
      const txns = lines.filter((l) => l.type === 'payment').map((l) => l.channelTxnId);
      const extra = await prisma.payment.findMany({ where: { channel: ch.name, channelTxnId: { in: txns } } });
      for (const p of extra) byTxn.set(p.channelTxnId, p);
      const refunds = await prisma.refund.findMany({
        where: { paymentId: { in: [...byTxn.values()].map((p) => p.id) } },
      });
      const refundByNo = new Map(refunds.map((r) => [r.outRefundNo, r]));
      const mismatches: {
        kind: string;
        channelTxnId: string;
        outTradeNo: string | null;
        refundNo?: string | null;
        ours: number | null;
        theirs: number | null;
      }[] = [];
      const seen = new Set<string>();
      const seenRefunds = new Set<string>();
      let matched = 0;
      for (const l of lines) {
        if (l.type === 'payment') {
          seen.add(l.channelTxnId);
          const p = byTxn.get(l.channelTxnId);
          if (estateId && p && p.estateId !== estateId) continue;
          if (!p)
            mismatches.push({
              kind: 'missing_here',
              channelTxnId: l.channelTxnId,
              outTradeNo: l.outTradeNo,
              ours: null,
              theirs: l.amountFen,
            });
          else if (n(p.amountFen) !== l.amountFen)
            mismatches.push({
              kind: 'amount_differs',
              channelTxnId: l.channelTxnId,
              outTradeNo: l.outTradeNo,
              ours: n(p.amountFen),
              theirs: l.amountFen,
            });
          else matched++;
        } else {
          const r = l.refundNo ? refundByNo.get(l.refundNo) : undefined;
          if (r) seenRefunds.add(r.outRefundNo);
          if (!r)
            mismatches.push({
              kind: 'refund_missing_here',
              channelTxnId: l.channelTxnId,
              outTradeNo: l.outTradeNo,
              refundNo: l.refundNo,
              ours: null,
              theirs: l.amountFen,
            });
          else if (n(r.amountFen) !== l.amountFen)
            mismatches.push({
              kind: 'refund_amount_differs',
              channelTxnId: l.channelTxnId,
              outTradeNo: l.outTradeNo,
              refundNo: l.refundNo,
              ours: n(r.amountFen),
              theirs: l.amountFen,
            });
          else matched++;
        }
      }
      for (const p of ours) {
        if (!seen.has(p.channelTxnId))
          mismatches.push({
            kind: 'missing_in_statement',
            channelTxnId: p.channelTxnId,
            outTradeNo: null,
            ours: n(p.amountFen),
            theirs: null,
          });
      }
      for (const r of refunds) {
        const p = [...byTxn.values()].find((x) => x.id === r.paymentId);
        if (!seenRefunds.has(r.outRefundNo) && p && p.paidAt >= from && p.paidAt < to)
          mismatches.push({
            kind: 'refund_missing_in_statement',
            channelTxnId: p.channelTxnId,
            outTradeNo: null,
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
