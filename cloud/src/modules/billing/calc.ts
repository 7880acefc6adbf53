// What a household owes for one period, line by line, each line with its basis (area × rate, reading
// difference × price). Pure: the bill run feeds it rows and writes what it returns.
import {
  addMonths,
  centi,
  dateOfDay,
  dayNumber,
  milli,
  mulDiv,
  parsePeriod,
  periodStart,
  priceYuan,
  yuan,
} from './money.js';

export type FeeKind = 'property' | 'parking' | 'water' | 'electricity' | 'gas' | 'one_off' | 'ev_charging';
export type Cycle = 'monthly' | 'quarterly' | 'yearly' | 'once';
export const METERS = ['water', 'electricity', 'gas'] as const;
export type Meter = (typeof METERS)[number];
const METER_UNIT: Record<Meter, string> = { water: 'm³', electricity: 'kWh', gas: 'm³' };
const CYCLE_MONTHS: Record<Exclude<Cycle, 'once'>, number> = { monthly: 1, quarterly: 3, yearly: 12 };

export interface FeeItemRow {
  id: string;
  code: string;
  name: string;
  kind: FeeKind;
  cycle: Cycle;
  unitType: string | null;
  rateCentiFen: number;
}
export interface DiscountRow {
  id: string;
  name: string;
  feeItemId: string | null;
  minMonths: number;
  percentBps: number;
}
export interface HouseholdRow {
  householdId: string;
  areaCentiSqm: number;
  unitType: string;
  parkingSpaces: number;
  /** Estate-local dates; movedOut exclusive (the day they leave is not billed). */
  movedIn: string;
  movedOut: string | null;
  readings: Partial<Record<Meter, { previous: number; current: number }>>;
  charges: { id: string; feeItemId: string; description: string; amountFen: number; kind: FeeKind }[];
}
export interface Line {
  feeItemId: string | null;
  kind: FeeKind | 'discount';
  description: string;
  basis: Record<string, string | number>;
  basisText: string;
  amountFen: number;
}

/** The months a fee item bills in a period: monthly every month, quarterly in Jan/Apr/Jul/Oct, yearly in Jan. */
export function coverage(cycle: Cycle, period: string): { from: string; to: string; months: number } | null {
  if (cycle === 'once') return null;
  const months = CYCLE_MONTHS[cycle];
  const { month } = parsePeriod(period);
  if ((month - 1) % months !== 0) return null;
  return { from: periodStart(period), to: periodStart(addMonths(period, months)), months };
}

/** Days of [from, to) the household lived there: proration on move-in and move-out. */
export function occupancy(h: Pick<HouseholdRow, 'movedIn' | 'movedOut'>, from: string, to: string) {
  const span = dayNumber(to) - dayNumber(from);
  const start = Math.max(dayNumber(from), dayNumber(h.movedIn));
  const end = Math.min(dayNumber(to), h.movedOut ? dayNumber(h.movedOut) : Number.POSITIVE_INFINITY);
  return { days: Math.max(0, end - start), span, start: dateOfDay(start) };
}

export function linesFor(h: HouseholdRow, items: FeeItemRow[], discounts: DiscountRow[], period: string): Line[] {
  const lines: Line[] = [];
  for (const item of items) {
    if (item.kind === 'property' || item.kind === 'parking') {
      const cov = coverage(item.cycle, period);
      if (!cov) continue;
      if (item.kind === 'property' && item.unitType && item.unitType !== h.unitType) continue;
      const occ = occupancy(h, cov.from, cov.to);
      if (occ.days === 0) continue;
      const prorated = occ.days < occ.span;
      const quantity = item.kind === 'property' ? h.areaCentiSqm : h.parkingSpaces * 100;
      if (quantity === 0) continue;
      // area (0.01 m²) × rate (0.0001 yuan) = 10⁻⁶ yuan = 10⁻⁴ fen
      const amountFen = mulDiv([quantity, item.rateCentiFen, cov.months, occ.days], 10_000 * occ.span);
      const what = item.kind === 'property' ? `${centi(quantity)} m²` : `${h.parkingSpaces} 个车位`;
      const per = item.kind === 'property' ? '/m²·月' : '/个·月';
      const days = prorated ? ` × ${occ.days}/${occ.span} 天` : '';
      lines.push({
        feeItemId: item.id,
        kind: item.kind,
        description: `${item.name} ${cov.from} 至 ${dateOfDay(dayNumber(cov.to) - 1)}`,
        basis: {
          ...(item.kind === 'property' ? { areaSqm: centi(quantity) } : { spaces: h.parkingSpaces }),
          rateYuan: priceYuan(item.rateCentiFen),
          months: cov.months,
          ...(prorated ? { daysBilled: occ.days, daysInCycle: occ.span, from: occ.start } : {}),
        },
        basisText: `${what} × ¥${priceYuan(item.rateCentiFen)}${per} × ${cov.months} 月${days} = ¥${yuan(amountFen)}`,
        amountFen,
      });
      const discount = bestDiscount(discounts, item.id, cov.months);
      if (discount && amountFen > 0) {
        const off = mulDiv([amountFen, discount.percentBps], 10_000);
        if (off > 0)
          lines.push({
            feeItemId: item.id,
            kind: 'discount',
            description: discount.name,
            basis: { ofFen: amountFen, percent: (discount.percentBps / 100).toFixed(2) },
            basisText: `¥${yuan(amountFen)} × ${(discount.percentBps / 100).toFixed(2)}% = -¥${yuan(off)}`,
            amountFen: -off,
          });
      }
    } else if (item.kind === 'water' || item.kind === 'electricity' || item.kind === 'gas') {
      const r = h.readings[item.kind];
      if (!r || r.current <= r.previous) continue;
      const usage = r.current - r.previous;
      // reading (0.001 unit) × price (0.0001 yuan) = 10⁻⁷ yuan = 10⁻⁵ fen
      const amountFen = mulDiv([usage, item.rateCentiFen], 100_000);
      const unit = METER_UNIT[item.kind];
      lines.push({
        feeItemId: item.id,
        kind: item.kind,
        description: `${item.name} ${period}`,
        basis: {
          previous: milli(r.previous),
          current: milli(r.current),
          usage: milli(usage),
          unit,
          priceYuan: priceYuan(item.rateCentiFen),
        },
        basisText: `(${milli(r.current)} − ${milli(r.previous)}) ${unit} × ¥${priceYuan(item.rateCentiFen)}/${unit} = ¥${yuan(amountFen)}`,
        amountFen,
      });
    }
  }
  for (const c of h.charges) {
    lines.push({
      feeItemId: c.feeItemId,
      kind: c.kind,
      description: c.description,
      basis: { amountYuan: yuan(c.amountFen) },
      basisText: `¥${yuan(c.amountFen)}`,
      amountFen: c.amountFen,
    });
  }
  return lines;
}

function bestDiscount(discounts: DiscountRow[], feeItemId: string, months: number): DiscountRow | undefined {
  return discounts
    .filter((d) => (d.feeItemId === null || d.feeItemId === feeItemId) && months >= d.minMonths)
    .sort((a, b) => b.percentBps - a.percentBps)[0];
}
