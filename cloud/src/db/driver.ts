// The two ways to reach PostgreSQL: PGlite (embedded, WASM) by default, a real server when DATABASE_URL is set.
// Business code goes through Prisma; this raw driver serves the migration runner and bulk paths, which need
// multi-statement SQL and explicit transactions that Prisma does not offer.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { from as copyFromStream } from 'pg-copy-streams';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';

export interface SqlTx {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void>;
  /** `COPY ... FROM STDIN` fed with `text` (COPY text format); resolves to the number of rows copied. */
  copyFrom(sql: string, text: string): Promise<number>;
}

export interface SqlDriver extends SqlTx {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
}

export interface Database {
  driver: SqlDriver;
  prisma: PrismaClient;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without one an embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data folder; omitted = in memory. */
  dataDir?: string | undefined;
  /** Pool size for a real server. */
  poolSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.dataDir);
}

/** What the driver needs of a PGlite; other builds (e.g. one with TimescaleDB, in tests) fit it too. */
export interface PgliteLike {
  query<T>(sql: string, params?: unknown[], options?: { blob?: Blob }): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: Omit<PgliteLike, 'transaction'>) => Promise<T>): Promise<T>;
}

// PGlite has no STDIN: its COPY reads a Blob handed to the query as the virtual file /dev/blob.
const pgliteCopy = (lite: Omit<PgliteLike, 'transaction'>) => async (sql: string, text: string) =>
  (await lite.query(sql.replace(/\bSTDIN\b/i, "'/dev/blob'"), [], { blob: new Blob([text]) })).affectedRows ?? 0;

/** A SqlDriver over an open PGlite (the caller keeps closing it). */
export function wrapPglite(lite: PgliteLike): SqlDriver {
  const tx = (t: Omit<PgliteLike, 'transaction'>): SqlTx => ({
    query: async <T>(sql: string, params?: unknown[]) => (await t.query<T>(sql, params)).rows,
    exec: async (sql) => void (await t.exec(sql)),
    copyFrom: pgliteCopy(t),
  });
  return { kind: 'pglite', ...tx(lite), transaction: (fn) => lite.transaction((t) => fn(tx(t))) };
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const lite = await PGlite.create(dataDir ?? 'memory://', { extensions: { pg_trgm } });
  const driver = wrapPglite(lite);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  return {
    driver,
    prisma,
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle pooled connection that the server drops (restart, failover, admin termination) emits 'error' on the
  // pool; without a listener that is an uncaught exception that takes the whole API down. The pool discards the
  // client by itself and the next query opens a new one, so noting it is enough.
  pool.on('error', (err) => {
    process.emitWarning(`PostgreSQL dropped an idle connection: ${err.message}`, 'EstateDatabaseWarning');
  });
  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) =>
    (await client.query(sql, params)).rows as T[];
  const copy = async (client: pg.PoolClient, sql: string, text: string) => {
    const stream = client.query(copyFromStream(sql));
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(text);
    });
    return stream.rowCount ?? 0;
  };
  const driver: SqlDriver = {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => void (await pool.query(sql)),
    copyFrom: async (sql, text) => {
      const client = await pool.connect();
      try {
        return await copy(client, sql, text);
      } finally {
        client.release();
      }
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => void (await client.query(sql)),
          copyFrom: (sql, text) => copy(client, sql, text),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    driver,
    prisma,
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}
