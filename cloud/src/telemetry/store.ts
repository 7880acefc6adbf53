// Telemetry ingest: a gateway's batch becomes narrow rows written with one COPY (pg-copy-streams on PostgreSQL,
// COPY FROM '/dev/blob' on PGlite — the driver's copyFrom). Samples are checked one by one; a refused sample is
// counted with its reason and never fails the rest of its batch.
//
// Duplicates are tolerated on the wire and removed in storage: telemetry travels at least once (a lost ack makes
// the gateway send the batch again), and a doubled sample would skew avg and count. The natural key
// (gateway, device, metric, ts) is unique — a device cannot read two values of one metric in the same millisecond —
// so duplicates inside a batch are dropped before COPY, and a batch that repeats stored rows falls back from the
// plain COPY (which stops at the unique index) to COPY into a staging table + INSERT ... ON CONFLICT DO NOTHING.
// The common case keeps raw COPY speed; only a re-sent batch pays for the second pass.
import { DEVICE_KINDS, type GatewayHealth, ID_PATTERN, type TelemetryBatch } from '@estate/protocols';
import type { CloudDeps } from '../core/deps.js';
import type { SqlDriver, SqlTx } from '../db/driver.js';
import { dayOf, telemetryMode } from './schema.js';

/** A sample stamped later than this ahead of the cloud clock is refused (a gateway clock gone wrong). */
export const MAX_FUTURE_MS = 5 * 60_000;
const METRIC = /^[a-zA-Z][a-zA-Z0-9_]{0,47}$/;
const ID = new RegExp(ID_PATTERN);
const KINDS: ReadonlySet<string> = new Set(DEVICE_KINDS);
const COLUMNS = '(ts, gateway_id, device_id, kind, metric, value)';

export type RefusalReason = 'future' | 'past' | 'kind' | 'id' | 'metric' | 'value';

export interface IngestResult {
  /** Rows (one per metric value) written. */
  stored: number;
  /** Rows already stored, or repeated inside the batch. */
  duplicates: number;
  /** Refused values by reason (a sample refused whole counts once per metric). */
  refused: Partial<Record<RefusalReason, number>>;
}

export interface TelemetryStoreOptions {
  clock?: () => Date;
  /** Default: config.telemetryRetentionDays, else 30. */
  retentionDays?: number;
}

interface Row {
  ts: number;
  deviceId: string;
  kind: string;
  metric: string;
  value: number;
}

// Per driver: the layout, and the days whose partitions are known to exist (native layout).
const knownDays = new WeakMap<SqlDriver, Set<string>>();
const modes = new WeakMap<SqlDriver, Promise<string | null>>();

