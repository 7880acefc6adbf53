// Choosing a technician for an order: pure, so the decision can be tested and benchmarked without a database.
// Only on-duty technicians inside their shift with the category's skill are candidates; among them the lowest
// cost wins, cost = metres away + a penalty per open order, so a technician 200 m further but idle beats a
// near one with a queue. The winner's reason is written on the assignment for staff and for the audit log.
import { CATEGORIES, type Category } from './categories.js';

export interface Point {
  latE6: number;
  lngE6: number;
}

export interface Candidate {
  id: string;
  /** The technician's account (whom an assignment notifies), when known. */
  accountId?: string;
  name: string;
  skills: readonly string[];
  onDuty: boolean;
  shiftStartMin: number;
  shiftEndMin: number;
  /** Last known location, or the base building's position, or null. */
  position: Point | null;
  openOrders: number;
}

export interface DispatchInput {
  category: Category;
  /** Where the order is (its building), or null when unknown. */
  at: Point | null;
  /** Estate-local minute of the day. */
  minuteOfDay: number;
  exclude?: ReadonlySet<string>;
}

export interface Choice {
  technicianId: string;
  /** The technician's account and name, when the choice already knows them (saves reading the technician). */
  accountId?: string;
  name?: string;
  distanceM: number | null;
  openOrders: number;
  reason: string;
}

/** Metres of detour one open order is worth. */
export const WORKLOAD_PENALTY_M = 400;
/** Nobody is given more than this many open orders by auto-dispatch. */
export const MAX_OPEN_ORDERS = 8;

const EARTH_M = 6_371_000;
const RAD = Math.PI / 180 / 1e6;

export function distanceM(a: Point, b: Point): number {
  const dLat = (b.latE6 - a.latE6) * RAD;
  const dLng = (b.lngE6 - a.lngE6) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latE6 * RAD) * Math.cos(b.latE6 * RAD) * Math.sin(dLng / 2) ** 2;
  return Math.round(2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h))));
}

export function inShift(c: Pick<Candidate, 'shiftStartMin' | 'shiftEndMin'>, minute: number): boolean {
  if (c.shiftStartMin === c.shiftEndMin) return true; // round the clock
  return c.shiftStartMin < c.shiftEndMin
    ? minute >= c.shiftStartMin && minute < c.shiftEndMin
    : minute >= c.shiftStartMin || minute < c.shiftEndMin;
}

export function describe(choice: { distanceM: number | null; openOrders: number }, skill: string): string {
  const where = choice.distanceM === null ? 'distance unknown' : `${choice.distanceM} m away`;
  return `${where}, ${skill}, ${choice.openOrders} open order${choice.openOrders === 1 ? '' : 's'}`;
}

export function chooseTechnician(input: DispatchInput, candidates: readonly Candidate[]): Choice | null {
  const skill = CATEGORIES[input.category].skill;
  let best: { c: Candidate; cost: number; distanceM: number | null } | null = null;
  for (const c of candidates) {
    if (!c.onDuty || input.exclude?.has(c.id) || c.openOrders >= MAX_OPEN_ORDERS) continue;
    if (!c.skills.includes(skill) || !inShift(c, input.minuteOfDay)) continue;
    const d = input.at && c.position ? distanceM(input.at, c.position) : null;
    // Unknown distance counts as 1 km: known-near beats unknown, unknown beats known-far.
    const cost = (d ?? 1_000) + c.openOrders * WORKLOAD_PENALTY_M;
    if (!best || cost < best.cost || (cost === best.cost && c.id < best.c.id)) best = { c, cost, distanceM: d };
  }
  if (!best) return null;
  const { c, distanceM: d } = best;
  return {
    technicianId: c.id,
    ...(c.accountId ? { accountId: c.accountId, name: c.name } : {}),
    distanceM: d,
    openOrders: c.openOrders,
    reason: describe({ distanceM: d, openOrders: c.openOrders }, skill),
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Minute of the day in an estate's time zone (shifts are local, the clock is UTC). */
export function localMinute(at: Date, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return hour * 60 + minute;
}
