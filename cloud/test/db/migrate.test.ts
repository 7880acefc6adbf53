import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/driver.js';
import { MigrationError, migrate, readMigrations } from '../../src/db/migrate.js';
import { type TestDatabase, testDatabase } from '../helpers/db.js';

let tdb: TestDatabase;
let db: Database;
beforeAll(async () => {
  tdb = await testDatabase();
  db = await openDatabase({ url: tdb.url });
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});

describe('migration runner', () => {
  it('applies every migration once, records checksums, and is idempotent', async () => {
    const all = readMigrations();
    expect(await migrate(db.driver)).toEqual(all.map((m) => m.name));
    expect(await migrate(db.driver)).toEqual([]);
    const rows = await db.driver.query<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM schema_migrations ORDER BY name',
    );
    expect(rows).toEqual(all.map((m) => ({ name: m.name, checksum: m.checksum })));
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    const changed = readMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
    await expect(migrate(db.driver, changed)).rejects.toThrow(MigrationError);
  });

  it('refuses when an applied migration file is missing', async () => {
    await expect(migrate(db.driver, readMigrations().slice(1))).rejects.toThrow(/file is missing/);
  });

  it('rolls back a failing migration entirely', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-mig-'));
    for (const m of readMigrations())
      writeFileSync(join(dir, m.name), readFileSync(join(import.meta.dirname, '../../migrations', m.name)));
    writeFileSync(join(dir, '9998_ok.sql'), 'CREATE TABLE t_ok (id int);');
    writeFileSync(join(dir, '9999_bad.sql'), 'CREATE TABLE t_bad (id int); SELECT no_such_function();');
    await expect(migrate(db.driver, readMigrations(dir))).rejects.toThrow();
    const tables = await db.driver.query(
      "SELECT 1 FROM information_schema.tables WHERE table_name IN ('t_ok', 't_bad')",
    );
    expect(tables).toEqual([]);
    expect(await db.driver.query("SELECT 1 FROM schema_migrations WHERE name LIKE '999%'")).toEqual([]);
  });
});
