// Ingest on the embedded broker (the default of `npm start`): exactly-once storage through duplicate and out-of-order
// batches, the contiguous watermark in the acks, per-event refusals, presence and health, alarms to repair orders,
// and whatever arrives malformed or from nobody changes nothing and stops nothing.
import { encode, topicFor } from '@estate/protocols';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudBroker, startCloudBroker } from '../src/ingest/broker.js';
import { SERVICE_USER } from '../src/ingest/broker-auth.js';
import { type Ingest, type IngestHandlers, startIngest } from '../src/ingest/ingest.js';
import {
  accessEvent,
  ackListener,
  aGateway,
  asGateway,
  batchOf,
  connect,
  type IngestCloud,
  ingestCloud,
  sendBatch,
  sendRaw,
  seqs,
  storedSeqs,
  waitFor,
  watermark,
} from './ingest-helpers.js';

let c: IngestCloud;
let broker: CloudBroker;
let ingest: Ingest;
let service: mqtt.MqttClient;
const seen = { telemetry: [] as string[], health: [] as string[], events: 0 };
const handlers: IngestHandlers = {
  telemetry: (gatewayId) => void seen.telemetry.push(gatewayId),
  health: (gatewayId) => {
    seen.health.push(gatewayId);
    throw new Error('a failing handler must not stop ingest');
  },
  event: () => void seen.events++,
};

beforeAll(async () => {
  c = await ingestCloud();
  broker = await startCloudBroker(c.deps, { host: '127.0.0.1', port: 0 });
  const creds = { username: SERVICE_USER, password: c.deps.config.mqttServiceSecret };
  ingest = await startIngest(c.deps, { url: broker.url, ...creds, handlers });
  await ingest.ready;
  // the cloud's own service user may publish anywhere: it stands in for an external broker without ACLs
  service = await connect(broker.url, { clientId: `${SERVICE_USER}:test`, ...creds });
}, 120_000); // PGlite's migrations alone take most of a minute on a loaded 2-core machine
afterAll(async () => {
  await service?.endAsync(true);
  await ingest?.close();
  await broker?.close();
  await c?.close();
});

/** Acks may arrive in any order when batches are stored concurrently; the gateway keeps the highest. */
const highest = (acks: { ackedSeq: number }[]) => Math.max(-1, ...acks.map((a) => a.ackedSeq));

async function gatewayWithAcks() {
  const g = await aGateway(c.deps, c.estateA);
  const client = await asGateway(broker.url, g);
  return { g, client, acks: await ackListener(client, g.id) };
}

