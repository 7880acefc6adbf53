// Reading telemetry back: the latest value per device and metric, per-minute / per-hour rollups of one series, and
// the online state of an estate's gateways and devices. Rollups read the continuous aggregates on TimescaleDB and
// aggregate the raw rows with date_bin on native partitions; both answer the same buckets for the same range.
import { AppError } from '../core/errors.js';
import type { SqlDriver } from '../db/driver.js';
import { type TelemetryMode, telemetryMode } from './schema.js';

export const BUCKETS = { minute: 60_000, hour: 3_600_000 } as const;
export type Bucket = keyof typeof BUCKETS;
/** A rollup answers at most this many buckets (a day of minutes, two months of hours). */
export const MAX_BUCKETS = 1_440;
const LATEST_LIMIT = 5_000;

export interface LatestValue {
  gatewayId: string;
  deviceId: string;
  kind: string;
  metric: string;
  value: number;
  ts: string;
}

export interface RollupPoint {
  ts: string;
  avg: number;
  min: number;
  max: number;
  count: number;
}

export interface RollupQuery {
  gatewayId: string;
  deviceId: string;
  metric: string;
  bucket: Bucket;
  from: Date;
  to: Date;
}

const iso = (d: Date | string) => new Date(d).toISOString();

export function telemetryQueries(driver: SqlDriver) {
  let mode: Promise<TelemetryMode | null> | undefined;

  return {
    /** The newest value of every metric of every device of an estate (optionally one gateway or device). */
    async latest(estateId: string, filter: { gatewayId?: string; deviceId?: string } = {}): Promise<LatestValue[]> {
      const rows = await driver.query<{
        gateway_id: string;
        device_id: string;
        kind: string;
        metric: string;
        value: number;
        ts: Date | string;
      }>(
        `SELECT l.gateway_id, l.device_id, l.kind, l.metric, l.value, l.ts
         FROM telemetry.latest l JOIN gateways g ON g.id = l.gateway_id
         WHERE g.estate_id = $1 AND ($2::text IS NULL OR l.gateway_id = $2) AND ($3::text IS NULL OR l.device_id = $3)
         ORDER BY l.gateway_id, l.device_id, l.metric LIMIT ${LATEST_LIMIT}`,
        [estateId, filter.gatewayId ?? null, filter.deviceId ?? null],
      );
      return rows.map((r) => ({
        gatewayId: r.gateway_id,
        deviceId: r.device_id,
        kind: r.kind,
        metric: r.metric,
        value: Number(r.value),
        ts: iso(r.ts),
      }));
    },

    /** Buckets whose start lies in [from, to), the range widened to whole buckets; empty buckets are absent. */
    async rollup(q: RollupQuery): Promise<RollupPoint[]> {
      const size = BUCKETS[q.bucket];
      const from = Math.floor(q.from.getTime() / size) * size;
      const to = Math.ceil(q.to.getTime() / size) * size;
      if (!(to > from)) throw new AppError('BAD_REQUEST', '`to` must be after `from`');
      if ((to - from) / size > MAX_BUCKETS) {
        throw new AppError('BAD_REQUEST', `at most ${MAX_BUCKETS} buckets per query; narrow the range`);
      }
      mode ??= telemetryMode(driver);
      const params = [q.gatewayId, q.deviceId, q.metric, iso(new Date(from)), iso(new Date(to))];
      const series = 'gateway_id = $1 AND device_id = $2 AND metric = $3';
      const sql =
        (await mode) === 'timescale'
          ? `SELECT bucket AS ts, total / n AS avg, min, max, n AS count
             FROM telemetry.device_samples_${q.bucket === 'minute' ? '1m' : '1h'}
             WHERE ${series} AND bucket >= $4 AND bucket < $5 ORDER BY bucket`
          : `SELECT date_bin(INTERVAL '1 ${q.bucket}', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS ts,
               avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS count
             FROM telemetry.device_samples WHERE ${series} AND ts >= $4 AND ts < $5 GROUP BY 1 ORDER BY 1`;
      const rows = await driver.query<{ ts: Date | string; avg: number; min: number; max: number; count: unknown }>(
        sql,
        params,
      );
      return rows.map((r) => ({
        ts: iso(r.ts),
        avg: Number(r.avg),
        min: Number(r.min),
        max: Number(r.max),
        count: Number(r.count),
      }));
    },
  };
}

export type TelemetryQueries = ReturnType<typeof telemetryQueries>;