export function telemetryStore(
  deps: Pick<CloudDeps, 'driver'> & { config?: { telemetryRetentionDays?: number } },
  options: TelemetryStoreOptions = {},
) {
  const { driver } = deps;
  const clock = options.clock ?? (() => new Date());
  const retentionDays = options.retentionDays ?? deps.config?.telemetryRetentionDays ?? 30;
  const totals: IngestResult = { stored: 0, duplicates: 0, refused: {} };

  const mode = () => {
    let m = modes.get(driver);
    if (!m) {
      m = telemetryMode(driver);
      modes.set(driver, m);
    }
    return m;
  };

  /** Why a time is refused, if it is: more than 5 min ahead, or older than the retention period. */
  const timeRefusal = (ts: number, now: number): RefusalReason | undefined => {
    if (!Number.isSafeInteger(ts) || ts > now + MAX_FUTURE_MS) return 'future';
    if (ts < now - retentionDays * 86_400_000) return 'past';
    return undefined;
  };

  /** Native layout: make sure a partition exists for every day the rows fall in (late data, days ahead). */
  const ensureDays = async (times: number[]) => {
    if ((await mode()) !== 'native' || times.length === 0) return;
    const known = knownDays.get(driver) ?? new Set<string>();
    knownDays.set(driver, known);
    const missing = [...new Set(times.map((t) => dayOf(t)))].filter((d) => !known.has(d)).sort();
    if (missing.length === 0) return;
    await driver.query('SELECT telemetry.ensure_partitions($1::date, $2::date)', [missing[0], missing.at(-1)]);
    for (const d of missing) known.add(d);
  };

  const count = (into: IngestResult, reason: RefusalReason, n = 1) => {
    into.refused[reason] = (into.refused[reason] ?? 0) + n;
  };

  function rowsOf(batch: TelemetryBatch, result: IngestResult): Row[] {
    const now = clock().getTime();
    const seen = new Set<string>();
    const rows: Row[] = [];
    for (const s of batch.samples) {
      const entries = Object.entries(s.metrics ?? {});
      const whole: RefusalReason | undefined = !ID.test(String(s.deviceId))
        ? 'id'
        : !KINDS.has(s.kind)
          ? 'kind'
          : timeRefusal(s.ts, now);
      if (whole) {
        count(result, whole, Math.max(1, entries.length));
        continue;
      }
      for (const [metric, raw] of entries) {
        const value = typeof raw === 'boolean' ? Number(raw) : raw;
        if (!METRIC.test(metric)) count(result, 'metric');
        else if (typeof value !== 'number' || !Number.isFinite(value)) count(result, 'value');
        else {
          const key = `${s.deviceId}\u0000${metric}\u0000${s.ts}`;
          if (seen.has(key)) result.duplicates++;
          else {
            seen.add(key);
            rows.push({ ts: s.ts, deviceId: s.deviceId, kind: s.kind, metric, value });
          }
        }
      }
    }
    return rows;
  }

  async function write(gatewayId: string, rows: Row[]): Promise<number> {
    // Every field is checked above against a pattern without tab, newline or backslash: no COPY escaping needed.
    const text = rows
      .map((r) => `${new Date(r.ts).toISOString()}\t${gatewayId}\t${r.deviceId}\t${r.kind}\t${r.metric}\t${r.value}\n`)
      .join('');
    try {
      return await driver.transaction(async (tx) => {
        const n = await tx.copyFrom(`COPY telemetry.device_samples ${COLUMNS} FROM STDIN`, text);
        await afterWrite(tx, gatewayId, rows);
        return n;
      });
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
    }
    return driver.transaction(async (tx) => {
      await tx.exec(`CREATE TEMP TABLE IF NOT EXISTS telemetry_stage
        (LIKE telemetry.device_samples INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`);
      await tx.copyFrom(`COPY telemetry_stage ${COLUMNS} FROM STDIN`, text);
      const inserted = await tx.query<{ n: number }>(`WITH ins AS (
          INSERT INTO telemetry.device_samples SELECT * FROM telemetry_stage ON CONFLICT DO NOTHING RETURNING 1)
        SELECT count(*)::int AS n FROM ins`);
      await afterWrite(tx, gatewayId, rows);
      return inserted[0]?.n ?? 0;
    });
  }

  /** The latest value per series, and the devices' last-seen times, in the same transaction as the rows. */
  async function afterWrite(tx: SqlTx, gatewayId: string, rows: Row[]): Promise<void> {
    const newest = new Map<string, Row>();
    const seen = new Map<string, number>();
    for (const r of rows) {
      const key = `${r.deviceId}\u0000${r.metric}`;
      if ((newest.get(key)?.ts ?? -1) < r.ts) newest.set(key, r);
      seen.set(r.deviceId, Math.max(seen.get(r.deviceId) ?? 0, r.ts));
    }
    const latest = [...newest.values()];
    await tx.query(
      `INSERT INTO telemetry.latest AS l (gateway_id, device_id, metric, kind, ts, value)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::float8[])
       ON CONFLICT (gateway_id, device_id, metric) DO UPDATE
         SET kind = excluded.kind, ts = excluded.ts, value = excluded.value WHERE l.ts < excluded.ts`,
      [
        gatewayId,
        latest.map((r) => r.deviceId),
        latest.map((r) => r.metric),
        latest.map((r) => r.kind),
        latest.map((r) => new Date(r.ts).toISOString()),
        latest.map((r) => r.value),
      ],
    );
    await tx.query(
      `UPDATE gateway_devices d SET last_seen_at = GREATEST(d.last_seen_at, u.ts)
       FROM unnest($2::text[], $3::timestamptz[]) AS u(device_id, ts)
       WHERE d.gateway_id = $1 AND d.device_id = u.device_id`,
      [gatewayId, [...seen.keys()], [...seen.values()].map((t) => new Date(t).toISOString())],
    );
  }

  return {
    /** Counters since this store was made (stored, duplicates, refused by reason). */
    totals,

    async ingest(gatewayId: string, batch: TelemetryBatch): Promise<IngestResult> {
      const result: IngestResult = { stored: 0, duplicates: 0, refused: {} };
      const rows = rowsOf(batch, result);
      if (rows.length > 0) {
        await ensureDays(rows.map((r) => r.ts));
        result.stored = await write(gatewayId, rows);
        result.duplicates += rows.length - result.stored;
      }
      totals.stored += result.stored;
      totals.duplicates += result.duplicates;
      for (const [k, n] of Object.entries(result.refused)) count(totals, k as RefusalReason, n);
      return result;
    },

    /** One health report; a repeated one (same gateway and ts) is a no-op. Returns false when refused or repeated. */
    async health(gatewayId: string, h: GatewayHealth): Promise<boolean> {
      const refusal = timeRefusal(h.ts, clock().getTime());
      if (refusal) {
        count(totals, refusal);
        return false;
      }
      await ensureDays([h.ts]);
      const online = h.devices.filter((d) => d.online).length;
      return driver.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO telemetry.gateway_health (ts, gateway_id, software, uptime_s, backlog_events, backlog_bytes,
             backlog_oldest, dropped_telemetry, disk_free_mb, rss_mb, load1, clock_offset_ms, desired_version,
             applied_version, devices_online, devices_total)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT DO NOTHING RETURNING 1`,
          [
            new Date(h.ts).toISOString(),
            gatewayId,
            h.software,
            h.uptimeS,
            h.backlog.events,
            h.backlog.bytes,
            h.backlog.oldestTs === undefined ? null : new Date(h.backlog.oldestTs).toISOString(),
            h.backlog.droppedTelemetry,
            h.diskFreeMb,
            h.rssMb,
            h.load1,
            h.clockOffsetMs ?? null,
            h.desiredVersion,
            h.appliedVersion,
            online,
            h.devices.length,
          ],
        );
        if (inserted.length === 0) return false;
        // The gateway's view of its devices, unless a newer report is stored already (reports may arrive late).
        const [newest] = await tx.query<{ ok: boolean }>(
          'SELECT $2::timestamptz >= max(ts) AS ok FROM telemetry.gateway_health WHERE gateway_id = $1',
          [gatewayId, new Date(h.ts).toISOString()],
        );
        if (!newest?.ok) return true;
        await tx.query(
          `UPDATE gateway_devices d SET online = u.online, last_seen_at = GREATEST(d.last_seen_at, u.seen)
           FROM unnest($2::text[], $3::boolean[], $4::timestamptz[]) AS u(device_id, online, seen)
           WHERE d.gateway_id = $1 AND d.device_id = u.device_id`,
          [
            gatewayId,
            h.devices.map((d) => d.deviceId),
            h.devices.map((d) => d.online),
            h.devices.map((d) => (d.lastSeen === undefined ? null : new Date(d.lastSeen).toISOString())),
          ],
        );
        return true;
      });
    },
  };
}

export type TelemetryStore = ReturnType<typeof telemetryStore>;