describe('event batches', () => {
  it('stores every event exactly once through duplicate and out-of-order batches; the ack is the contiguous watermark', async () => {
    const { g, client, acks } = await gatewayWithAcks();
    await sendBatch(client, g.id, seqs(1, 3));
    await waitFor(
      'ack 3',
      () => highest(acks),
      (s) => s === 3,
    );
    // 7–9 before 4–6: stored, but the watermark cannot pass the gap
    await sendBatch(client, g.id, seqs(7, 9));
    await waitFor(
      'second ack',
      () => acks.length,
      (n) => n === 2,
    );
    expect(acks[1]?.ackedSeq).toBe(3);
    expect(await watermark(c.deps, g.id)).toBe(3);
    await sendBatch(client, g.id, seqs(4, 6));
    await waitFor(
      'ack 9',
      () => highest(acks),
      (s) => s === 9,
    );
    // a resend of everything, and a batch repeating a seq inside itself
    await sendBatch(client, g.id, seqs(1, 9));
    await sendBatch(client, g.id, [9, 9, 10]);
    await waitFor(
      'ack 10',
      () => highest(acks),
      (s) => s === 10,
    );
    expect(await storedSeqs(c.deps, g.id)).toEqual(seqs(1, 10));
    const [row] = await c.deps.driver.query<Record<string, unknown>>(
      'SELECT estate_id, type, door_id, person_id, method, granted, ts, body FROM gateway_events WHERE gateway_id = $1 AND seq = 5',
      [g.id],
    );
    expect(row).toMatchObject({ estate_id: c.estateA, type: 'access_decision', door_id: 'b1-main' });
    expect(row).toMatchObject({ person_id: 'p-5', method: 'face', granted: false, body: accessEvent(5) });
    expect(new Date(row?.ts as string).getTime()).toBe(accessEvent(5).ts);
    await client.endAsync();
  });

  it('refuses an invalid event with a reason, stores the rest, and acknowledges past it', async () => {
    const { g, client, acks } = await gatewayWithAcks();
    const bad = { ...accessEvent(2), doorId: 'Not An Id' };
    const payload = JSON.stringify(batchOf(g.id, [accessEvent(1), bad as never, accessEvent(3)]));
    await sendRaw(client, g.id, payload);
    await waitFor(
      'ack 3',
      () => highest(acks),
      (s) => s === 3,
    );
    expect(acks.at(-1)?.rejected).toEqual([{ seq: 2, reason: 'invalid_doorid' }]);
    expect(await storedSeqs(c.deps, g.id)).toEqual([1, 3]);
    const rejects = await c.deps.prisma.gatewayEventReject.findMany({ where: { gatewayId: g.id } });
    expect(rejects.map((r) => [Number(r.seq), r.reason])).toEqual([[2, 'invalid_doorid']]);
    await client.endAsync();
  });

  it('ignores malformed payloads, unknown gateways and a payload naming another gateway — nothing stored, ingest alive', async () => {
    const { g, client, acks } = await gatewayWithAcks();
    const before = ingest.counters();
    await sendRaw(client, g.id, 'not json {');
    await sendRaw(client, g.id, Buffer.from([0xff, 0xfe, 0x00]));
    await sendRaw(client, g.id, JSON.stringify({ gatewayId: g.id, events: 'nope' }));
    await sendRaw(client, g.id, JSON.stringify(batchOf(g.id, [])));
    // through the service user, which the broker lets publish anywhere (as an external broker without ACLs would)
    const unknown = 'gw-nobody-here';
    await sendBatch(service, unknown, [1, 2]);
    const other = await aGateway(c.deps, c.estateA);
    await sendBatch(service, other.id, [1], g.id); // payload says `other`, topic says g
    await sendBatch(client, g.id, [1]); // and ingest still works afterwards
    await waitFor(
      'ack 1',
      () => highest(acks),
      (s) => s === 1,
    );
    // messages are stored several at a time: the others may finish after that ack
    const after = await waitFor(
      'the refusals counted',
      () => ingest.counters(),
      (n) =>
        n.unknownGateway > before.unknownGateway &&
        n.gatewayMismatch > before.gatewayMismatch &&
        (n.malformed.SCHEMA ?? 0) >= (before.malformed.SCHEMA ?? 0) + 2,
    );
    expect(after.unknownGateway - before.unknownGateway).toBe(1);
    expect(after.gatewayMismatch - before.gatewayMismatch).toBe(1);
    const malformed = (k: string) => (after.malformed[k] ?? 0) - (before.malformed[k] ?? 0);
    expect([malformed('NOT_JSON'), malformed('NOT_UTF8'), malformed('SCHEMA')]).toEqual([1, 1, 2]);
    expect(acks).toHaveLength(1);
    expect(await storedSeqs(c.deps, g.id)).toEqual([1]);
    expect(await storedSeqs(c.deps, other.id)).toEqual([]);
    expect(await c.deps.driver.query('SELECT 1 FROM gateway_events WHERE gateway_id = $1', [unknown])).toEqual([]);
    await client.endAsync();
  });

  it('turns a door-forced alarm into one repair order, however often it is delivered', async () => {
    const { g, client, acks } = await gatewayWithAcks();
    const alarm = {
      seq: 1,
      ts: Date.now(),
      priority: 'critical' as const,
      type: 'alarm' as const,
      alarm: 'door_forced' as const,
      state: 'raised' as const,
      deviceId: `door-${g.id}`,
      doorId: 'b2-side',
    };
    const payload = encode('eventBatch', batchOf(g.id, [alarm]));
    await sendRaw(client, g.id, payload);
    await sendRaw(client, g.id, payload);
    await waitFor(
      'two acks',
      () => acks.length,
      (n) => n === 2,
    );
    const orders = await c.deps.prisma.repairOrder.findMany({ where: { deviceId: `door-${g.id}` } });
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ estateId: c.estateA, source: 'alarm', alarmKind: 'door_forced' });
    expect(orders[0]?.alarmCount).toBe(1);
    await client.endAsync();
  });
});

describe('presence, health and the other routes', () => {
  it('marks a gateway online on connect, offline by its Will, and passes health and telemetry to the handlers', async () => {
    const g = await aGateway(c.deps, c.estateA);
    const presence = topicFor('gatewayPresence', { gatewayId: g.id });
    const will = {
      topic: presence,
      payload: encode('gatewayPresence', { online: false, ts: Date.now() }),
      qos: 1 as const,
      retain: true,
    };
    const client = await asGateway(broker.url, g, { will });
    const online = () => c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } });
    await client.publishAsync(presence, encode('gatewayPresence', { online: true, ts: Date.now() }), {
      qos: 1,
      retain: true,
    });
    await waitFor('online', online, (r) => r.online && r.lastSeenAt !== null);
    const health = {
      ts: Date.now(),
      software: 'test',
      uptimeS: 5,
      backlog: { events: 0, bytes: 0, droppedTelemetry: 0 },
      diskFreeMb: 100,
      rssMb: 50,
      load1: 0.1,
      desiredVersion: 0,
      appliedVersion: 0,
      devices: [],
    };
    await client.publishAsync(topicFor('gatewayHealth', { gatewayId: g.id }), encode('gatewayHealth', health), {
      qos: 1,
    });
    const telemetry = {
      gatewayId: g.id,
      sentAt: Date.now(),
      samples: [{ deviceId: 'leak-1', kind: 'leak' as const, ts: Date.now(), metrics: { wet: false } }],
    };
    await client.publishAsync(topicFor('telemetryBatch', { gatewayId: g.id }), encode('telemetryBatch', telemetry), {
      qos: 1,
    });
    await waitFor(
      'handlers',
      () => [seen.health.includes(g.id), seen.telemetry.includes(g.id)],
      (v) => v.every(Boolean),
    );
    expect(ingest.counters().handlerErrors).toBeGreaterThan(0); // the health handler threw; ingest went on
    client.stream.destroy(); // a cut link, not a clean disconnect: the broker publishes the Will
    await waitFor('offline', online, (r) => !r.online);
  });
});
