// The telemetry schema module on both layouts: native partitions on the suite's database (PGlite, or PostgreSQL with
// DATABASE_URL) and TimescaleDB hypertables on the PGlite build that carries the extension.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryQueries } from '../src/telemetry/queries.js';
import { applyTelemetrySchema, dayOf, maintainPartitions, telemetryMode } from '../src/telemetry/schema.js';
import { telemetryStore } from '../src/telemetry/store.js';
import {
  climateBatch,
  GATEWAY,
  meterBatch,
  meterExpected,
  suiteDb,
  type TelemetryDb,
  timescaleDb,
} from './telemetry-helpers.js';

/** Both layouts must answer the same rollups: from the continuous aggregates, or by date_bin over raw rows. */
async function expectRollups(db: TelemetryDb) {
  const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
  expect(await telemetryStore(db).ingest(GATEWAY, meterBatch(hourStart))).toMatchObject({ stored: 360 });
  const q = telemetryQueries(db.driver);
  const series = { gatewayId: GATEWAY, deviceId: 'meter-1', metric: 'power' };
  const expected = meterExpected(hourStart);
  const range = { from: new Date(hourStart), to: new Date(hourStart + 2 * 3_600_000) };
  expect(await q.rollup({ ...series, bucket: 'minute', ...range })).toEqual(expected.minute);
  expect(await q.rollup({ ...series, bucket: 'hour', ...range })).toEqual(expected.hour);
  // an unaligned range is widened to whole buckets
  const inner = { from: new Date(hourStart + 90_000), to: new Date(hourStart + 150_000) };
  expect(await q.rollup({ ...series, bucket: 'minute', ...inner })).toEqual(expected.minute.slice(1, 3));
  const [latest] = await q.latest(db.estateId, { deviceId: 'meter-1' });
  expect(latest).toMatchObject({ metric: 'power', value: 359, ts: new Date(hourStart + 359 * 20_000).toISOString() });
}

const partitionsOf = async (db: TelemetryDb, parent: string) =>
  (
    await db.driver.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [`telemetry.${parent}`],
    )
  ).map((r) => r.name);

