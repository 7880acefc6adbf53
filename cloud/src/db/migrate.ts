// The one migration runner (tests, `npm start`, production). Migrations are the SQL files in cloud/migrations,
// applied in name order inside a single transaction under an advisory lock, so two instances starting together
// cannot both apply them. Each applied file is recorded with its sha256; a recorded file whose content has since
// changed is refused rather than silently diverging from what production ran.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SqlDriver } from './driver.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
// Any fixed number works; it only has to be the same in every instance of the cloud.
const LOCK_ID = 4_242_001;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((name) => {
      const sql = readFileSync(`${dir}/${name}`, 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export async function migrate(driver: SqlDriver, migrations = readMigrations()): Promise<string[]> {
  return driver.transaction(async (tx) => {
    await tx.exec(`SELECT pg_advisory_xact_lock(${LOCK_ID});
      CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = new Map(
      (await tx.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).map((r) => [
        r.name,
        r.checksum,
      ]),
    );
    const known = new Set(migrations.map((m) => m.name));
    for (const name of applied.keys()) {
      if (!known.has(name)) throw new MigrationError(`migration ${name} was applied but its file is missing`);
    }
    const done: string[] = [];
    for (const m of migrations) {
      const recorded = applied.get(m.name);
      if (recorded === m.checksum) continue;
      if (recorded !== undefined) {
        throw new MigrationError(`migration ${m.name} changed after it was applied (checksum differs); add a new one`);
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [m.name, m.checksum]);
      done.push(m.name);
    }
    return done;
  });
}
