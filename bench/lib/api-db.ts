import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '@estate/cloud';
import { progress } from './io.js';

/** The database the API bench seeds once and reuses: its own, next to whatever the given URL names. */
export const BENCH_DATABASE = 'estate_bench_api';

const CI_POSTGRES = fileURLToPath(new URL('../../../cloud/scripts/ci-postgres.sh', import.meta.url));

export interface BenchServer {
  /** postgres:// URL of the bench database (it may not exist yet). */
  benchUrl: string;
  /** postgres:// URL of the server's maintenance database, for CREATE / DROP / COMMENT ON DATABASE. */
  adminUrl: string;
  /** A throwaway database ci-postgres.sh created on the way, dropped by `release()`. */
  throwaway: string | undefined;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Which PostgreSQL server to use: `--database-url`, else DATABASE_URL, else the local server that
 * cloud/scripts/ci-postgres.sh starts if needed (its throwaway database is only a way to learn the URL and is
 * dropped again). Only the server is taken from the URL: the bench always works in BENCH_DATABASE on it.
 */
export function resolveServer(given: string | undefined): BenchServer {
  let url = given ?? process.env.DATABASE_URL;
  let throwaway: string | undefined;
  if (!url) {
    progress('bench: no --database-url or DATABASE_URL; asking cloud/scripts/ci-postgres.sh for the local server…');
    url = execFileSync('bash', [CI_POSTGRES], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    throwaway = new URL(url).pathname.slice(1);
  }
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`not a postgres:// URL: ${url}`);
  return { benchUrl: withDatabase(url, BENCH_DATABASE), adminUrl: withDatabase(url, 'postgres'), throwaway };
}

/** What the bench database must hold to be reused: the generator's parameters and a digest of `facts`. */
export function seedMarker(params: object, facts: readonly string[]): string {
  const digest = createHash('sha256').update(facts.join('\n')).digest('hex').slice(0, 16);
  return `estate bench api_owner_search seed ${JSON.stringify(params)} digest ${digest}`;
}

type Admin = Awaited<ReturnType<typeof openDatabase>>;

async function withAdmin<T>(server: BenchServer, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = await openDatabase({ url: server.adminUrl, poolSize: 1 });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/**
 * Makes sure BENCH_DATABASE exists. Returns 'reuse' when it carries `marker` (a previous run seeded it
 * completely with the same data), otherwise drops and recreates it empty and returns 'seed'. The marker is a
 * COMMENT ON DATABASE written only after seeding finished (`markSeeded`), so an interrupted seed is redone.
 */
export async function prepareBenchDatabase(
  server: BenchServer,
  marker: string,
  fresh: boolean,
): Promise<'reuse' | 'seed'> {
  return withAdmin(server, async ({ driver }) => {
    const rows = await driver.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [BENCH_DATABASE],
    );
    const exists = rows.length > 0;
    if (exists && !fresh && rows[0]?.comment === marker) return 'reuse';
    if (exists) {
      const why = fresh ? '--fresh' : 'it does not hold this seed (or seeding was interrupted)';
      progress(`api: dropping database ${BENCH_DATABASE} (${why})`);
      await driver.exec(`DROP DATABASE ${BENCH_DATABASE} WITH (FORCE)`);
    }
    await driver.exec(`CREATE DATABASE ${BENCH_DATABASE}`);
    return 'seed';
  });
}

export async function markSeeded(server: BenchServer, marker: string): Promise<void> {
  await withAdmin(server, ({ driver }) =>
    driver.exec(`COMMENT ON DATABASE ${BENCH_DATABASE} IS '${marker.replaceAll("'", "''")}'`),
  );
}

/** Drops the throwaway database ci-postgres.sh made, if any. */
export async function release(server: BenchServer): Promise<void> {
  const db = server.throwaway;
  if (!db || !/^[a-z0-9_]+$/.test(db)) return;
  await withAdmin(server, ({ driver }) => driver.exec(`DROP DATABASE IF EXISTS ${db}`));
}

/**
 * A database of one run's own on the server (`<prefix>_<time>_<pid>`), for a bench whose seed is cheap enough to
 * redo each time; `drop()` removes it (and ci-postgres.sh's throwaway, if `server` came with one).
 */
export async function throwawayDatabase(
  server: BenchServer,
  prefix: string,
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now()}_${process.pid}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withAdmin(server, ({ driver }) => driver.exec(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(server.adminUrl, name),
    name,
    drop: async () => {
      await withAdmin(server, ({ driver }) => driver.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await release(server);
    },
  };
}
