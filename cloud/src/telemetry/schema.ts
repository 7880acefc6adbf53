// The one place that decides how telemetry is stored. Device samples and gateway health live in their own
// PostgreSQL schema, `telemetry` (not Prisma's: the schema-agreement test reads only the current schema), as:
// - TimescaleDB hypertables (daily chunks, compression after 7 days, a retention policy, continuous aggregates per
//   minute and per hour) when the server offers the extension (pg_available_extensions) and it loads;
// - otherwise native range partitions, one per UTC day, with a BRIN index on ts; telemetry.ensure_partitions
//   creates days ahead (and on demand for late data), telemetry.drop_partitions_before is the retention job.
//   Rollups are then computed by query (date_bin over the per-series btree): a device+metric series is a few
//   thousand rows a day, read in milliseconds, and a query needs no refresh job, lag or invalidation of late data —
//   the things continuous aggregates exist to solve, which a hand-made rollup table would have to reinvent.
// A database keeps the layout it was created with: a native layout is not converted when TimescaleDB appears later.
// Applied at every start after the SQL migrations; every statement is idempotent and runs under an advisory lock.
import type { SqlDriver, SqlTx } from '../db/driver.js';

export type TelemetryMode = 'timescale' | 'native';

export interface TelemetrySchemaOptions {
  /** Samples and health older than this are dropped (and refused at ingest). */
  retentionDays: number;
  /** 'native' forces partitions even where TimescaleDB is available (tests); default 'auto'. */
  prefer?: 'auto' | 'native';
  /** Days of partitions created ahead of today (native layout). */
  daysAhead?: number;
}

export interface TelemetrySchema {
  mode: TelemetryMode;
  /** Why this mode: the extension's absence, a load failure, or an existing layout. */
  reason: string;
}

const LOCK_ID = 4_242_043;
export const DAYS_AHEAD = 3;

// Narrow rows: one metric value per row. COPY writes them without parsing JSON, every aggregate is a plain
// avg/min/max over `value`, and TimescaleDB compresses a (gateway, device, metric) segment into runs of
// near-identical values. Booleans are stored as 0/1. The unique key makes a re-sent sample a no-op (see store.ts).
const TABLES = `
CREATE SCHEMA IF NOT EXISTS telemetry;
CREATE TABLE IF NOT EXISTS telemetry.device_samples (
  ts timestamptz(3) NOT NULL,
  gateway_id text NOT NULL,
  device_id text NOT NULL,
  kind text NOT NULL,
  metric text NOT NULL,
  value double precision NOT NULL
)%PARTITION%;
CREATE TABLE IF NOT EXISTS telemetry.gateway_health (
  ts timestamptz(3) NOT NULL,
  gateway_id text NOT NULL,
  software text NOT NULL,
  uptime_s double precision NOT NULL,
  backlog_events bigint NOT NULL,
  backlog_bytes bigint NOT NULL,
  backlog_oldest timestamptz(3),
  dropped_telemetry bigint NOT NULL,
  disk_free_mb double precision NOT NULL,
  rss_mb double precision NOT NULL,
  load1 double precision NOT NULL,
  clock_offset_ms double precision,
  desired_version integer NOT NULL,
  applied_version integer NOT NULL,
  devices_online integer NOT NULL,
  devices_total integer NOT NULL
)%PARTITION%;
-- The newest value per device and metric, upserted with each batch: "latest" is a lookup, not a scan.
CREATE TABLE IF NOT EXISTS telemetry.latest (
  gateway_id text NOT NULL,
  device_id text NOT NULL,
  metric text NOT NULL,
  kind text NOT NULL,
  ts timestamptz(3) NOT NULL,
  value double precision NOT NULL,
  PRIMARY KEY (gateway_id, device_id, metric)
);
CREATE UNIQUE INDEX IF NOT EXISTS device_samples_series ON telemetry.device_samples (gateway_id, device_id, metric, ts);
CREATE UNIQUE INDEX IF NOT EXISTS gateway_health_series ON telemetry.gateway_health (gateway_id, ts);`;

