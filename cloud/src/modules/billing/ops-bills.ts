import type { Actor } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { change } from '../../core/tx.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { allocate, lockAccount, settle } from './ledger.js';
import { localDate, n, parsePeriod } from './money.js';
import { authorizeBilling } from './policy.js';
import { runBills } from './run.js';
import { type Acting, type BillingScope, billView } from './scope.js';
import { paymentView } from './views.js';

export function billOps(scope: BillingScope) {
  const { prisma, estateIn, householdIn, billIn, noteIssued } = scope;
  return {
    // — bill runs, periods, notes —
    async run(actor: Acting | Actor, estateId: string, period: string) {
      const estate = await prisma.estate.findUnique({ where: { id: estateId } });
      if (!estate) throw notFound('Estate');
      if (actor.principal) authorizeBilling(actor.principal, 'billing:run', { estateId }, 'Estate');
      return runBills(prisma, actor, estate, period);
    },
    async closePeriod(actor: Acting, estateId: string, period: string) {
      await estateIn(actor, estateId, 'billing:configure');
      parsePeriod(period);
      return change(prisma, actor, async (tx, audit) => {
        await tx.$executeRawUnsafe(
          `INSERT INTO billing_periods (estate_id, period, status, closed_at, closed_by) VALUES ($1::uuid, $2, 'closed', now(), $3)
           ON CONFLICT (estate_id, period) DO UPDATE SET status = 'closed', closed_at = now(), closed_by = $3`,
          estateId,
          period,
          actor.principal.accountId,
        );
        await audit({
          action: 'billing.period.close',
          entity: 'estate',
          entityId: estateId,
          estateId,
          after: { period },
        });
        return { estateId, period, status: 'closed' };
      });
    },
    async listBills(
      actor: Acting,
      q: {
        estateId?: string;
        householdId?: string;
        period?: string;
        status?: 'unpaid' | 'paid';
        limit?: number;
        cursor?: string;
      },
    ) {
      authorizeBilling(actor.principal, 'billing:read');
      const p = actor.principal;
      const where: Prisma.BillWhereInput = {};
      if (p.role === 'resident') {
        if (q.householdId && q.householdId !== p.householdId) throw notFound('Household');
        where.householdId = p.householdId ?? '00000000-0000-0000-0000-000000000000';
      } else {
        if (p.role !== 'admin' && q.estateId && q.estateId !== p.estateId) throw notFound('Estate');
        const estateId = p.role === 'admin' ? q.estateId : (p.estateId ?? undefined);
        if (estateId) where.estateId = estateId;
        if (q.householdId) where.householdId = q.householdId;
      }
      if (q.period) where.period = q.period;
      const limit = q.limit ?? 20;
      const after = decodeCursor(q.cursor, 1);
      if (after) where.number = { lt: String(after[0]) };
      const rows = await prisma.bill.findMany({
        where,
        orderBy: { number: 'desc' },
        take: q.status ? 1000 : limit + 1,
      });
      const views = rows
        .map((b) => billView(b))
        .filter((b) => !q.status || (q.status === 'paid' ? b.status === 'paid' : b.outstandingFen > 0));
      return pageOf(views.slice(0, limit + 1), limit, (b) => [b.number]);
    },
    async getBill(actor: Acting, id: string) {
      return billView(await billIn(actor, id, 'billing:read'));
    },
    async statement(actor: Acting, householdId: string) {
      const h = await householdIn(actor, householdId, 'billing:read');
      const bills = await prisma.bill.findMany({
        where: { householdId },
        include: { items: true },
        orderBy: { number: 'asc' },
      });
      const payments = await prisma.payment.findMany({ where: { householdId }, orderBy: { paidAt: 'asc' } });
      const account = await prisma.billingAccount.findUnique({ where: { householdId } });
      const views = bills.map((b) => billView(b));
      return {
        householdId,
        unitNumber: h.unit.number,
        bills: views,
        payments: payments.map(paymentView),
        outstandingFen: views.reduce((s, b) => s + b.outstandingFen, 0),
        creditFen: n(account?.creditFen),
      };
    },
    async issueNote(
      actor: Acting,
      billId: string,
      kind: 'credit_note' | 'debit_note',
      input: { amountFen: number; reason: string },
    ) {
      const b = await billIn(actor, billId, 'billing:note');
      if (b.kind !== 'bill') throw new AppError('CONFLICT', 'notes correct bills, not other notes');
      return change(prisma, actor, async (tx, audit) => {
        let credit = await lockAccount(tx, b.householdId, b.estateId);
        if (kind === 'credit_note') {
          const [prior] = await tx.$queryRawUnsafe<{ s: bigint | null }[]>(
            `SELECT sum(-total_fen) AS s FROM bills WHERE corrects_bill_id = $1::uuid AND kind = 'credit_note'`,
            b.id,
          );
          if (input.amountFen + n(prior?.s) > n(b.totalFen)) {
            throw new AppError('VALIDATION', 'credit notes may not exceed the bill', '/body/amountFen');
          }
        }
        const sign = kind === 'credit_note' ? -1 : 1;
        const note = await tx.bill.create({
          data: {
            estateId: b.estateId,
            buildingId: b.buildingId,
            householdId: b.householdId,
            period: b.period,
            kind,
            correctsBillId: b.id,
            reason: input.reason,
            totalFen: BigInt(sign * input.amountFen),
            dueOn: new Date(`${localDate(new Date(), 'Asia/Shanghai')}T00:00:00Z`),
            items: {
              create: [
                {
                  position: 0,
                  kind: kind === 'credit_note' ? 'credit' : 'debit',
                  description: input.reason,
                  basis: { corrects: b.number },
                  basisText: `${kind === 'credit_note' ? '冲减' : '补收'} ${b.number}`,
                  amountFen: BigInt(sign * input.amountFen),
                },
              ],
            },
          },
          include: { items: true },
        });
        if (kind === 'credit_note') {
          // The note first lowers what is still owed on the bill; what was already paid becomes credit.
          const owed = n(b.totalFen) - n((await tx.bill.findUniqueOrThrow({ where: { id: b.id } })).paidFen);
          const onBill = Math.min(owed, input.amountFen);
          await allocate(tx, b.householdId, b.id, onBill, 'credit_note', note.id);
          credit += input.amountFen - onBill;
        }
        await settle(tx, b.householdId, credit, 'credit', note.id);
        await noteIssued(tx, b.householdId, {
          billId: note.id,
          kind,
          correctsBillId: b.id,
          amountFen: input.amountFen,
        });
        await audit({
          action: `billing.${kind}`,
          entity: 'bill',
          entityId: note.id,
          estateId: b.estateId,
          after: { corrects: b.number, amountFen: input.amountFen, reason: input.reason },
        });
        return billView(note);
      });
    },
  };
}