describe('native partitions (no TimescaleDB on this server)', () => {
  let db: TelemetryDb;
  const now = new Date();
  beforeAll(async () => {
    db = await suiteDb();
  }, 90_000);
  afterAll(async () => db?.close());

  it('chooses partitions, with days from yesterday to three ahead and BRIN indexes on ts', async () => {
    const chosen = await applyTelemetrySchema(db.driver, { retentionDays: 30 }, now);
    expect(chosen).toEqual({ mode: 'native', reason: 'timescaledb is not available on this server' });
    const days = [-1, 0, 1, 2, 3].map((d) => `device_samples_p${dayOf(now, d).replaceAll('-', '')}`);
    expect(await partitionsOf(db, 'device_samples')).toEqual(days);
    expect(await partitionsOf(db, 'gateway_health')).toHaveLength(5);
    const brin = await db.driver.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'telemetry' AND tablename = $1 AND indexdef LIKE '%brin%'`,
      [days[1]],
    );
    expect(brin[0]?.indexdef).toMatch(/USING brin \(ts\)/);
  });

  it('is idempotent and keeps the layout it made', async () => {
    const again = await applyTelemetrySchema(db.driver, { retentionDays: 30 }, now);
    expect(again).toEqual({ mode: 'native', reason: 'existing layout kept' });
    expect(await partitionsOf(db, 'device_samples')).toHaveLength(5);
    expect(await telemetryMode(db.driver)).toBe('native');
  });

  it('creates the partition of a late day on demand and stores the rows in their day', async () => {
    const store = telemetryStore(db);
    const tenDaysAgo = now.getTime() - 10 * 86_400_000;
    const r = await store.ingest(GATEWAY, climateBatch(3, tenDaysAgo));
    expect(r).toEqual({ stored: 6, duplicates: 0, refused: {} });
    const where = await db.driver.query<{ part: string; n: number }>(
      'SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM telemetry.device_samples GROUP BY 1',
    );
    expect(where).toEqual([{ part: `telemetry.device_samples_p${dayOf(tenDaysAgo).replaceAll('-', '')}`, n: 6 }]);
  });

  it('drops partitions older than the retention period and keeps the rest', async () => {
    await db.driver.query('SELECT telemetry.ensure_partitions($1::date, $1::date)', [dayOf(now, -40)]);
    const before = await partitionsOf(db, 'device_samples');
    expect(before).toContain(`device_samples_p${dayOf(now, -40).replaceAll('-', '')}`);
    const { dropped } = await maintainPartitions(db.driver, 30, now);
    expect(dropped).toBe(2); // the 40-day-old day of samples and of health
    const after = await partitionsOf(db, 'device_samples');
    expect(after).toEqual(before.filter((p) => !p.endsWith(dayOf(now, -40).replaceAll('-', ''))));
    expect(after).toContain(`device_samples_p${dayOf(now, -10).replaceAll('-', '')}`);
  });

  it('rolls a series up per minute and per hour by query, and keeps its latest value', () => expectRollups(db));
});

describe('TimescaleDB hypertables (PGlite with the extension)', () => {
  let db: TelemetryDb;
  beforeAll(async () => {
    db = await timescaleDb();
  }, 120_000);
  afterAll(async () => db?.close());

  const jobs = () =>
    db.driver.query<{ proc: string; relation: string; config: Record<string, unknown> }>(
      `SELECT j.proc_name AS proc, coalesce(c.view_name, j.hypertable_name) AS relation, j.config
       FROM timescaledb_information.jobs j
       LEFT JOIN timescaledb_information.continuous_aggregates c
         ON c.materialization_hypertable_name = j.hypertable_name
       WHERE j.proc_name LIKE 'policy_%' AND j.proc_name <> 'policy_job_stat_history_retention' ORDER BY 2, 1`,
    );

  it('chooses hypertables with compression, retention and per-minute and per-hour continuous aggregates', async () => {
    const chosen = await applyTelemetrySchema(db.driver, { retentionDays: 30 });
    expect(chosen.mode).toBe('timescale');
    const hypertables = await db.driver.query<{ name: string; compression_enabled: boolean }>(
      `SELECT hypertable_name AS name, compression_enabled FROM timescaledb_information.hypertables
       WHERE hypertable_schema = 'telemetry' ORDER BY 1`,
    );
    expect(hypertables).toEqual([
      { name: 'device_samples', compression_enabled: true },
      { name: 'gateway_health', compression_enabled: true },
    ]);
    const aggregates = await db.driver.query<{ view_name: string; materialized_only: boolean }>(
      `SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates ORDER BY 1`,
    );
    expect(aggregates).toEqual([
      { view_name: 'device_samples_1h', materialized_only: false },
      { view_name: 'device_samples_1m', materialized_only: false },
    ]);
    const policies = (await jobs()).map((j) => `${j.relation}:${j.proc}:${j.config.drop_after ?? ''}`);
    expect(policies).toEqual([
      'device_samples:policy_compression:',
      'device_samples:policy_retention:30 days',
      'device_samples_1h:policy_refresh_continuous_aggregate:',
      'device_samples_1h:policy_retention:300 days',
      'device_samples_1m:policy_refresh_continuous_aggregate:',
      'device_samples_1m:policy_retention:30 days',
      'gateway_health:policy_compression:',
      'gateway_health:policy_retention:30 days',
    ]);
  });

  it('is idempotent, and a changed retention period replaces the policy instead of adding one', async () => {
    expect(await applyTelemetrySchema(db.driver, { retentionDays: 30 })).toEqual({
      mode: 'timescale',
      reason: 'existing layout kept',
    });
    await applyTelemetrySchema(db.driver, { retentionDays: 60 });
    const retention = (await jobs()).filter((j) => j.proc === 'policy_retention');
    expect(retention.map((j) => `${j.relation}:${j.config.drop_after}`)).toEqual([
      'device_samples:60 days',
      'device_samples_1h:600 days',
      'device_samples_1m:60 days',
      'gateway_health:60 days',
    ]);
  });

  it('takes COPY into the hypertable, also into a compressed chunk', async () => {
    const store = telemetryStore(db, { retentionDays: 60 });
    const end = Date.now() - 20 * 86_400_000;
    expect(await store.ingest(GATEWAY, climateBatch(5, end))).toMatchObject({ stored: 10, duplicates: 0 });
    await db.driver.query(
      "SELECT compress_chunk(c) FROM show_chunks('telemetry.device_samples', older_than => INTERVAL '7 days') c",
    );
    // the same five seconds again plus one new: the new rows land, the repeated ones are recognised
    expect(await store.ingest(GATEWAY, climateBatch(6, end + 1000))).toMatchObject({ stored: 2, duplicates: 10 });
    const [n] = await db.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry.device_samples');
    expect(n?.n).toBe(12);
  });

  it('rolls a series up per minute and per hour from the continuous aggregates', async () => {
    await expectRollups(db);
    // materialised buckets (what the refresh policy would do on a server) give the same answer
    await db.driver.exec("CALL refresh_continuous_aggregate('telemetry.device_samples_1m', NULL, NULL)");
    await db.driver.exec("CALL refresh_continuous_aggregate('telemetry.device_samples_1h', NULL, NULL)");
    const [m] = await db.driver.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM telemetry.device_samples_1m WHERE metric = 'power'",
    );
    expect(m?.n).toBe(120);
  });
});
