import type { generateDemo } from '@estate/cloud';
import { prng } from './random.js';

/** The pilot-size demo data (issue 4): 12 estates, 8,000 households, the demo generator's fixed seed. */
export const SEED = { estates: 12, households: 8_000, seed: 20_240_601 } as const;

export type DemoEstate = ReturnType<typeof generateDemo>[number];

export interface QueryMix {
  /** Search paths (with query string), shuffled; how many of each kind. */
  search: string[];
  kinds: Record<'name' | 'phone' | 'unit' | 'name_unit', number>;
  /** Household detail paths, one per household of the estate, shuffled. */
  household: string[];
}

const q = (params: Record<string, string>) => `/api/owners/search?${new URLSearchParams(params).toString()}`;

/**
 * Questions a front desk asks of the owner registry of its estate (staff see only their own estate), built from
 * the same generator that seeded the database, so they hit real rows:
 * - name fragments (45 %): a surname, a given-name character, surname + first given character, a whole name,
 *   and some that match nobody;
 * - whole phone numbers (20 %; phones are stored encrypted, so only a whole number can be looked up), a fifth
 *   of them unknown;
 * - 房号 prefixes (30 %): building "3-", stair "3-1-", floor "3-1-05", one unit "3-1-0502";
 * - a name fragment within a building (5 %).
 * Duplicates are removed, so `n` is an upper bound; the order is shuffled.
 */
export function queryMix(estate: DemoEstate, n: number, seed = 7): QueryMix {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const persons = estate.households.flatMap((h) => h.persons);
  const phones = persons.flatMap((p) => (p.phone ? [p.phone] : []));
  const units = estate.households.map((h) => estate.units[h.unitIndex]?.number ?? '1-1-0101');
  const nameFragment = (): string => {
    const name = pick(persons).name;
    const r = rnd();
    if (r < 0.3) return name.slice(0, 1);
    if (r < 0.55) return name.charAt(1 + Math.floor(rnd() * (name.length - 1)));
    if (r < 0.8) return name.slice(0, 2);
    if (r < 0.95) return name;
    return `${name.slice(0, 1)}${pick(['曌', '龘', '靐', '齉'])}`;
  };
  const unitPrefix = (): string => {
    const [b, s, room] = pick(units).split('-') as [string, string, string];
    const r = rnd();
    if (r < 0.2) return `${b}-`;
    if (r < 0.4) return `${b}-${s}-`;
    if (r < 0.7) return `${b}-${s}-${room.slice(0, 2)}`;
    return `${b}-${s}-${room}`;
  };
  const kinds = { name: 0, phone: 0, unit: 0, name_unit: 0 };
  const seen = new Set<string>();
  for (let i = 0; i < n * 4 && seen.size < n; i++) {
    const r = rnd();
    let path: string;
    let kind: keyof typeof kinds;
    if (r < 0.45) [path, kind] = [q({ name: nameFragment() }), 'name'];
    else if (r < 0.65) {
      const phone = rnd() < 0.8 ? pick(phones) : `139${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`;
      [path, kind] = [q({ phone }), 'phone'];
    } else if (r < 0.95) [path, kind] = [q({ unit: unitPrefix() }), 'unit'];
    else [path, kind] = [q({ name: nameFragment(), unit: `${pick(units).split('-')[0]}-` }), 'name_unit'];
    if (seen.has(path)) continue;
    seen.add(path);
    kinds[kind]++;
  }
  const household = estate.households.map((h) => `/api/households/${h.id}`);
  return { search: shuffle([...seen], rnd), kinds, household: shuffle(household, rnd) };
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
