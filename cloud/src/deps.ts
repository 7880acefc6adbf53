// Opening everything the API needs from a config: database (migrated), key ring, blob store, hasher.
import { join } from 'node:path';
import type { CloudConfig } from './config.js';
import { localBlobStore } from './core/blob-store.js';
import type { CloudDeps } from './core/deps.js';
import { noOcr, type OcrProvider } from './core/ocr.js';
import { argon2idHasher } from './core/passwords.js';
import { signingKeys } from './core/signing.js';
import { type Database, openDatabase } from './db/driver.js';
import { migrate } from './db/migrate.js';
import { applyTelemetrySchema } from './telemetry/schema.js';

export interface OpenOptions {
  /** Keep the embedded database in memory (tests). */
  inMemory?: boolean;
  ocr?: OcrProvider;
}

export async function openDeps(
  config: CloudConfig,
  options: OpenOptions = {},
): Promise<{ deps: CloudDeps; db: Database }> {
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: options.inMemory ? undefined : join(config.dataDir, 'db'),
  });
  try {
    await migrate(db.driver);
    // the time-series tables are not plain SQL migrations: their layout depends on the server (TimescaleDB or not)
    await applyTelemetrySchema(db.driver, { retentionDays: config.telemetryRetentionDays });
  } catch (err) {
    await db.close();
    throw err;
  }
  const deps: CloudDeps = {
    config,
    prisma: db.prisma,
    driver: db.driver,
    keyRing: config.keyRing,
    blindIndexKey: config.blindIndexKey,
    passwords: argon2idHasher(config.argon2MemoryKib),
    blobs: localBlobStore(join(config.dataDir, 'attachments')),
    ocr: options.ocr ?? noOcr,
    signing: signingKeys(db.prisma, config.keyRing),
  };
  return { deps, db };
}
