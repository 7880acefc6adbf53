// The billing domain: fee schedules, bill runs, notes, payment orders and their signed notifications, refunds
// and reconciliation. Every change commits with its audit row; money is fen (integers) throughout.
import { randomBytes, randomUUID } from 'node:crypto';
import { appendAudit, recordAudit } from '../../core/audit.js';
import type { Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { change, type Tx } from '../../core/tx.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { METERS, type Meter } from './calc.js';
import type { Channels } from './channels/config.js';
import {
  CHANNELS,
  type ChannelName,
  NotifyRejected,
  type NotifyRequest,
  type PaymentChannel,
  type StatementLine,
} from './channels/types.js';
import { allocate, lockAccount, settle, unallocate } from './ledger.js';
import { dateOfDay, dayNumber, localDate, n, PERIOD, parsePeriod } from './money.js';
import { authorizeBilling, type BillingAction } from './policy.js';
import { assertPeriodOpen, runBills } from './run.js';
import { BILLING_TOPICS } from './topics.js';

export type Acting = Actor & { principal: Principal };
const ORDER_TTL_MS = 30 * 60_000;

const billView = (b: {
  id: string;
  number: string;
  estateId: string;
  buildingId: string;
  householdId: string;
  period: string;
  kind: string;
  correctsBillId: string | null;
  reason: string | null;
  totalFen: bigint;
  paidFen: bigint;
  currency: string;
  issuedAt: Date;
  dueOn: Date;
  items?: {
    position: number;
    kind: string;
    description: string;
    basis: unknown;
    basisText: string;
    amountFen: bigint;
  }[];
}) => ({
  id: b.id,
  number: b.number,
  estateId: b.estateId,
  buildingId: b.buildingId,
  householdId: b.householdId,
  period: b.period,
  kind: b.kind,
  correctsBillId: b.correctsBillId,
  reason: b.reason,
  totalFen: n(b.totalFen),
  paidFen: n(b.paidFen),
  outstandingFen: b.kind === 'credit_note' ? 0 : n(b.totalFen) - n(b.paidFen),
  status:
    b.kind === 'credit_note'
      ? 'credit'
      : n(b.paidFen) >= n(b.totalFen)
        ? 'paid'
        : n(b.paidFen) > 0
          ? 'partially_paid'
          : 'unpaid',
  currency: b.currency,
  issuedAt: b.issuedAt.toISOString(),
  dueOn: b.dueOn.toISOString().slice(0, 10),
  ...(b.items
    ? {
        items: [...b.items]
          .sort((x, y) => x.position - y.position)
          .map((i) => ({
            kind: i.kind,
            description: i.description,
            basis: i.basis as Record<string, unknown>,
            basisText: i.basisText,
            amountFen: n(i.amountFen),
          })),
      }
    : {}),
});
export type BillView = ReturnType<typeof billView>;

const tradeNo = (prefix: string) =>
  `${prefix}${Date.now().toString(36).toUpperCase()}${randomBytes(6).toString('hex').toUpperCase()}`;

export function billingService(deps: CloudDeps, channels: Channels) {
  const { prisma } = deps;

  async function estateIn(actor: Acting, estateId: string, action: BillingAction) {
    const estate = await prisma.estate.findUnique({ where: { id: estateId } });
    if (!estate) throw notFound('Estate');
    authorizeBilling(actor.principal, action, { estateId }, 'Estate');
    return estate;
  }
  async function householdIn(actor: Acting, householdId: string, action: BillingAction) {
    const h = await prisma.household.findUnique({ where: { id: householdId }, include: { unit: true } });
    if (!h) throw notFound('Household');
    authorizeBilling(actor.principal, action, { estateId: h.estateId, householdId: h.id }, 'Household');
    return h;
  }
  async function billIn(actor: Acting, billId: string, action: BillingAction) {
    const b = await prisma.bill.findUnique({ where: { id: billId }, include: { items: true } });
    if (!b) throw notFound('Bill');
    authorizeBilling(actor.principal, action, { estateId: b.estateId, householdId: b.householdId }, 'Bill');
    return b;
  }
  function channel(name: string): PaymentChannel {
    const c = CHANNELS.includes(name as ChannelName) ? channels.byName.get(name as ChannelName) : undefined;
    if (!c) throw new AppError('NOT_FOUND', `payment channel ${name} is not configured`);
    return c;
  }

  async function noteIssued(tx: Tx, householdId: string, payload: Record<string, unknown>) {
    await tx.outboxEvent.create({
      data: { topic: BILLING_TOPICS.noteIssued, aggregateId: householdId, payload: payload as Prisma.InputJsonValue },
    });
  }

  return {
    channels,

    // — configuration —
    async settings(actor: Acting, estateId: string) {
      await estateIn(actor, estateId, 'billing:read');
      const s = await prisma.billingSettings.findUnique({ where: { estateId } });
      return settingsView(estateId, s);
    },
    async putSettings(actor: Acting, estateId: string, input: Partial<SettingsInput>) {
      await estateIn(actor, estateId, 'billing:configure');
      return change(prisma, actor, async (tx, audit) => {
        const before = await tx.billingSettings.findUnique({ where: { estateId } });
        const after = await tx.billingSettings.upsert({
          where: { estateId },
          create: { estateId, ...input },
          update: input,
        });
        await audit({ action: 'billing.settings', entity: 'estate', entityId: estateId, estateId, before, after });
        return settingsView(estateId, after);
      });
    },
    async feeItems(actor: Acting, estateId: string) {
      await estateIn(actor, estateId, 'billing:read');
      return (await prisma.feeItem.findMany({ where: { estateId }, orderBy: { code: 'asc' } })).map(feeItemView);
    },
    async addFeeItem(actor: Acting, estateId: string, input: FeeItemInput) {
      await estateIn(actor, estateId, 'billing:configure');
      const once = input.kind === 'one_off' || input.kind === 'ev_charging';
      if (once !== (input.cycle === 'once')) {
        throw new AppError(
          'VALIDATION',
          'one-off and EV charging items have cycle "once", the others a period',
          '/body/cycle',
        );
      }
      if (input.unitType && input.kind !== 'property') {
        throw new AppError('VALIDATION', 'only a property fee depends on the unit type', '/body/unitType');
      }
      return change(prisma, actor, async (tx, audit) => {
        if (await tx.feeItem.findUnique({ where: { estateId_code: { estateId, code: input.code } } })) {
          throw new AppError('CONFLICT', 'a fee item with this code exists', '/body/code');
        }
        const f = await tx.feeItem.create({
          data: {
            estateId,
            code: input.code,
            name: input.name,
            kind: input.kind,
            cycle: input.cycle,
            unitType: input.unitType ?? null,
            rateCentiFen: BigInt(input.rateCentiFen),
          },
        });
        await audit({
          action: 'billing.fee_item.create',
          entity: 'fee_item',
          entityId: f.id,
          estateId,
          after: feeItemView(f),
        });
        return feeItemView(f);
      });
    },
    async updateFeeItem(actor: Acting, id: string, input: { name?: string; rateCentiFen?: number; active?: boolean }) {
      const f = await prisma.feeItem.findUnique({ where: { id } });
      if (!f) throw notFound('Fee item');
      authorizeBilling(actor.principal, 'billing:configure', { estateId: f.estateId }, 'Fee item');
      return change(prisma, actor, async (tx, audit) => {
        const after = await tx.feeItem.update({
          where: { id },
          data: {
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.rateCentiFen !== undefined ? { rateCentiFen: BigInt(input.rateCentiFen) } : {}),
            ...(input.active !== undefined ? { active: input.active } : {}),
          },
        });
        await audit({
          action: 'billing.fee_item.update',
          entity: 'fee_item',
          entityId: id,
          estateId: f.estateId,
          before: feeItemView(f),
          after: feeItemView(after),
        });
        return feeItemView(after);
      });
    },
    async addDiscount(
      actor: Acting,
      estateId: string,
      input: { name: string; feeItemId?: string | undefined; minMonths?: number | undefined; percentBps: number },
    ) {
      await estateIn(actor, estateId, 'billing:configure');
      if (input.feeItemId) {
        const f = await prisma.feeItem.findUnique({ where: { id: input.feeItemId } });
        if (!f || f.estateId !== estateId) throw new AppError('NOT_FOUND', 'Fee item not found', '/body/feeItemId');
      }
      return change(prisma, actor, async (tx, audit) => {
        const d = await tx.billingDiscount.create({
          data: {
            estateId,
            name: input.name,
            feeItemId: input.feeItemId ?? null,
            minMonths: input.minMonths ?? 1,
            percentBps: input.percentBps,
          },
        });
        await audit({
          action: 'billing.discount.create',
          entity: 'billing_discount',
          entityId: d.id,
          estateId,
          after: d,
        });
        return { id: d.id, name: d.name, feeItemId: d.feeItemId, minMonths: d.minMonths, percentBps: d.percentBps };
      });
    },
    async setUnitType(actor: Acting, unitId: string, unitType: string) {
      const u = await prisma.unit.findUnique({ where: { id: unitId } });
      if (!u) throw notFound('Unit');
      authorizeBilling(actor.principal, 'billing:configure', { estateId: u.estateId }, 'Unit');
      await change(prisma, actor, async (tx, audit) => {
        const before = await tx.billingUnitType.findUnique({ where: { unitId } });
        await tx.billingUnitType.upsert({
          where: { unitId },
          create: { unitId, estateId: u.estateId, unitType },
          update: { unitType },
        });
        await audit({
          action: 'billing.unit_type',
          entity: 'unit',
          entityId: unitId,
          estateId: u.estateId,
          before: { unitType: before?.unitType ?? 'residential' },
          after: { unitType },
        });
      });
      return { unitId, unitType };
    },

    // — meter readings and charges —
    async recordReadings(
      actor: Acting | Actor,
      estateId: string,
      readings: { householdId: string; meter: Meter; period: string; readingMilli: number }[],
      source: 'entered' | 'import' | 'telemetry',
    ) {
      if (actor.principal) await estateIn(actor as Acting, estateId, 'billing:readings');
      const ids = [...new Set(readings.map((r) => r.householdId))];
      const found = await prisma.household.findMany({ where: { id: { in: ids }, estateId }, select: { id: true } });
      if (found.length !== ids.length) throw new AppError('NOT_FOUND', 'Household not found', '/body/readings');
      return change(prisma, actor, async (tx, audit) => {
        for (const [i, r] of readings.entries()) {
          parsePeriod(r.period);
          await assertPeriodOpen(tx, estateId, r.period);
          // A meter only counts up: a reading below the one before (or above the one after) is a typo or a swap.
          const [neighbours] = await tx.$queryRawUnsafe<{ before: bigint | null; after: bigint | null }[]>(
            `SELECT (SELECT max(reading_milli) FROM meter_readings WHERE household_id = $1::uuid AND meter = $2 AND period < $3) AS before,
                    (SELECT min(reading_milli) FROM meter_readings WHERE household_id = $1::uuid AND meter = $2 AND period > $3) AS after`,
            r.householdId,
            r.meter,
            r.period,
          );
          if (
            (neighbours?.before != null && r.readingMilli < n(neighbours.before)) ||
            (neighbours?.after != null && r.readingMilli > n(neighbours.after))
          ) {
            throw new AppError('VALIDATION', `reading ${i + 1} goes backwards`, `/body/readings/${i}/readingMilli`);
          }
          const exists = await tx.meterReading.findUnique({
            where: { householdId_meter_period: { householdId: r.householdId, meter: r.meter, period: r.period } },
          });
          if (exists) {
            if (await tx.bill.findFirst({ where: { householdId: r.householdId, period: r.period, kind: 'bill' } })) {
              throw new AppError('CONFLICT', `reading ${i + 1}: the period is billed; correct it with a note`);
            }
            await tx.meterReading.update({
              where: { id: exists.id },
              data: { readingMilli: BigInt(r.readingMilli), source, recordedAt: new Date() },
            });
          } else {
            await tx.meterReading.create({
              data: {
                estateId,
                ...r,
                readingMilli: BigInt(r.readingMilli),
                source,
                recordedBy: actor.principal?.accountId ?? null,
              },
            });
          }
        }
        await audit({
          action: 'billing.readings',
          entity: 'estate',
          entityId: estateId,
          estateId,
          after: { source, count: readings.length, readings },
        });
        return { recorded: readings.length };
      });
    },
    /** CSV `household_id,meter,period,reading` (reading in m³/kWh with up to 3 decimals). */
    async importReadings(actor: Acting, estateId: string, csv: string) {
      const rows = csv.split(/\r?\n/).filter((l) => l.trim());
      if (rows[0]?.replace(/\s/g, '') !== 'household_id,meter,period,reading') {
        throw new AppError('VALIDATION', 'header must be household_id,meter,period,reading', '/body/csv');
      }
      const readings = rows.slice(1).map((line, i) => {
        const [householdId = '', meter = '', period = '', reading = ''] = line.split(',').map((x) => x.trim());
        const m = /^(\d{1,12})(?:\.(\d{1,3}))?$/.exec(reading);
        if (!/^[0-9a-f-]{36}$/i.test(householdId) || !METERS.includes(meter as Meter) || !PERIOD.test(period) || !m) {
          throw new AppError('VALIDATION', `line ${i + 2} is malformed`, '/body/csv');
        }
        return {
          householdId,
          meter: meter as Meter,
          period,
          readingMilli: Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0')),
        };
      });
      return this.recordReadings(actor, estateId, readings, 'import');
    },
    async addCharge(
      actor: Acting | Actor,
      householdId: string,
      input: { feeItemId: string; description: string; amountFen: number; sourceRef?: string | undefined },
    ) {
      const h = await prisma.household.findUnique({ where: { id: householdId } });
      if (!h) throw notFound('Household');
      if (actor.principal) authorizeBilling(actor.principal, 'billing:charge', { estateId: h.estateId }, 'Household');
      const f = await prisma.feeItem.findUnique({ where: { id: input.feeItemId } });
      if (!f || f.estateId !== h.estateId) throw new AppError('NOT_FOUND', 'Fee item not found', '/body/feeItemId');
      if (f.cycle !== 'once')
        throw new AppError('VALIDATION', 'charges are for one-off and EV charging items', '/body/feeItemId');
      return change(prisma, actor, async (tx, audit) => {
        if (
          input.sourceRef &&
          (await tx.billingCharge.findFirst({ where: { feeItemId: f.id, sourceRef: input.sourceRef } }))
        ) {
          throw new AppError('CONFLICT', 'this source was charged already', '/body/sourceRef');
        }
        const c = await tx.billingCharge.create({
          data: {
            estateId: h.estateId,
            householdId,
            feeItemId: f.id,
            description: input.description,
            amountFen: BigInt(input.amountFen),
            sourceRef: input.sourceRef ?? null,
          },
        });
        await audit({
          action: 'billing.charge',
          entity: 'billing_charge',
          entityId: c.id,
          estateId: h.estateId,
          after: c,
        });
        return { id: c.id, householdId, feeItemId: f.id, amountFen: input.amountFen, description: c.description };
      });
    },

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
      const log = async (
        outcome: 'credited' | 'duplicate' | 'ignored' | 'rejected',
        reason: string | null,
        v?: Partial<Verified>,
      ) => {
        await prisma.paymentNotification.create({
          data: {
            channel: ch.name,
            outcome,
            reason,
            outTradeNo: v?.outTradeNo ?? null,
            channelTxnId: v?.channelTxnId ?? null,
            amountFen: v?.amountFen !== undefined && Number.isSafeInteger(v.amountFen) ? BigInt(v.amountFen) : null,
            body: req.body.slice(0, 20_000),
            headers: Object.fromEntries(
              Object.entries(req.headers)
                .filter(([k]) => /^(wechatpay-|x-sandbox-|content-type)/i.test(k))
                .map(([k, v]) => [k, String(v)]),
            ),
          },
        });
      };
      const reject = async (reason: string, v?: Partial<Verified>) => {
        await log('rejected', reason, v);
        await recordAudit(prisma, systemLike(ch.name), {
          action: 'billing.notification',
          entity: 'payment_order',
          entityId: v?.outTradeNo ?? null,
          outcome: 'denied',
          after: { channel: ch.name, reason, channelTxnId: v?.channelTxnId ?? null, amountFen: v?.amountFen ?? null },
        });
        return { ok: false, outcome: 'rejected' as const, reason, ack: ch.ack(false) };
      };
      let v: Verified;
      try {
        v = ch.verifyNotification(req, now);
      } catch (err) {
        if (err instanceof NotifyRejected) return reject(err.message);
        return reject('malformed notification');
      }
      type Outcome = { outcome: 'credited' | 'duplicate' | 'ignored' | 'rejected'; reason: string | null };
      const result = await prisma.$transaction(async (tx): Promise<Outcome> => {
        const [order] = await tx.$queryRawUnsafe<
          {
            id: string;
            estate_id: string;
            household_id: string;
            channel: string;
            amount_fen: bigint;
            currency: string;
            status: string;
            bill_ids: string[];
          }[]
        >(
          `SELECT id::text, estate_id::text, household_id::text, channel, amount_fen, currency, status, bill_ids
           FROM payment_orders WHERE out_trade_no = $1 FOR UPDATE`,
          v.outTradeNo,
        );
        if (!order) return { outcome: 'rejected', reason: 'unknown order' };
        if (order.channel !== ch.name) return { outcome: 'rejected', reason: 'channel mismatch' };
        if (v.currency !== order.currency) return { outcome: 'rejected', reason: 'currency mismatch' };
        if (v.amountFen !== n(order.amount_fen)) return { outcome: 'rejected', reason: 'amount mismatch' };
        const same = await tx.payment.findUnique({
          where: { channel_channelTxnId: { channel: ch.name, channelTxnId: v.channelTxnId } },
        });
        if (same)
          return { outcome: 'duplicate', reason: same.orderId === order.id ? null : 'transaction of another order' };
        // Not (yet) paid, or a later state arriving first: nothing to credit; the success will come.
        if (!v.succeeded) return { outcome: 'ignored', reason: `state ${v.state}` };
        if (order.status === 'paid')
          return { outcome: 'rejected', reason: 'order already paid by another transaction' };
        const actor = systemLike(ch.name);
        const payment = await tx.payment.create({
          data: {
            estateId: order.estate_id,
            householdId: order.household_id,
            orderId: order.id,
            channel: ch.name,
            channelTxnId: v.channelTxnId,
            amountFen: BigInt(v.amountFen),
            currency: v.currency,
            paidAt: v.paidAt,
          },
        });
        await tx.paymentOrder.update({ where: { id: order.id }, data: { status: 'paid', paidAt: v.paidAt } });
        const credit = await lockAccount(tx, order.household_id, order.estate_id);
        const left = await settle(tx, order.household_id, credit + v.amountFen, 'payment', payment.id, order.bill_ids);
        await tx.outboxEvent.create({
          data: {
            topic: BILLING_TOPICS.paymentReceived,
            aggregateId: order.household_id,
            payload: { paymentId: payment.id, amountFen: v.amountFen, channel: ch.name, creditFen: left },
          },
        });
        await appendAudit(tx, actor, {
          action: 'billing.payment',
          entity: 'payment',
          entityId: payment.id,
          estateId: order.estate_id,
          after: {
            outTradeNo: v.outTradeNo,
            channelTxnId: v.channelTxnId,
            amountFen: v.amountFen,
            creditLeftFen: left,
          },
        });
        return { outcome: 'credited', reason: null };
      });
      if (result.outcome === 'rejected') return reject(result.reason ?? 'rejected', v);
      await log(result.outcome, result.reason, v);
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

type Verified = ReturnType<PaymentChannel['verifyNotification']>;
const systemLike = (channel: string): Actor => ({
  principal: null,
  system: `payments:${channel}`,
  requestId: null,
  ip: null,
});

export interface SettingsInput {
  dueDays: number;
  remindDaysBefore: number;
  lateFeeBpsPerDay: number;
  lateFeeGraceDays: number;
  lateFeeCapBps: number;
}
function settingsView(estateId: string, s: Partial<SettingsInput> | null): SettingsInput & { estateId: string } {
  return {
    estateId,
    dueDays: s?.dueDays ?? 15,
    remindDaysBefore: s?.remindDaysBefore ?? 3,
    lateFeeBpsPerDay: s?.lateFeeBpsPerDay ?? 5,
    lateFeeGraceDays: s?.lateFeeGraceDays ?? 0,
    lateFeeCapBps: s?.lateFeeCapBps ?? 10_000,
  };
}

export interface FeeItemInput {
  code: string;
  name: string;
  kind: 'property' | 'parking' | 'water' | 'electricity' | 'gas' | 'one_off' | 'ev_charging';
  cycle: 'monthly' | 'quarterly' | 'yearly' | 'once';
  unitType?: string | undefined;
  rateCentiFen: number;
}
const feeItemView = (f: {
  id: string;
  estateId: string;
  code: string;
  name: string;
  kind: string;
  cycle: string;
  unitType: string | null;
  rateCentiFen: bigint;
  active: boolean;
}) => ({
  id: f.id,
  estateId: f.estateId,
  code: f.code,
  name: f.name,
  kind: f.kind,
  cycle: f.cycle,
  unitType: f.unitType,
  rateCentiFen: n(f.rateCentiFen),
  active: f.active,
});
const orderView = (o: {
  id: string;
  householdId: string;
  channel: string;
  outTradeNo: string;
  amountFen: bigint;
  currency: string;
  status: string;
  expiresAt: Date;
}) => ({
  id: o.id,
  householdId: o.householdId,
  channel: o.channel,
  outTradeNo: o.outTradeNo,
  amountFen: n(o.amountFen),
  currency: o.currency,
  status: o.status,
  expiresAt: o.expiresAt.toISOString(),
});
export const paymentView = (p: {
  id: string;
  householdId: string;
  channel: string;
  channelTxnId: string;
  amountFen: bigint;
  refundedFen: bigint;
  currency: string;
  paidAt: Date;
}) => ({
  id: p.id,
  householdId: p.householdId,
  channel: p.channel,
  channelTxnId: p.channelTxnId,
  amountFen: n(p.amountFen),
  refundedFen: n(p.refundedFen),
  currency: p.currency,
  paidAt: p.paidAt.toISOString(),
});
export { dateOfDay };
