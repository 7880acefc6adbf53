// The two ways to reach PostgreSQL: PGlite (embedded, WASM) by default, a real server when DATABASE_URL is set.
// Business code goes through Prisma; this raw driver serves the migration runner and bulk paths, which need
// multi-statement SQL and explicit transactions that Prisma does not offer.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';

export interface SqlTx {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void>;
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

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const lite = await PGlite.create(dataDir ?? 'memory://', { extensions: { pg_trgm } });
  const driver: SqlDriver = {
    kind: 'pglite',
    query: async <T>(sql: string, params?: unknown[]) => (await lite.query<T>(sql, params)).rows,
    exec: async (sql) => void (await lite.exec(sql)),
    transaction: (fn) =>
      lite.transaction((tx) =>
        fn({
          query: async <T>(sql: string, params?: unknown[]) => (await tx.query<T>(sql, params)).rows,
          exec: async (sql) => void (await tx.exec(sql)),
        }),
      ),
  };
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
  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) =>
    (await client.query(sql, params)).rows as T[];
  const driver: SqlDriver = {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => void (await pool.query(sql)),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => void (await client.query(sql)),
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