// The maintenance functions of the native layout. Partition names end in the UTC day they hold (_pYYYYMMDD), which
// is what the retention function reads back. The advisory lock keeps two instances from racing on CREATE TABLE.
const NATIVE_FUNCTIONS = `
CREATE INDEX IF NOT EXISTS device_samples_ts ON telemetry.device_samples USING brin (ts);
CREATE INDEX IF NOT EXISTS gateway_health_ts ON telemetry.gateway_health USING brin (ts);
CREATE OR REPLACE FUNCTION telemetry.ensure_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  d date;
  part text;
  made integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(${LOCK_ID});
  FOREACH parent IN ARRAY ARRAY['device_samples', 'gateway_health'] LOOP
    d := first_day;
    WHILE d <= last_day LOOP
      part := parent || '_p' || to_char(d, 'YYYYMMDD');
      IF to_regclass(format('telemetry.%I', part)) IS NULL THEN
        EXECUTE format('CREATE TABLE telemetry.%I PARTITION OF telemetry.%I FOR VALUES FROM (%L) TO (%L)',
          part, parent, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
        made := made + 1;
      END IF;
      d := d + 1;
    END LOOP;
  END LOOP;
  RETURN made;
END $$;
CREATE OR REPLACE FUNCTION telemetry.drop_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  part text;
  dropped integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(${LOCK_ID});
  FOR part IN
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE n.nspname = 'telemetry' AND p.relname IN ('device_samples', 'gateway_health')
      AND c.relname ~ '_p[0-9]{8}$' AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
  LOOP
    EXECUTE format('DROP TABLE telemetry.%I', part);
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END $$;`;

// Continuous aggregates keep sum and count rather than avg so the hourly one (built on the minute one) stays exact.
// materialized_only = false: buckets the refresh policy has not reached yet are computed from the raw rows, so a
// query sees a sample as soon as it is stored (PGlite has no background workers to run the policies at all).
const AGGREGATES = [
  {
    name: 'device_samples_1m',
    select: `SELECT time_bucket(INTERVAL '1 minute', ts) AS bucket, gateway_id, device_id, metric,
        sum(value) AS total, count(*) AS n, min(value) AS min, max(value) AS max
      FROM telemetry.device_samples GROUP BY 1, 2, 3, 4`,
    policy: `start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute'`,
  },
  {
    name: 'device_samples_1h',
    select: `SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, gateway_id, device_id, metric,
        sum(total) AS total, sum(n)::bigint AS n, min(min) AS min, max(max) AS max
      FROM telemetry.device_samples_1m GROUP BY 1, 2, 3, 4`,
    policy: `start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes'`,
  },
];

