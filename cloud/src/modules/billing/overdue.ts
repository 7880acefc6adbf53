// Overdue handling for one estate as of a date: late fees by the estate's rule (issued as debit notes, so bills stay
// immutable), reminders that escalate (due soon → overdue → final), and a follow-up task for staff when a household
// leaves two consecutive months unpaid. Safe to run any number of times a day: each step records what it did.
import { appendAudit } from '../../core/audit.js';
import type { Actor } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { change } from '../../core/tx.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { lockAccount, settle } from './ledger.js';
import { addMonths, dateOfDay, dayNumber, mulDiv, n, yuan } from './money.js';
import { authorizeBilling } from './policy.js';
import type { Acting } from './service.js';
import { BILLING_TOPICS } from './topics.js';

export const LATE_FEE_REASON = '滞纳金';

export async function runOverdue(prisma: PrismaClient, actor: Actor, estateId: string, asOf: string) {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtext($1))', `overdue:${estateId}`);
      const s = await tx.billingSettings.findUnique({ where: { estateId } });
      const bps = s?.lateFeeBpsPerDay ?? 5;
      const grace = s?.lateFeeGraceDays ?? 0;
      const capBps = s?.lateFeeCapBps ?? 10_000;
      const remindBefore = s?.remindDaysBefore ?? 3;
      const today = dayNumber(asOf);

      // Late fees: what the rule says is due by now, less what earlier runs already charged.
      const late = await tx.$queryRawUnsafe<
        {
          id: string;
          number: string;
          household_id: string;
          building_id: string;
          period: string;
          total: bigint;
          owed: bigint;
          due_on: string;
          charged: bigint;
        }[]
      >(
        `SELECT b.id::text, b.number, b.household_id::text AS household_id, b.building_id::text AS building_id, b.period,
                b.total_fen AS total, b.total_fen - b.paid_fen AS owed, to_char(b.due_on, 'YYYY-MM-DD') AS due_on,
                coalesce((SELECT sum(d.total_fen) FROM bills d WHERE d.corrects_bill_id = b.id AND d.kind = 'debit_note'
                          AND d.reason = $3), 0)::bigint AS charged
         FROM bills b
         WHERE b.estate_id = $1::uuid AND b.kind = 'bill' AND b.paid_fen < b.total_fen AND b.due_on + $2::int < $4::date`,
        estateId,
        grace,
        LATE_FEE_REASON,
        asOf,
      );
      let lateFees = 0;
      let lateFeeFen = 0;
      for (const b of late) {
        const days = today - dayNumber(b.due_on);
        const byRule = Math.min(mulDiv([n(b.owed), bps, days], 10_000), mulDiv([n(b.total), capBps], 10_000));
        const delta = byRule - n(b.charged);
        if (delta <= 0) continue;
        const credit = await lockAccount(tx, b.household_id, estateId);
        const note = await tx.bill.create({
          data: {
            estateId,
            buildingId: b.building_id,
            householdId: b.household_id,
            period: b.period,
            kind: 'debit_note',
            correctsBillId: b.id,
            reason: LATE_FEE_REASON,
            totalFen: BigInt(delta),
            dueOn: new Date(`${asOf}T00:00:00Z`),
            items: {
              create: [
                {
                  position: 0,
                  kind: 'late_fee',
                  description: `${LATE_FEE_REASON} ${b.number}`,
                  basis: { owedFen: n(b.owed), days, bpsPerDay: bps, capBps, alreadyChargedFen: n(b.charged) },
                  basisText: `¥${yuan(n(b.owed))} × ${bps}‱/天 × ${days} 天 − 已收 ¥${yuan(n(b.charged))} = ¥${yuan(delta)}`,
                  amountFen: BigInt(delta),
                },
              ],
            },
          },
        });
        await settle(tx, b.household_id, credit, 'credit', note.id);
        lateFees++;
        lateFeeFen += delta;
      }

      // Reminders, one per bill and stage.
      const stages: [string, string][] = [
        ['due_soon', `b.due_on - ${remindBefore} <= $2::date AND b.due_on >= $2::date`],
        ['overdue', 'b.due_on < $2::date'],
        ['final', 'b.due_on + 30 <= $2::date'],
      ];
      let reminders = 0;
      for (const [stage, when] of stages) {
        const sent = await tx.$queryRawUnsafe<{ bill_id: string; household_id: string; owed: bigint }[]>(
          `WITH due AS (
             SELECT b.id, b.household_id, b.total_fen - b.paid_fen AS owed FROM bills b
             WHERE b.estate_id = $1::uuid AND b.kind <> 'credit_note' AND b.paid_fen < b.total_fen AND ${when})
           , ins AS (
             INSERT INTO billing_reminders (bill_id, stage) SELECT id, $3 FROM due ON CONFLICT DO NOTHING RETURNING bill_id)
           SELECT ins.bill_id::text AS bill_id, due.household_id::text AS household_id, due.owed FROM ins JOIN due ON due.id = ins.bill_id`,
          estateId,
          asOf,
          stage,
        );
        for (const r of sent) {
          await tx.outboxEvent.create({
            data: {
              topic: BILLING_TOPICS.billReminder,
              aggregateId: r.household_id,
              payload: { billId: r.bill_id, stage, owedFen: n(r.owed) },
            },
          });
        }
        reminders += sent.length;
      }

      // Two consecutive months unpaid (past due) → one open follow-up per household.
      const unpaid = await tx.$queryRawUnsafe<{ household_id: string; periods: string[] }[]>(
        `SELECT b.household_id::text AS household_id, array_agg(DISTINCT b.period ORDER BY b.period) AS periods
         FROM bills b
         WHERE b.estate_id = $1::uuid AND b.kind = 'bill' AND b.paid_fen < b.total_fen AND b.due_on < $2::date
           AND NOT EXISTS (SELECT 1 FROM billing_follow_ups f WHERE f.household_id = b.household_id AND f.status = 'open')
         GROUP BY b.household_id HAVING count(DISTINCT b.period) >= 2`,
        estateId,
        asOf,
      );
      const staff = await tx.$queryRawUnsafe<{ id: string }[]>(
        `SELECT a.id::text FROM accounts a
         WHERE a.estate_id = $1::uuid AND a.role = 'staff' AND a.disabled_at IS NULL
         ORDER BY (SELECT count(*) FROM billing_follow_ups f WHERE f.assigned_to = a.id AND f.status = 'open'), a.login`,
        estateId,
      );
      let followUps = 0;
      for (const u of unpaid) {
        const pair = u.periods.find((p, i) => i > 0 && addMonths(u.periods[i - 1] ?? '', 1) === p);
        if (!pair) continue;
        const assignee = staff.length ? staff[followUps % staff.length]?.id : undefined;
        const f = await tx.billingFollowUp.create({
          data: {
            estateId,
            householdId: u.household_id,
            assignedTo: assignee ?? null,
            reason: 'two consecutive months unpaid',
            periods: u.periods,
          },
        });
        await tx.outboxEvent.create({
          data: {
            topic: BILLING_TOPICS.followUpOpened,
            aggregateId: u.household_id,
            payload: { followUpId: f.id, assignedTo: assignee ?? null, periods: u.periods },
          },
        });
        followUps++;
      }
      const result = { asOf, lateFees, lateFeeFen, reminders, followUps };
      await appendAudit(tx, actor, {
        action: 'billing.overdue_run',
        entity: 'estate',
        entityId: estateId,
        estateId,
        after: result,
      });
      return result;
    },
    { timeout: 300_000 },
  );
}

