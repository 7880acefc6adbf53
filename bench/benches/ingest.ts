import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type CloudDeps,
  INGEST_EVENTS_SQL,
  loadConfig,
  openDeps,
  SERVICE_USER,
  startCloudBroker,
  startIngest,
} from '@estate/cloud';
import { encode, type GatewayEvent, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { resolveServer, throwawayDatabase } from '../lib/api-db.js';
import { type Bench, defineBench } from '../lib/bench.js';
import { emit, progress } from '../lib/io.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { RssSampler } from '../lib/rss.js';

const OPTIONS = {
  gateways: { kind: 'int', default: 20, min: 1, max: 1_000, help: 'simulated gateways publishing at once' },
  events: { kind: 'int', default: 100_000, min: 1_000, max: 5_000_000, help: 'events in all, spread over them' },
  batch: { kind: 'int', default: 200, min: 1, max: 500, help: 'events per EventBatch (the uplink default: 200)' },
  window: { kind: 'int', default: 4, min: 1, max: 64, help: 'batches a gateway sends ahead of its ack' },
  broker: { kind: 'choice', default: 'embedded', choices: ['embedded', 'mosquitto'], help: 'cloud broker' },
  'database-url': { kind: 'text', default: '', pattern: /^postgres(ql)?:\/\//, help: 'a postgres:// server URL' },
} satisfies OptionSpecs;
type Options = OptionValues<typeof OPTIONS>;

const MOSQUITTO = 'mqtt://127.0.0.1:1883';

function event(seq: number): GatewayEvent {
  return {
    seq,
    ts: 1_790_000_000_000 + seq * 37,
    priority: 'high',
    type: 'access_decision',
    doorId: `door-${seq % 40}`,
    deviceId: `reader-${seq % 40}`,
    method: seq % 3 ? 'face' : 'qr',
    granted: seq % 9 !== 0,
    reason: seq % 9 !== 0 ? 'granted' : 'not_permitted',
    personId: `p-${seq % 4_000}`,
    score: 0.82,
    latencyMs: 31,
  };
}

/** One simulated gateway: its batches encoded up front (the gateway's own cost is not the cloud's), sent in a window. */
async function runGateway(url: string, id: string, secret: string, payloads: Buffer[], o: Options, last: number) {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: id,
    username: id,
    password: secret,
    reconnectPeriod: 0,
  });
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  const topic = topicFor('eventBatch', { gatewayId: id });
  let next = 0;
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      // a batch is in flight until an ack covers its last seq (batches are full but for the last)
      while (next < payloads.length && next - Math.floor(acked / o.batch) < o.window) {
        client.publish(topic, payloads[next++] as Buffer, { qos: 1 }, (err) => err && reject(err));
      }
    };
    client.on('message', (_t, payload) => {
      acked = Math.max(acked, (JSON.parse(payload.toString('utf8')) as { ackedSeq: number }).ackedSeq);
      if (acked >= last) resolve();
      else pump();
    });
    client.subscribeAsync(topicFor('eventAck', { gatewayId: id }), { qos: 1 }).then(pump, reject);
  });
  await client.endAsync(true);
}

/** COPY text format: tab-separated, \N for null, backslashes doubled (JSON escapes contain them). */
const field = (v: string | number | boolean | undefined) =>
  v === undefined ? '\\N' : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v).replaceAll('\\', '\\\\');
function copyRows(gatewayId: string, estateId: string, events: GatewayEvent[]): string {
  let out = '';
  for (const e of events) {
    const a = e as Partial<Record<'doorId' | 'deviceId' | 'personId' | 'method', string>> & { granted?: boolean };
    const cols = [gatewayId, e.seq, estateId, e.type, new Date(e.ts).toISOString(), a.doorId, a.deviceId];
    out += `${[...cols, a.personId, a.method, a.granted, JSON.stringify(e)].map(field).join('\t')}\n`;
  }
  return out;
}
const COLUMNS = '(gateway_id, seq, estate_id, type, ts, door_id, device_id, person_id, method, granted, body)';

async function seedGateways(deps: CloudDeps, n: number) {
  const [estate] = await deps.driver.query<{ id: string }>(
    "INSERT INTO estates (code, name, city) VALUES ('BENCH-INGEST', 'Bench', 'Hangzhou') RETURNING id",
  );
  const estateId = (estate as { id: string }).id;
  const { createHash, randomBytes } = await import('node:crypto');
  const gateways = Array.from({ length: n }, (_, i) => ({
    id: `gw-bench-${i}`,
    secret: randomBytes(24).toString('base64url'),
  }));
  for (const g of gateways) {
    await deps.driver.query(
      "INSERT INTO gateways (id, estate_id, name, status, secret_hash) VALUES ($1, $2, $1, 'active', $3)",
      // cloud/src/core/tokens.ts hashToken: sha256 hex of the secret
      [g.id, estateId, createHash('sha256').update(g.secret).digest('hex')],
    );
  }
  return { estateId, gateways };
}

