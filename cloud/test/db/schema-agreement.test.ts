// schema.prisma and the migrated database must describe the same tables and columns (name, type, nullability):
// Prisma builds its queries from the former, the database enforces the latter.
// The rule for what is Prisma's: every table in the current schema (public), except schema_migrations. Tables in
// other schemas are not: the telemetry time series live in the `telemetry` schema (src/telemetry/schema.ts makes
// them as TimescaleDB hypertables or native partitions, partitions included, and TimescaleDB keeps its chunks and
// aggregates in its own schemas), so the test applies that module too and checks that it added nothing here.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/driver.js';
import { migrate } from '../../src/db/migrate.js';
import { applyTelemetrySchema } from '../../src/telemetry/schema.js';
import { type TestDatabase, testDatabase } from '../helpers/db.js';

const SCALARS: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  DateTime: 'timestamp with time zone',
  Json: 'jsonb',
};
const NATIVE: Record<string, string> = { '@db.Uuid': 'uuid', '@db.Date': 'date' };

type Columns = Record<string, Record<string, string>>;

/** Tables and columns declared in schema.prisma (scalar fields only; relations are not columns). */
export function prismaColumns(schema: string): Columns {
  const out: Columns = {};
  for (const [, , body] of schema.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)) {
    if (!body) continue;
    const table = /@@map\("(\w+)"\)/.exec(body)?.[1];
    if (!table) throw new Error('every model needs @@map');
    const columns: Record<string, string> = {};
    out[table] = columns;
    for (const line of body.split('\n')) {
      const m = /^\s+(\w+)\s+(\w+)(\?|\[\])?(.*)$/.exec(line);
      if (!m || line.trim().startsWith('//') || line.trim().startsWith('@@')) continue;
      const [, field, type, modifier, attrs = ''] = m;
      if (!type || !SCALARS[type] || modifier === '[]') continue;
      const column = /@map\("(\w+)"\)/.exec(attrs)?.[1] ?? field ?? '';
      const native = Object.entries(NATIVE).find(([k]) => attrs.includes(k))?.[1];
      columns[column] = `${native ?? SCALARS[type]}${modifier === '?' ? ' null' : ''}`;
    }
  }
  return out;
}

let tdb: TestDatabase;
let db: Database;
beforeAll(async () => {
  tdb = await testDatabase();
  db = await openDatabase({ url: tdb.url });
  await migrate(db.driver);
  await applyTelemetrySchema(db.driver, { retentionDays: 30 });
}, 90_000);
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});

describe('schema.prisma and the migrations agree', () => {
  it('on every table, column, type and nullability', async () => {
    const rows = await db.driver.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
    }>(`
      SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`);
    const database: Columns = {};
    for (const r of rows) {
      const columns = database[r.table_name] ?? {};
      database[r.table_name] = columns;
      columns[r.column_name] = `${r.data_type}${r.is_nullable === 'YES' ? ' null' : ''}`;
    }
    const prisma = prismaColumns(readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8'));
    expect(Object.keys(prisma).length).toBeGreaterThan(10);
    expect(database).toEqual(prisma);
  });

  it('leaves the telemetry tables and their partitions out, by their schema', async () => {
    const outside = await db.driver.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'telemetry'`,
    );
    expect(outside[0]?.n).toBeGreaterThan(3);
  });
});
