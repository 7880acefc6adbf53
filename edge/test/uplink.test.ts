// Store-and-forward: every committed event reaches the cloud and is stored exactly once, whatever the link does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, Uplink } from '@estate/edge';
import { encode, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { aCloud, until } from './helpers/cloud.js';

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
    let up = new Uplink({ url: cloud.url, gatewayId: 'gw-1', log, batchSize: 50, reconnectMs: 50 });
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
        up = new Uplink({ url: cloud.url, gatewayId: 'gw-1', log, batchSize: 50, reconnectMs: 50 });
        await up.start();
      }
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    cleanup.push(async () => {
      await up.stop();
      log.close();
    });
    await until(() => cloud.stored('gw-1').size === N && log.backlog().events === 0);
    expect([...cloud.stored('gw-1').keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // at-least-once on the wire, exactly once in the store
    expect(cloud.stats().received).toBeGreaterThanOrEqual(N);
    expect(log.ackedSeq).toBe(N);
    // the outages did happen: the first connect, the restart, and reconnects after cuts
    expect(cloud.stats().connects).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('keeps trying when the broker refuses its CONNECT (server unavailable), and then delivers', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    for (let i = 0; i < 5; i++) log.append(anEvent(i));
    cloud.refuseConnects(3);
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-refused', log, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    await up.start();
    // MQTT.js stops after a refused CONNECT by default: three refusals, then the fourth attempt gets in
    await until(() => log.backlog().events === 0, 10_000, 'the events after the refusals');
    expect(cloud.stored('gw-refused').size).toBe(5);
  });

  it('keeps events while the cloud does not acknowledge, and resends them after the ack timeout', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-2', log, ackTimeoutMs: 300, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    cloud.setAcking(false);
    await up.start();
    for (let i = 0; i < 10; i++) log.append(anEvent(i));
    await until(() => cloud.stored('gw-2').size === 10);
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
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-3', log, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    cloud.setAcking(false);
    await up.start();
    for (let i = 0; i < 5; i++) log.append(anEvent(i));
    await until(() => cloud.stored('gw-3').size === 5);
    const ackTopic = topicFor('eventAck', { gatewayId: 'gw-3' });
    const ingest = await mqtt.connectAsync(cloud.url, { protocolVersion: 4, clientId: 'rogue-acker' });
    cleanup.push(() => ingest.endAsync());
    await ingest.publishAsync(ackTopic, Buffer.from('{"ackedSeq":"all"}'), { qos: 1 });
    await ingest.publishAsync(ackTopic, encode('eventAck', { ts: 1, ackedSeq: 1_000_000 }), { qos: 1 });
    await until(() => log.ackedSeq > 0);
    // an ack beyond what was sent only covers what was sent
    expect(log.ackedSeq).toBe(5);
    log.append(anEvent(6));
    await until(() => cloud.stored('gw-3').size === 6);
    expect(log.backlog().events).toBe(1);
  });

  it('exposes its client and calls onConnect hooks on every (re)connect, after its own subscriptions', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-4', log, reconnectMs: 50 });
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
