// Store-and-forward: every committed event reaches the cloud and is stored exactly once, whatever the link does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, startLocalBroker, Uplink } from '@estate/edge';
import { decodeAs, encode, type GatewayEvent, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';

/** A stand-in for the cloud's ingest (the real one comes with the gateway ↔ cloud issue): stores by seq, acks. */
async function aCloud() {
  const broker = await startLocalBroker({ port: 0 });
  const ingest = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'ingest' });
  const stored = new Map<number, GatewayEvent>();
  let received = 0;
  let duplicates = 0;
  let acking = true;
  let connects = 0;
  broker.broker.on('client', (c) => {
    if (c.id !== 'ingest') connects++;
  });
  await ingest.subscribeAsync('estate/v1/gw/+/events', { qos: 1 });
  ingest.on('message', (topic, payload) => {
    const d = decodeAs('eventBatch', payload);
    if (!d.ok) return;
    for (const e of d.value.events) {
      received++;
      if (stored.has(e.seq)) duplicates++;
      else stored.set(e.seq, e);
    }
    let contiguous = 0;
    while (stored.has(contiguous + 1)) contiguous++;
    if (acking) {
      const gatewayId = topic.split('/')[3] as string;
      void ingest.publish(
        topicFor('eventAck', { gatewayId }),
        encode('eventAck', { ts: Date.now(), ackedSeq: contiguous }),
        {
          qos: 1,
        },
      );
    }
  });
  return {
    broker,
    ingest,
    stored,
    stats: () => ({ received, duplicates, connects }),
    setAcking: (on: boolean) => {
      acking = on;
    },
    cut: (clientId: string) =>
      (broker.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients[
        clientId
      ]?.conn.destroy(),
    close: async () => {
      await ingest.endAsync();
      await broker.close();
    },
  };
}

const anEvent = (i: number) => ({
  ts: 1_000 + i,
  priority: 'high' as const,
  type: 'access_decision' as const,
  doorId: 'b1-main',
  deviceId: 'cam-1',
  method: 'face' as const,
  granted: i % 2 === 0,
  reason: i % 2 === 0 ? 'granted' : 'no_match',
  latencyMs: 30,
});

const until = async (cond: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('uplink store-and-forward', () => {
  it('delivers every event exactly once through repeated link cuts and a gateway restart', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const file = join(mkdtempSync(join(tmpdir(), 'estate-uplink-')), 'gateway.db');
    let log = new EventLog(file);
    let up = new Uplink({ url: cloud.broker.url, gatewayId: 'gw-1', log, batchSize: 50, reconnectMs: 50 });
    await up.start();
    const N = 2_000;
    for (let i = 0; i < N; i++) {
      log.append(anEvent(i));
      if (i % 400 === 399) cloud.cut('gw-1'); // short outages mid-stream
      if (i === 1_000) {
        // the gateway process restarts: a new uplink on the same log file
        await up.stop();
        log.close();
        log = new EventLog(file);
        up = new Uplink({ url: cloud.broker.url, gatewayId: 'gw-1', log, batchSize: 50, reconnectMs: 50 });
        await up.start();
      }
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    cleanup.push(async () => {
      await up.stop();
      log.close();
    });
    await until(() => cloud.stored.size === N && log.backlog().events === 0);
    expect([...cloud.stored.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // at-least-once on the wire, exactly once in the store
    expect(cloud.stats().received).toBeGreaterThanOrEqual(N);
    expect(log.ackedSeq).toBe(N);
    // the outages did happen: the first connect, the restart, and reconnects after cuts
    expect(cloud.stats().connects).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('keeps events while the cloud does not acknowledge, and resends them after the ack timeout', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const up = new Uplink({ url: cloud.broker.url, gatewayId: 'gw-2', log, ackTimeoutMs: 300, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    cloud.setAcking(false);
    await up.start();
    for (let i = 0; i < 10; i++) log.append(anEvent(i));
    await until(() => cloud.stored.size === 10);
    await new Promise((r) => setTimeout(r, 800));
    expect(log.backlog().events).toBe(10); // nothing forgotten without an ack
    expect(up.stats.resends).toBeGreaterThan(0);
    cloud.setAcking(true);
    await until(() => log.backlog().events === 0);
  });

  it('ignores malformed, stale and overreaching acks', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const up = new Uplink({ url: cloud.broker.url, gatewayId: 'gw-3', log, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    cloud.setAcking(false);
    await up.start();
    for (let i = 0; i < 5; i++) log.append(anEvent(i));
    await until(() => cloud.stored.size === 5);
    const ackTopic = topicFor('eventAck', { gatewayId: 'gw-3' });
    await cloud.ingest.publishAsync(ackTopic, Buffer.from('{"ackedSeq":"all"}'), { qos: 1 });
    await cloud.ingest.publishAsync(ackTopic, encode('eventAck', { ts: 1, ackedSeq: 1_000_000 }), { qos: 1 });
    await until(() => log.ackedSeq > 0);
    // an ack beyond what was sent only covers what was sent
    expect(log.ackedSeq).toBe(5);
    log.append(anEvent(6));
    await until(() => cloud.stored.size === 6);
    expect(log.backlog().events).toBe(1);
  });

  it('exposes its client and calls onConnect hooks on every (re)connect, after its own subscriptions', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const up = new Uplink({ url: cloud.broker.url, gatewayId: 'gw-4', log, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    expect(up.client).toBeUndefined();
    const seen: mqtt.MqttClient[] = [];
    const off = up.onConnect((c) => {
      seen.push(c);
      throw new Error('a failing hook must not stop the uplink');
    });
    await up.start();
    await until(() => seen.length === 1);
    expect(seen[0]).toBe(up.client);
    cloud.cut('gw-4');
    await until(() => seen.length === 2);
    // registered while connected: called at once
    let late = 0;
    up.onConnect(() => late++);
    expect(late).toBe(1);
    off();
    log.append(anEvent(1));
    await until(() => log.backlog().events === 0); // still forwarding after the throwing hook
    cloud.cut('gw-4');
    await until(() => late === 2);
    expect(seen.length).toBe(2);
  });
});
