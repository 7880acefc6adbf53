// Deterministic JSON (keys sorted, no whitespace) so that a hash over a record does not depend on the key
// order a database (jsonb reorders keys) or an object literal happens to produce.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A plain JSON value of anything (Dates become ISO strings, bigints strings), for jsonb columns. */
export function toJson(value: unknown): Json {
  return JSON.parse(canonicalJson(value)) as Json;
}
