// The cloud side of `backlog_drain`: the embedded cloud broker (gateway auth + ACLs) and the real ingest storing
// into gateway_events with the contiguous watermark ack, on a throwaway PostgreSQL database, with the gateway's
// record and secret. Either in the bench's own process (`inline`, as the first runs measured it) or in a child
// process (`process`, the default): on a real estate the cloud is another machine, so the gateway's event loop
// should not also be running the broker and the ingest.
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IngestCounters, loadConfig, openDeps, SERVICE_USER, startCloudBroker, startIngest } from '@estate/cloud';
import { resolveServer, throwawayDatabase } from './api-db.js';

export interface StoredSummary {
  rows: number;
  gapFree: boolean;
}

export interface BacklogCloud {
  url: string;
  secret: string;
  counters(): Promise<IngestCounters>;
  /** rows stored for the gateway, and whether they are exactly seqs 1..rows */
  stored(): Promise<StoredSummary>;
  close(): Promise<void>;
}

export async function inlineCloud(given: string | undefined, gateway: string): Promise<BacklogCloud> {
  const db = await throwawayDatabase(resolveServer(given), 'estate_bench_backlog');
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-bench-backlog-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    ESTATE_CLOUD_DATA_DIR: dataDir,
    ESTATE_CLOUD_LOG_LEVEL: 'silent',
  });
  const { deps, db: opened } = await openDeps(config, { inMemory: true });
  const secret = randomBytes(24).toString('base64url');
  const [estate] = await deps.driver.query<{ id: string }>(
    "INSERT INTO estates (code, name, city) VALUES ('BENCH-BACKLOG', 'Bench', 'Hangzhou') RETURNING id",
  );
  await deps.driver.query(
    "INSERT INTO gateways (id, estate_id, name, status, secret_hash) VALUES ($1, $2, $1, 'active', $3)",
    // cloud/src/core/tokens.ts hashToken: sha256 hex of the secret
    [gateway, estate?.id, createHash('sha256').update(secret).digest('hex')],
  );
  const broker = await startCloudBroker(deps, { host: '127.0.0.1', port: 0 });
  const ingest = await startIngest(deps, {
    url: broker.url,
    username: SERVICE_USER,
    password: config.mqttServiceSecret,
  });
  await ingest.ready;
  return {
    url: broker.url,
    secret,
    counters: async () => ingest.counters(),
    stored: async () => {
      const [r] = await deps.driver.query<{ n: number; lo: number | null; hi: number | null }>(
        'SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi FROM gateway_events WHERE gateway_id = $1',
        [gateway],
      );
      return { rows: r?.n ?? 0, gapFree: r?.n === 0 || (r?.lo === 1 && r?.hi === r?.n) };
    },
    close: async () => {
      await ingest.close();
      await broker.close();
      await opened.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type Op = 'counters' | 'stored' | 'close';
export type CloudRequest = { start: { given: string | undefined; gateway: string } } | { id: number; op: Op };
export type CloudReply =
  | { ready: { url: string; secret: string } }
  | { id: number; value: unknown }
  | { id?: number; error: string };

const ENTRY = new URL('./backlog-cloud-entry.js', import.meta.url);

/** The same cloud in a child process, driven over IPC. */
export async function childCloud(given: string | undefined, gateway: string): Promise<BacklogCloud> {
  const child: ChildProcess = fork(fileURLToPath(ENTRY), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failStart: (e: Error) => void = () => undefined;
  const ready = new Promise<{ url: string; secret: string }>((resolve, reject) => {
    failStart = reject;
    child.on('message', (m: CloudReply) => {
      if ('ready' in m) return resolve(m.ready);
      const w = m.id === undefined ? undefined : waiting.get(m.id);
      if (m.id !== undefined) waiting.delete(m.id);
      if ('error' in m) (w?.reject ?? reject)(new Error(`backlog cloud: ${m.error}`));
      else w?.resolve(m.value);
    });
  });
  child.once('exit', (code) => {
    const e = new Error(`the backlog cloud process exited (${code})`);
    failStart(e);
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  child.send({ start: { given, gateway } } satisfies CloudRequest);
  const { url, secret } = await ready;
  const call = <T>(op: Op) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: (v) => resolve(v as T), reject });
      child.send({ id, op } satisfies CloudRequest);
    });
  return {
    url,
    secret,
    counters: () => call<IngestCounters>('counters'),
    stored: () => call<StoredSummary>('stored'),
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      await call('close');
      await exited;
    },
  };
}