export async function applyTelemetrySchema(
  driver: SqlDriver,
  options: TelemetrySchemaOptions,
  now: Date = new Date(),
): Promise<TelemetrySchema> {
  const chosen = await chooseMode(driver, options.prefer ?? 'auto');
  await driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_ID})`);
    await tx.exec(TABLES.replaceAll('%PARTITION%', chosen.mode === 'native' ? ' PARTITION BY RANGE (ts)' : ''));
    if (chosen.mode === 'native') await tx.exec(NATIVE_FUNCTIONS);
    else await timescale(tx, options.retentionDays);
  });
  if (chosen.mode === 'native') await maintainPartitions(driver, options.retentionDays, now, options.daysAhead);
  return chosen;
}

/** Native layout: partitions from yesterday to `daysAhead` days ahead, and the retention drop. */
export async function maintainPartitions(
  driver: SqlDriver,
  retentionDays: number,
  now: Date = new Date(),
  daysAhead = DAYS_AHEAD,
): Promise<{ created: number; dropped: number }> {
  const [made] = await driver.query<{ n: number }>('SELECT telemetry.ensure_partitions($1::date, $2::date) AS n', [
    dayOf(now, -1),
    dayOf(now, daysAhead),
  ]);
  const [gone] = await driver.query<{ n: number }>('SELECT telemetry.drop_partitions_before($1::date) AS n', [
    dayOf(now, -retentionDays),
  ]);
  return { created: made?.n ?? 0, dropped: gone?.n ?? 0 };
}

/** The UTC day `offset` days from `at`, as YYYY-MM-DD. */
export function dayOf(at: Date | number, offset = 0): string {
  return new Date(new Date(at).getTime() + offset * 86_400_000).toISOString().slice(0, 10);
}

/** The layout an existing database has, or null before the schema is applied. */
export async function telemetryMode(driver: Pick<SqlDriver, 'query'>): Promise<TelemetryMode | null> {
  const [row] = await driver.query<{ exists: boolean; partitioned: boolean }>(`
    SELECT to_regclass('telemetry.device_samples') IS NOT NULL AS exists,
      EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('telemetry.device_samples')) AS partitioned`);
  if (!row?.exists) return null;
  return row.partitioned ? 'native' : 'timescale';
}

async function chooseMode(driver: SqlDriver, prefer: 'auto' | 'native'): Promise<TelemetrySchema> {
  const existing = await telemetryMode(driver);
  if (existing) return { mode: existing, reason: 'existing layout kept' };
  if (prefer === 'native') return { mode: 'native', reason: 'native partitions asked for' };
  const available = await driver.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (available.length === 0) return { mode: 'native', reason: 'timescaledb is not available on this server' };
  try {
    // Outside the DDL transaction: on a server where the library is not preloaded this fails, and that failure
    // must not abort the transaction that then builds the native layout.
    await driver.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return { mode: 'timescale', reason: 'timescaledb extension loaded' };
  } catch (err) {
    const loaded = await driver.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
    if (loaded.length > 0) return { mode: 'timescale', reason: 'timescaledb extension loaded' };
    return { mode: 'native', reason: `timescaledb failed to load: ${(err as Error).message}` };
  }
}

async function timescale(tx: SqlTx, retentionDays: number): Promise<void> {
  const compressed = new Set(
    (
      await tx.query<{ name: string }>(`SELECT hypertable_name AS name FROM timescaledb_information.hypertables
        WHERE hypertable_schema = 'telemetry' AND compression_enabled`)
    ).map((r) => r.name),
  );
  for (const [table, segmentBy] of [
    ['device_samples', 'gateway_id, device_id, metric'],
    ['gateway_health', 'gateway_id'],
  ] as const) {
    await tx.query(
      `SELECT create_hypertable('telemetry.${table}', by_range('ts', INTERVAL '1 day'), if_not_exists => true)`,
    );
    if (!compressed.has(table)) {
      await tx.exec(`ALTER TABLE telemetry.${table} SET (timescaledb.compress,
        timescaledb.compress_segmentby = '${segmentBy}', timescaledb.compress_orderby = 'ts')`);
    }
    await tx.query(`SELECT add_compression_policy('telemetry.${table}', INTERVAL '7 days', if_not_exists => true)`);
    await retention(tx, `telemetry.${table}`, retentionDays);
  }
  for (const agg of AGGREGATES) {
    const [exists] = await tx.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
      `telemetry.${agg.name}`,
    ]);
    if (!exists?.ok) {
      await tx.exec(`CREATE MATERIALIZED VIEW telemetry.${agg.name}
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS ${agg.select} WITH NO DATA`);
    }
    await tx.query(
      `SELECT add_continuous_aggregate_policy('telemetry.${agg.name}', ${agg.policy}, if_not_exists => true)`,
    );
  }
  // Minute buckets go with the raw rows; hour buckets (24 a day per series) are kept ten times as long.
  await retention(tx, 'telemetry.device_samples_1m', retentionDays);
  await retention(tx, 'telemetry.device_samples_1h', retentionDays * 10);
}

/** A retention policy of exactly `days`; replaced when the configured period changed since the last start. */
async function retention(tx: SqlTx, relation: string, days: number): Promise<void> {
  const [job] = await tx.query<{ drop_after: string | null }>(
    `SELECT j.config->>'drop_after' AS drop_after FROM timescaledb_information.jobs j
      LEFT JOIN timescaledb_information.continuous_aggregates c ON c.materialization_hypertable_schema = j.hypertable_schema
        AND c.materialization_hypertable_name = j.hypertable_name
     WHERE j.proc_name = 'policy_retention'
       AND format('%I.%I', coalesce(c.view_schema, j.hypertable_schema), coalesce(c.view_name, j.hypertable_name)) = $1`,
    [relation],
  );
  const wanted = `${days} days`;
  if (job?.drop_after === wanted) return;
  if (job) await tx.query('SELECT remove_retention_policy($1::regclass)', [relation]);
  await tx.query(`SELECT add_retention_policy($1::regclass, INTERVAL '${wanted}')`, [relation]);
}
