import type { Actor } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { change } from '../../core/tx.js';
import { METERS, type Meter } from './calc.js';
import { n, PERIOD, parsePeriod } from './money.js';
import { authorizeBilling } from './policy.js';
import { assertPeriodOpen } from './run.js';
import type { Acting, BillingScope } from './scope.js';
import { type FeeItemInput, feeItemView, type SettingsInput, settingsView } from './views.js';

export function setupOps(scope: BillingScope) {
  const { prisma, estateIn } = scope;
  return {
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
  };
}
