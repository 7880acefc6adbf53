// Telemetry ingest against bad input: times far ahead or behind, wrong kinds and names, a full 2,000-sample batch,
// duplicates (inside a batch, a re-sent batch, an overlapping one) and health reports arriving twice or late.
import type { GatewayHealth, TelemetryBatch } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryHandlers } from '../src/telemetry/handlers.js';
import { applyTelemetrySchema } from '../src/telemetry/schema.js';
import { MAX_FUTURE_MS, telemetryStore } from '../src/telemetry/store.js';
import { climateBatch, GATEWAY, suiteDb, type TelemetryDb } from './telemetry-helpers.js';

let db: TelemetryDb;
const NOW = new Date();
const clock = () => NOW;
const count = async () =>
  (await db.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry.device_samples'))[0]?.n;

beforeAll(async () => {
  db = await suiteDb();
  await applyTelemetrySchema(db.driver, { retentionDays: 30 }, NOW);
}, 90_000);
afterAll(async () => db?.close());

const sample = (ts: number, extra: Partial<TelemetryBatch['samples'][number]> = {}) => ({
  deviceId: 'climate-1',
  kind: 'climate' as const,
  ts,
  metrics: { temperature: 21 },
  ...extra,
});
const batchOf = (...samples: TelemetryBatch['samples']): TelemetryBatch => ({
  gatewayId: GATEWAY,
  sentAt: NOW.getTime(),
  samples,
});

describe('telemetry ingest', () => {
  it('stores a full 2,000-sample batch in one COPY and moves latest values and last-seen', async () => {
    const store = telemetryStore(db, { clock, retentionDays: 30 });
    const end = NOW.getTime() - 60_000;
    expect(await store.ingest(GATEWAY, climateBatch(2_000, end))).toEqual({
      stored: 4_000,
      duplicates: 0,
      refused: {},
    });
    expect(await count()).toBe(4_000);
    const latest = await db.driver.query<{ metric: string; value: number; ts: Date }>(
      "SELECT metric, value, ts FROM telemetry.latest WHERE device_id = 'climate-1' ORDER BY metric",
    );
    expect(latest.map((l) => [l.metric, new Date(l.ts).getTime()])).toEqual([
      ['open', end],
      ['temperature', end],
    ]);
    const [device] = await db.driver.query<{ last_seen_at: Date }>(
      "SELECT last_seen_at FROM gateway_devices WHERE device_id = 'climate-1'",
    );
    expect(new Date(device?.last_seen_at ?? 0).getTime()).toBe(end);
  });

  it('refuses times more than 5 minutes ahead or older than retention, and stores the rest of the batch', async () => {
    const store = telemetryStore(db, { clock, retentionDays: 30 });
    const t = NOW.getTime();
    const r = await store.ingest(
      GATEWAY,
      batchOf(
        sample(t + MAX_FUTURE_MS + 1_000),
        sample(t + 365 * 86_400_000),
        sample(t + MAX_FUTURE_MS - 1_000),
        sample(t - 31 * 86_400_000),
        sample(0),
        sample(t - 29 * 86_400_000),
      ),
    );
    expect(r).toEqual({ stored: 2, duplicates: 0, refused: { future: 2, past: 2 } });
    expect(store.totals.refused).toEqual({ future: 2, past: 2 });
  });

  it('refuses a wrong kind, a bad device id or metric name and a non-finite value, one by one', async () => {
    const store = telemetryStore(db, { clock });
    const t = NOW.getTime() - 1_000;
    const r = await store.ingest(
      GATEWAY,
      batchOf(
        sample(t, { kind: 'toaster' as never, metrics: { a: 1, b: 2 } }),
        sample(t, { deviceId: 'Bad Device\t1' }),
        sample(t + 1, { metrics: { 'bad name': 1, 'x\ny': 2, ok: 3 } }),
        sample(t + 2, { metrics: { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, text: '7' as never, on: true } }),
      ),
    );
    expect(r).toEqual({ stored: 2, duplicates: 0, refused: { kind: 2, id: 1, metric: 2, value: 3 } });
    const stored = await db.driver.query<{ metric: string; value: number }>(
      'SELECT metric, value FROM telemetry.device_samples WHERE ts > $1 AND ts < $2 ORDER BY metric',
      [new Date(t).toISOString(), new Date(t + 10).toISOString()],
    );
    expect(stored).toEqual([
      { metric: 'ok', value: 3 },
      { metric: 'on', value: 1 },
    ]);
  });

  it('deduplicates on (gateway, device, metric, ts): inside a batch, a re-sent batch and an overlapping one', async () => {
    const store = telemetryStore(db, { clock });
    const end = NOW.getTime() - 3_600_000;
    const before = await count();
    const twice = climateBatch(50, end);
    twice.samples.push(...climateBatch(10, end).samples);
    expect(await store.ingest(GATEWAY, twice)).toEqual({ stored: 100, duplicates: 20, refused: {} });
    expect(await store.ingest(GATEWAY, climateBatch(50, end))).toEqual({ stored: 0, duplicates: 100, refused: {} });
    // 25 seconds later: 25 samples new, 25 already stored
    expect(await store.ingest(GATEWAY, climateBatch(50, end + 25_000))).toEqual({
      stored: 50,
      duplicates: 50,
      refused: {},
    });
    expect((await count()) ?? 0).toBe((before ?? 0) + 150);
  });

  it('stores a health report once, updates device state, and lets a late report not roll it back', async () => {
    const { health } = telemetryHandlers(
      { ...db, config: { telemetryRetentionDays: 30 } } as unknown as Parameters<typeof telemetryHandlers>[0],
      { clock },
    );
    const report = (ts: number, online: boolean): GatewayHealth => ({
      ts,
      software: 'estate-gateway 0.1.0',
      uptimeS: 100,
      backlog: { events: 5, bytes: 800, droppedTelemetry: 0 },
      diskFreeMb: 900,
      rssMb: 120,
      load1: 0.4,
      desiredVersion: 3,
      appliedVersion: 3,
      devices: [{ deviceId: 'meter-1', kind: 'energy', online, lastSeen: ts - 1_000 }],
    });
    const t = NOW.getTime() - 10_000;
    expect(await health(GATEWAY, report(t, true))).toBe(true);
    expect(await health(GATEWAY, report(t, true))).toBe(false);
    expect(await health(GATEWAY, report(t - 60_000, false))).toBe(true);
    expect(await health(GATEWAY, report(NOW.getTime() + 3_600_000, false))).toBe(false);
    const [meter] = await db.driver.query<{ online: boolean; last_seen_at: Date }>(
      "SELECT online, last_seen_at FROM gateway_devices WHERE device_id = 'meter-1'",
    );
    expect(meter?.online).toBe(true);
    expect(new Date(meter?.last_seen_at ?? 0).getTime()).toBe(t - 1_000);
    const rows = await db.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry.gateway_health');
    expect(rows[0]?.n).toBe(2);
  });
});
