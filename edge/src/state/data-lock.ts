import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Thrown when another gateway process (or another Gateway in this one) already runs on the data folder. */
export class DataFolderInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: string,
  ) {
    super(
      `the data folder ${dataDir} is in use by another gateway (${owner}); two agents on one folder would hand out ` +
        'the same event numbers and fight over the doors — stop the other one first',
    );
    this.name = 'DataFolderInUse';
  }
}

/**
 * One gateway agent per data folder. The lock is an exclusive SQLite transaction held open on `gateway.lock`: the
 * kernel drops it when the process dies however it dies (kill -9, power cut), so a restarted agent never finds a
 * stale lock, and a PID that a container reuses cannot fake one. `gateway.lock.owner` only says who holds it.
 */
export class DataFolderLock {
  private constructor(private db: Database.Database | undefined) {}

  static acquire(dataDir: string): DataFolderLock {
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'gateway.lock'), { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      throw new DataFolderInUse(dataDir, ownerOf(dataDir));
    }
    const owner = `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}`;
    writeFileSync(join(dataDir, 'gateway.lock.owner'), `${owner}\n`);
    return new DataFolderLock(db);
  }

  release(): void {
    this.db?.close(); // closing ends the transaction and with it the lock
    this.db = undefined;
  }
}

function ownerOf(dataDir: string): string {
  try {
    return readFileSync(join(dataDir, 'gateway.lock.owner'), 'utf8').trim();
  } catch {
    return 'owner unknown';
  }
}
