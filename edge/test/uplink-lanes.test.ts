// Priorities on the uplink: a draining backlog never holds back a new event, and holds itself back while a door
// decision is under way (bounded, so it always moves); telemetry waits for the events.
import { BACKLOG_YIELD_MS, EventLog, openGatewayDb, TelemetryBuffer, Uplink } from '@estate/edge';
import { afterEach, describe, expect, it } from 'vitest';
import { aCloud, until } from './helpers/cloud.js';

const anEvent = (i: number) => ({
  ts: 1_000 + i,
  priority: 'high' as const,
  type: 'access_decision' as const,
  doorId: 'b1-main',
  deviceId: 'reader-b1',
  method: 'qr' as const,
  granted: false,
  reason: 'expired',
  latencyMs: 3,
});

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('uplink lanes', () => {
  it('sends a new event at once while a backlog drains in order, and stores everything gap-free', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const N = 3_000;
    for (let i = 0; i < N; i++) log.append(anEvent(i)); // the backlog of an outage
    // a narrow window makes the drain take many ack round trips
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-live', log, batchSize: 50, window: 1, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    await up.start();
    await until(() => up.stats.connected && cloud.arrivals('gw-live').length > 0);
    const live = log.append({ ...anEvent(N), granted: true, reason: 'granted' }).seq;
    await until(() => cloud.stored('gw-live').has(live), 5_000, 'the live event');
    // the live event overtook most of the backlog …
    const at = cloud.arrivals('gw-live').indexOf(live);
    expect(at).toBeLessThan(N / 2);
    expect(cloud.arrivals('gw-live').slice(0, at)).not.toContain(N);
    expect(up.draining).toBe(true);
    // … which still drained completely, and the watermark then covered the live event without a resend
    await until(() => log.backlog().events === 0, 20_000, 'the drain');
    expect([...cloud.stored('gw-live').keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: N + 1 }, (_, i) => i + 1),
    );
    expect(cloud.stats().duplicates).toBe(0);
    expect(up.stats.liveSent).toBeGreaterThanOrEqual(1);
  });

  it('forwards telemetry only once the event backlog has been sent, and deletes it on the broker ack', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const db = openGatewayDb(':memory:');
    const log = new EventLog(db);
    const telemetry = new TelemetryBuffer(db);
    telemetry.push(
      Array.from({ length: 1_200 }, (_, i) => ({
        deviceId: 'climate-1',
        kind: 'climate' as const,
        ts: 1_000 + i,
        metrics: { temperatureC: 21.5, humidityPct: 40 },
      })),
    );
    for (let i = 0; i < 1_000; i++) log.append(anEvent(i));
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-tel', log, telemetry, batchSize: 100, reconnectMs: 50 });
    cleanup.push(() => up.stop());
    await up.start();
    await until(() => cloud.telemetry.length === 1_200 && log.backlog().events === 0, 15_000, 'both streams');
    expect(telemetry.count).toBe(0);
    expect(cloud.telemetry.length).toBe(1_200);
    expect(cloud.telemetry.map((s) => s.ts)).toEqual(Array.from({ length: 1_200 }, (_, i) => 1_000 + i));
    // every event of the backlog had reached the cloud before the first telemetry batch
    expect(cloud.telemetryAfter[0]).toBeGreaterThanOrEqual(1_000);
    expect(up.stats.telemetryBatchesSent).toBe(3); // 500 + 500 + 200
  });

  it('holds the backlog while a decision is under way — live events still go — and never for long', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const N = 2_000;
    for (let i = 0; i < N; i++) log.append(anEvent(i));
    let busy = true;
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-busy', log, batchSize: 50, window: 2, busy: () => busy });
    cleanup.push(() => up.stop());
    await up.start();
    await until(() => up.stats.connected);
    // deciding all along: the lane still lets one batch through per BACKLOG_YIELD_MS, so the drain moves, slowly
    const t0 = performance.now();
    await until(() => up.stats.batchesSent >= 3, 5_000, 'batches while busy');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1.5 * BACKLOG_YIELD_MS);
    expect(up.draining).toBe(true);
    // a live event is not held
    const live = log.append({ ...anEvent(N), granted: true, reason: 'granted' }).seq;
    await until(() => cloud.stored('gw-busy').has(live), 2_000, 'the live event while busy');
    // the decision is over: the rest drains at full speed, gap-free
    busy = false;
    await until(() => log.backlog().events === 0, 20_000, 'the drain');
    expect(cloud.stored('gw-busy').size).toBe(N + 1);
  });

  it('paces the backlog to its drain rate, and still sends a live event at once', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const log = new EventLog(':memory:');
    const N = 1_000;
    for (let i = 0; i < N; i++) log.append(anEvent(i));
    // 100 events per batch at 2,000 events/s: a batch every 50 ms, so the 1,000 take at least ~450 ms
    const up = new Uplink({ url: cloud.url, gatewayId: 'gw-paced', log, batchSize: 100, window: 8, drainRate: 2_000 });
    cleanup.push(() => up.stop());
    await up.start();
    await until(() => up.stats.connected && up.stats.batchesSent > 0);
    const t0 = performance.now();
    const live = log.append({ ...anEvent(N), granted: true, reason: 'granted' }).seq;
    await until(() => cloud.stored('gw-paced').has(live), 2_000, 'the live event');
    expect(performance.now() - t0).toBeLessThan(300); // not behind the paced backlog
    await until(() => log.backlog().events === 0, 10_000, 'the drain');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
    expect(cloud.stored('gw-paced').size).toBe(N + 1);
  });
});