/** Store path measured apart, without MQTT: one statement per batch against COPY into a staging table per batch. */
async function storePaths(deps: CloudDeps, estateId: string, perPath: number, batch: number) {
  const [gw] = await deps.driver.query<{ id: string }>(
    "INSERT INTO gateways (id, estate_id, name, status) VALUES ('gw-bench-paths', $1, 'paths', 'active') RETURNING id",
    [estateId],
  );
  const gatewayId = (gw as { id: string }).id;
  const timed = async (offset: number, store: (events: GatewayEvent[]) => Promise<unknown>) => {
    const t0 = performance.now();
    for (let s = 1; s <= perPath; s += batch) {
      await store(Array.from({ length: Math.min(batch, perPath - s + 1) }, (_, i) => event(offset + s + i)));
    }
    return Math.round(perPath / ((performance.now() - t0) / 1000));
  };
  const insert = await timed(0, (events) =>
    deps.driver.query(INGEST_EVENTS_SQL, [gatewayId, estateId, JSON.stringify(events)]),
  );
  const copy = await timed(perPath, (events) =>
    deps.driver.transaction(async (tx) => {
      await tx.exec('CREATE TEMP TABLE stage (LIKE gateway_events INCLUDING DEFAULTS) ON COMMIT DROP');
      await tx.copyFrom(`COPY stage ${COLUMNS} FROM STDIN`, copyRows(gatewayId, estateId, events));
      return tx.query('INSERT INTO gateway_events SELECT * FROM stage ON CONFLICT (gateway_id, seq) DO NOTHING');
    }),
  );
  return { insert, copy };
}

async function run(o: Options): Promise<void> {
  const server = resolveServer(o['database-url'] || undefined);
  const db = await throwawayDatabase(server, 'estate_bench_ingest');
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-bench-ingest-'));
  const env = { NODE_ENV: 'test', DATABASE_URL: db.url, ESTATE_CLOUD_DATA_DIR: dataDir };
  const { deps, db: opened } = await openDeps(loadConfig(env), { inMemory: true });
  const closers: (() => Promise<unknown>)[] = [() => opened.close(), () => db.drop()];
  try {
    const { estateId, gateways } = await seedGateways(deps, o.gateways);
    // every simulated gateway connects from 127.0.0.1: size the per-address connect limit to them
    const connectRate = { burst: o.gateways + 10, perSecond: 10 };
    const broker =
      o.broker === 'embedded' ? await startCloudBroker(deps, { host: '127.0.0.1', port: 0, connectRate }) : undefined;
    if (broker) closers.unshift(() => broker.close());
    const url = broker?.url ?? MOSQUITTO;
    const ingest = await startIngest(deps, {
      url,
      username: SERVICE_USER,
      password: deps.config.mqttServiceSecret,
      shared: !broker,
      shareGroup: `bench-ingest-${process.pid}`,
    });
    closers.unshift(() => ingest.close());
    await ingest.ready;

    const per = Math.floor(o.events / o.gateways);
    const total = per * o.gateways;
    const payloads = gateways.map((g) => {
      const out: Buffer[] = [];
      for (let s = 1; s <= per; s += o.batch) {
        const events = Array.from({ length: Math.min(o.batch, per - s + 1) }, (_, i) => event(s + i));
        out.push(encode('eventBatch', { gatewayId: g.id, sentAt: Date.now(), events }));
      }
      return out;
    });
    progress(`ingest_events: ${o.gateways} gateways × ${per} events in batches of ${o.batch} through ${url}…`);
    const rss = new RssSampler().start();
    const t0 = performance.now();
    await Promise.all(gateways.map((g, i) => runGateway(url, g.id, g.secret, payloads[i] ?? [], o, per)));
    const seconds = (performance.now() - t0) / 1000;
    rss.stop();
    const [count] = await deps.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway_events');
    if (count?.n !== total) throw new Error(`stored ${count?.n} events, expected ${total} exactly once`);

    // the same rows, one COPY into a table of the same shape (keys and indexes) in the same database
    await deps.driver.exec('CREATE TABLE copy_peer (LIKE gateway_events INCLUDING ALL)');
    const text = gateways.map((g) =>
      copyRows(
        g.id,
        estateId,
        Array.from({ length: per }, (_, i) => event(i + 1)),
      ),
    );
    const c0 = performance.now();
    await deps.driver.copyFrom(`COPY copy_peer ${COLUMNS} FROM STDIN`, text.join(''));
    const copySeconds = (performance.now() - c0) / 1000;

    const paths = await storePaths(deps, estateId, Math.min(20_000, total), o.batch);
    const eventsPerS = Math.round(total / seconds);
    const copyPerS = Math.round(total / copySeconds);
    emit({
      bench: 'ingest_events',
      broker: o.broker,
      db: 'postgres',
      gateways: o.gateways,
      events: total,
      batch: o.batch,
      window: o.window,
      seconds: Number(seconds.toFixed(2)),
      events_per_s: eventsPerS,
      copy_events_per_s: copyPerS,
      ratio: Number((eventsPerS / copyPerS).toFixed(3)),
      batch_insert_events_per_s: paths.insert,
      batch_copy_events_per_s: paths.copy,
      duplicates: ingest.counters().duplicates,
      rss_mb: rss.peakMb(),
    });
  } finally {
    for (const close of closers) await close().catch((e: unknown) => progress(`ingest_events: cleanup: ${e}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const ingestBenches: readonly Bench[] = [
  defineBench({
    name: 'ingest_events',
    summary:
      'simulated gateways publish EventBatches through the cloud broker into PostgreSQL (stored once, acked); raw COPY of the same rows; ratio',
    options: OPTIONS,
    run,
  }),
];
