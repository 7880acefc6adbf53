// Builders for the ingest tests: gateway records with their uplink secret, plain MQTT.js clients that act as a
// gateway (cloud tests never import edge: a gateway here is what it puts on the wire), event batches, and waits.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventBatch, encode, type GatewayEvent, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import type { CloudDeps } from '../src/core/deps.js';
import { hashToken } from '../src/core/tokens.js';
import { loadConfig, openDeps } from '../src/index.js';
import { testEnv } from './helpers/cloud.js';
import { testDatabase } from './helpers/db.js';

export interface IngestCloud {
  deps: CloudDeps;
  /** Two estates, nothing else: ingest needs no demo data, and seeding it costs a loaded machine half a minute. */
  estateA: string;
  estateB: string;
  close(): Promise<void>;
}

export async function ingestCloud(): Promise<IngestCloud> {
  const tdb = await testDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-ingest-test-'));
  const { deps, db } = await openDeps(loadConfig(testEnv(dataDir, tdb.url)), { inMemory: true });
  const estate = (code: string) =>
    deps.prisma.estate.create({ data: { code, name: `Estate ${code}`, city: 'Hangzhou' } }).then((e) => e.id);
  return {
    deps,
    estateA: await estate('ING-A'),
    estateB: await estate('ING-B'),
    close: async () => {
      await db.close();
      await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestGateway {
  id: string;
  secret: string;
}

export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

/** A gateway record, active by default, with a fresh secret; ids are unique per run (Mosquitto is shared). */
export async function aGateway(
  deps: CloudDeps,
  estateId: string,
  status: 'active' | 'pending' | 'retired' = 'active',
): Promise<TestGateway> {
  const id = `gw-t-${randomBytes(5).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  await deps.driver.query(
    'INSERT INTO gateways (id, estate_id, name, status, secret_hash) VALUES ($1, $2, $3, $4, $5)',
    [id, estateId, `test ${id}`, status, hashToken(secret)],
  );
  return { id, secret };
}

export function connect(url: string, o: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...o });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Connects as the gateway (client id = username = gateway id). */
export const asGateway = (url: string, g: TestGateway, o: mqtt.IClientOptions = {}) =>
  connect(url, { clientId: g.id, username: g.id, password: g.secret, ...o });

export function accessEvent(seq: number): GatewayEvent {
  return {
    seq,
    ts: 1_790_000_000_000 + seq,
    priority: 'high',
    type: 'access_decision',
    doorId: 'b1-main',
    deviceId: 'door-b1-main',
    method: 'face',
    granted: seq % 5 !== 0,
    reason: seq % 5 !== 0 ? 'matched' : 'no_match',
    personId: `p-${seq % 17}`,
    score: 0.8,
    latencyMs: 120,
  };
}

export const batchOf = (gatewayId: string, events: GatewayEvent[]): EventBatch => ({
  gatewayId,
  sentAt: Date.now(),
  events,
});

export const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Publish a batch of access events with these seqs on the gateway's events topic. */
export function sendBatch(client: mqtt.MqttClient, gatewayId: string, seqList: number[], topicId = gatewayId) {
  return client.publishAsync(
    topicFor('eventBatch', { gatewayId: topicId }),
    encode('eventBatch', batchOf(gatewayId, seqList.map(accessEvent))),
    { qos: 1 },
  );
}

export const sendRaw = (client: mqtt.MqttClient, gatewayId: string, payload: Buffer | string) =>
  client.publishAsync(topicFor('eventBatch', { gatewayId }), payload, { qos: 1 });

/** Collects the acks the cloud sends to one gateway. */
export async function ackListener(client: mqtt.MqttClient, gatewayId: string) {
  const acks: { ackedSeq: number; rejected?: { seq: number; reason: string }[] }[] = [];
  const topic = topicFor('eventAck', { gatewayId });
  client.on('message', (t, payload) => {
    if (t === topic) acks.push(JSON.parse(payload.toString('utf8')));
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return acks;
}

export async function waitFor<T>(what: string, fn: () => Promise<T> | T, ok: (v: T) => boolean, ms = 10_000) {
  const until = Date.now() + ms;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 25));
    last = await fn();
  }
  return last;
}

export async function storedSeqs(deps: CloudDeps, gatewayId: string): Promise<number[]> {
  const rows = await deps.driver.query<{ seq: string }>(
    'SELECT seq FROM gateway_events WHERE gateway_id = $1 ORDER BY seq',
    [gatewayId],
  );
  return rows.map((r) => Number(r.seq));
}

export async function watermark(deps: CloudDeps, gatewayId: string): Promise<number> {
  const [row] = await deps.driver.query<{ acked_seq: string }>(
    'SELECT acked_seq FROM gateway_ingest WHERE gateway_id = $1',
    [gatewayId],
  );
  return Number(row?.acked_seq ?? -1);
}

/** Whether something accepts TCP connections on host:port (the shared Mosquitto). */
export function reachable(port: number, host = '127.0.0.1', ms = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (up: boolean) => {
      s.destroy();
      resolve(up);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.connect(port, host);
  });
}
