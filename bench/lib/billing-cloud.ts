/**
 * The cloud the billing benches run against: started in this process on a throwaway PostgreSQL database (or
 * embedded PGlite), listening on a free port, with an admin account the bench logs in as. Nothing is reused
 * between runs: the database and the data folder are made for the run and removed after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiSession, openDatabase, type RunningCloud, startCloud } from '@estate/cloud';
import { release, resolveServer } from './api-db.js';
import { progress } from './io.js';
import { UsageError } from './options.js';

export interface BillingCloud {
  cloud: RunningCloud;
  /** Authorization header of the bench's admin account. */
  auth: Record<string, string>;
  /** Where the cloud keeps its files (payments.json …). */
  dataDir: string;
  /** Describes the database for the result line: 'postgres' or 'pglite'. */
  store: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** Shown by --help; taken out of argv before the option parser, which knows numbers, choices and flags only. */
export const DATABASE_URL_OPTION = {
  'database-url': {
    kind: 'flag',
    help: 'postgres:// URL of the server to use (default $DATABASE_URL, else the local one from cloud/scripts/ci-postgres.sh); the bench creates a throwaway database there and drops it afterwards',
  },
} as const;

export function takeDatabaseUrl(bench: string, argv: readonly string[]): { url: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--database-url=')) url = arg.slice('--database-url='.length);
    else if (arg !== '--database-url') rest.push(arg);
    else {
      url = argv[++i];
      if (url === undefined || url.startsWith('--')) throw new UsageError(`${bench}: --database-url needs a value`);
    }
  }
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url))
    throw new UsageError(`${bench}: --database-url must be a postgres:// URL, got '${url}'`);
  return { url, rest };
}

/** A fresh database on the server `given` (or DATABASE_URL, or the local one) and how to drop it again. */
async function throwawayDatabase(bench: string, given: string | undefined) {
  const server = resolveServer(given);
  const name = `estate_bench_billing_${Date.now()}_${process.pid}`;
  const admin = await openDatabase({ url: server.adminUrl, poolSize: 1 });
  try {
    await admin.driver.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  progress(`${bench}: throwaway database ${name} on ${url.host}`);
  return {
    url: url.toString(),
    drop: async () => {
      const a = await openDatabase({ url: server.adminUrl, poolSize: 1 });
      try {
        await a.driver.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.close();
      }
      await release(server);
    },
  };
}

/**
 * Starts the cloud for a billing bench. `prepare` runs on the data folder before the start (to write
 * payments.json); the request log is on at info, as deployed, but written to /dev/null.
 */
export async function startBillingCloud(
  bench: string,
  o: { databaseUrl: string | undefined; pglite: boolean; prepare?: (dataDir: string) => void },
): Promise<BillingCloud> {
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-bench-billing-'));
  const db = o.pglite ? undefined : await throwawayDatabase(bench, o.databaseUrl);
  const cleanup = async () => {
    await db?.drop().catch((e: unknown) => progress(`${bench}: could not drop the bench database: ${String(e)}`));
    rmSync(dataDir, { recursive: true, force: true });
  };
  let cloud: RunningCloud | undefined;
  try {
    o.prepare?.(dataDir);
    cloud = await startCloud({
      env: {},
      overrides: {
        NODE_ENV: 'development',
        ...(db ? { DATABASE_URL: db.url } : {}),
        ESTATE_CLOUD_HOST: '127.0.0.1',
        ESTATE_CLOUD_PORT: '0',
        ESTATE_CLOUD_DATA_DIR: dataDir,
        // The per-IP limit (600/min) would refuse a provider notifying 200 times a second from one address.
        ESTATE_CLOUD_RATE_LIMIT: String(1_000_000_000),
        ESTATE_CLOUD_ACCESS_TTL_S: String(24 * 3600),
      },
      seed: false,
      logger: { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'], file: '/dev/null' },
    });
    const running = cloud;
    const password = `bench-${process.pid}-${Date.now()}`;
    await running.deps.prisma.account.create({
      data: { login: 'bench.admin', role: 'admin', passwordHash: await running.deps.passwords.hash(password) },
    });
    const { token } = await apiSession(running.url, 'bench.admin', password);
    return {
      cloud: running,
      auth: { authorization: `Bearer ${token}` },
      dataDir,
      store: db ? 'postgres' : 'pglite',
      close: async () => {
        await running.close();
        await cleanup();
      },
    };
  } catch (e) {
    await cloud?.close();
    await cleanup();
    throw e;
  }
}

/** POSTs JSON to the cloud as the admin and returns the answer, throwing on anything but 2xx. */
export async function postJson<T>(c: BillingCloud, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${c.cloud.url}${path}`, {
    method: 'POST',
    headers: { ...c.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
