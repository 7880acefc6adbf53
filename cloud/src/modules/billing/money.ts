// Money is integer fen (分) and unit prices integer centi-fen (0.0001 yuan): exact arithmetic in BigInt, one
// rounding per bill line (half up, as 四舍五入 on a printed bill), never floating point.
import { AppError } from '../../core/errors.js';

/** a × b × … / den, rounded half away from zero. */
export function mulDiv(factors: readonly (bigint | number)[], den: bigint | number): number {
  const d = BigInt(den);
  const num = factors.reduce<bigint>((p, f) => p * BigInt(f), 1n);
  const neg = num < 0n;
  const abs = neg ? -num : num;
  const q = (abs * 2n + d) / (2n * d);
  const out = Number(neg ? -q : q);
  if (!Number.isSafeInteger(out)) throw new AppError('BAD_REQUEST', 'amount out of range');
  return out;
}

/** A bigint column as a JS number (fen amounts stay far below 2^53). */
export const n = (v: bigint | number | null | undefined): number => (v == null ? 0 : Number(v));

/** 12345 → "123.45" */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** "123.45" → 12345; refuses more than two decimals rather than rounding money it was given. */
export function fenOf(yuanText: string): number {
  const m = /^(-?)(\d{1,12})(?:\.(\d{1,2}))?$/.exec(yuanText.trim());
  if (!m) throw new AppError('BAD_REQUEST', `not an amount in yuan: ${yuanText.slice(0, 20)}`);
  const fen = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}

/** Centi-fen price as yuan with four decimals: 23500 → "2.3500". */
export const priceYuan = (centiFen: number): string =>
  `${Math.floor(centiFen / 10_000)}.${String(centiFen % 10_000).padStart(4, '0')}`;

/** Thousandths as a decimal: 12500 → "12.500". */
export const milli = (v: number): string => `${Math.floor(v / 1000)}.${String(v % 1000).padStart(3, '0')}`;
export const centi = (v: number): string => `${Math.floor(v / 100)}.${String(v % 100).padStart(2, '0')}`;

// Periods are calendar months 'YYYY-MM' in the estate's time zone.
export const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export function parsePeriod(p: string): { year: number; month: number } {
  if (!PERIOD.test(p)) throw new AppError('VALIDATION', 'period must be YYYY-MM', '/body/period');
  return { year: Number(p.slice(0, 4)), month: Number(p.slice(5, 7)) };
}

export function addMonths(p: string, k: number): string {
  const { year, month } = parsePeriod(p);
  const idx = year * 12 + (month - 1) + k;
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

/** Days since 1970-01-01 of a calendar date 'YYYY-MM-DD'. */
export const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;
export const dateOfDay = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);
export const periodStart = (p: string): string => `${p}-01`;

/** The calendar date of an instant in a time zone. */
export function localDate(at: Date, timeZone: string): string {
  return at.toLocaleDateString('en-CA', { timeZone });
}
