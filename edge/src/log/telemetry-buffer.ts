import type { TelemetryBatch } from '@estate/protocols';
import type Database from 'better-sqlite3';

export type TelemetrySample = TelemetryBatch['samples'][number];

/**
 * Durable buffer for device telemetry, in the gateway database but apart from
 * the event log: telemetry has no sequence numbers, no exactly-once and no
 * cloud ack (a broker PUBACK is enough), and it is the one thing the disk
 * budget may drop — oldest first, counted in `dropped`. One row per sample so
 * that dropping frees exactly the oldest readings.
 */
export class TelemetryBuffer {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[number, string, number]>;
  readonly #read: Database.Statement<[number, number], { id: number; body: string; bytes: number }>;
  readonly #delete: Database.Statement<[number]>;
  readonly #page: Database.Statement<[number, number], { id: number; bytes: number }>;
  readonly #setDropped: Database.Statement<[number]>;
  #count: number;
  #bytes: number;
  #dropped: number;
  readonly #listeners = new Set<() => void>();

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS telemetry (
        id    INTEGER PRIMARY KEY AUTOINCREMENT,
        ts    INTEGER NOT NULL,
        body  TEXT    NOT NULL,
        bytes INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS telemetry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO telemetry_meta (key, value) VALUES ('dropped', 0);
    `);
    this.#insert = db.prepare('INSERT INTO telemetry (ts, body, bytes) VALUES (?, ?, ?)');
    this.#read = db.prepare('SELECT id, body, bytes FROM telemetry WHERE id > ? ORDER BY id LIMIT ?');
    this.#delete = db.prepare('DELETE FROM telemetry WHERE id <= ?');
    this.#page = db.prepare('SELECT id, bytes FROM telemetry WHERE id > ? ORDER BY id LIMIT ?');
    this.#setDropped = db.prepare("UPDATE telemetry_meta SET value = ? WHERE key = 'dropped'");
    const r = db.prepare('SELECT COUNT(*) AS n, SUM(bytes) AS b FROM telemetry').get() as {
      n: number;
      b: number | null;
    };
    this.#count = r.n;
    this.#bytes = r.b ?? 0;
    const d = db.prepare("SELECT value FROM telemetry_meta WHERE key = 'dropped'").get() as { value: number };
    this.#dropped = d.value;
  }

  /** Bytes a sample takes in the buffer (what the disk budget counts). */
  static size(sample: TelemetrySample): number {
    return Buffer.byteLength(JSON.stringify(sample));
  }

  /** Called after samples were stored (the uplink wakes up on it). */
  onPush(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** New samples refused by the disk budget before they were stored. */
  countDropped(n: number): void {
    this.#setDropped.run(this.#dropped + n);
    this.#dropped += n;
  }

  /** Stores samples in one transaction (one fsync for a whole flush, not one per reading). */
  push(samples: readonly TelemetrySample[]): void {
    if (samples.length === 0) return;
    let added = 0;
    this.#db.transaction(() => {
      for (const s of samples) {
        const body = JSON.stringify(s);
        const bytes = Buffer.byteLength(body);
        this.#insert.run(s.ts, body, bytes);
        added += bytes;
      }
    })();
    this.#count += samples.length;
    this.#bytes += added;
    for (const fn of this.#listeners) fn();
  }

  /** Oldest samples after `afterId`, with the id of the last one (to delete on PUBACK). */
  read(afterId: number, limit: number): { lastId: number; samples: TelemetrySample[] } {
    const rows = this.#read.all(afterId, limit);
    return { lastId: rows.at(-1)?.id ?? afterId, samples: rows.map((r) => JSON.parse(r.body) as TelemetrySample) };
  }

  /** The broker took everything up to `id`. */
  delivered(id: number): void {
    this.#forget(id, false);
  }

  /** Drops the oldest samples until at least `bytes` are freed; returns how many were dropped. */
  dropOldest(bytes: number): number {
    let freed = 0;
    let lastId = 0;
    let n = 0;
    // a page at a time: the buffer may hold hundreds of thousands of rows
    for (let page = this.#page.all(0, 1_000); page.length > 0 && freed < bytes; page = this.#page.all(lastId, 1_000)) {
      for (const r of page) {
        if (freed >= bytes) break;
        freed += r.bytes;
        lastId = r.id;
        n++;
      }
    }
    if (n > 0) this.#forget(lastId, true);
    return n;
  }

  #forget(id: number, dropped: boolean): void {
    const gone = this.#db.prepare('SELECT COUNT(*) AS n, SUM(bytes) AS b FROM telemetry WHERE id <= ?').get(id) as {
      n: number;
      b: number | null;
    };
    if (gone.n === 0) return;
    this.#db.transaction(() => {
      this.#delete.run(id);
      if (dropped) this.#setDropped.run(this.#dropped + gone.n);
    })();
    this.#count -= gone.n;
    this.#bytes -= gone.b ?? 0;
    if (dropped) this.#dropped += gone.n;
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Samples dropped under the disk budget since the buffer was created (persisted). */
  get dropped(): number {
    return this.#dropped;
  }
}