export function followUpService(prisma: PrismaClient) {
  async function inScope(actor: Acting, id: string) {
    const f = await prisma.billingFollowUp.findUnique({ where: { id } });
    if (!f) throw notFound('Follow-up');
    authorizeBilling(actor.principal, 'billing:follow_up', { estateId: f.estateId }, 'Follow-up');
    return f;
  }
  return {
    async list(actor: Acting, q: { estateId?: string | undefined; status?: 'open' | 'closed' | undefined }) {
      authorizeBilling(actor.principal, 'billing:follow_up');
      const p = actor.principal;
      if (p.role !== 'admin' && q.estateId && q.estateId !== p.estateId) throw notFound('Estate');
      const estateId = p.role === 'admin' ? q.estateId : (p.estateId ?? undefined);
      const rows = await prisma.billingFollowUp.findMany({
        where: { ...(estateId ? { estateId } : {}), ...(q.status ? { status: q.status } : {}) },
        orderBy: { createdAt: 'desc' },
        take: 200,
      });
      const contacts = await prisma.billingContact.findMany({
        where: { followUpId: { in: rows.map((r) => r.id) } },
        orderBy: { contactedAt: 'asc' },
      });
      return rows.map((f) => ({
        id: f.id,
        estateId: f.estateId,
        householdId: f.householdId,
        status: f.status,
        assignedTo: f.assignedTo,
        reason: f.reason,
        periods: f.periods as string[],
        createdAt: f.createdAt.toISOString(),
        contacts: contacts
          .filter((c) => c.followUpId === f.id)
          .map((c) => ({
            id: c.id,
            staffId: c.staffId,
            method: c.method,
            outcome: c.outcome,
            note: c.note,
            promisedOn: c.promisedOn?.toISOString().slice(0, 10) ?? null,
            contactedAt: c.contactedAt.toISOString(),
          })),
      }));
    },
    async addContact(
      actor: Acting,
      id: string,
      input: { method: string; outcome: string; note?: string | undefined; promisedOn?: string | undefined },
    ) {
      const f = await inScope(actor, id);
      if (f.status !== 'open') throw new AppError('CONFLICT', 'the follow-up is closed');
      if (input.outcome === 'promised' && !input.promisedOn) {
        throw new AppError('VALIDATION', 'a promise needs the date promised', '/body/promisedOn');
      }
      return change(prisma, actor, async (tx, audit) => {
        const c = await tx.billingContact.create({
          data: {
            followUpId: id,
            estateId: f.estateId,
            staffId: actor.principal.accountId,
            method: input.method,
            outcome: input.outcome,
            note: input.note ?? null,
            promisedOn: input.promisedOn ? new Date(`${input.promisedOn}T00:00:00Z`) : null,
          },
        });
        await audit({
          action: 'billing.contact',
          entity: 'billing_follow_up',
          entityId: id,
          estateId: f.estateId,
          after: input,
        });
        return {
          id: c.id,
          followUpId: id,
          method: c.method,
          outcome: c.outcome,
          contactedAt: c.contactedAt.toISOString(),
        };
      });
    },
    async close(actor: Acting, id: string) {
      const f = await inScope(actor, id);
      if (f.status !== 'open') throw new AppError('CONFLICT', 'the follow-up is closed');
      await change(prisma, actor, async (tx, audit) => {
        await tx.billingFollowUp.update({ where: { id }, data: { status: 'closed', closedAt: new Date() } });
        await audit({
          action: 'billing.follow_up.close',
          entity: 'billing_follow_up',
          entityId: id,
          estateId: f.estateId,
        });
      });
      return { id, status: 'closed' };
    },
  };
}
export { dateOfDay };
