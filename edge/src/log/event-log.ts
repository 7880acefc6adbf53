import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GatewayEvent, Priority } from '@estate/protocols';
import Database from 'better-sqlite3';

/** Opens (creating) the gateway's SQLite file: WAL, and fsync on every commit (synchronous=FULL). */
export function openGatewayDb(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** An event before the log gives it its sequence number. */
export type NewEvent = GatewayEvent extends infer E ? (E extends GatewayEvent ? Omit<E, 'seq'> : never) : never;

export interface Backlog {
  events: number;
  bytes: number;
  oldestTs: number | undefined;
}

const PRIORITY: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

/**
 * The gateway's durable event log: every access decision, alarm and device
 * event is committed here, with the next sequence number, *before* anything
 * acts on it (a relay command, an uplink). SQLite in WAL mode with
 * synchronous=FULL: a commit that returned survives kill -9 and power loss.
 * Events stay until the cloud acknowledges them (store-and-forward).
 */
export class EventLog {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[number, number, number, string, string, number]>;
  readonly #lastSeq: Database.Statement<[], { seq: number | null }>;
  readonly #setLast: Database.Statement<[number]>;
  readonly #setAcked: Database.Statement<[number]>;
  readonly #after: Database.Statement<[number, number], { body: string }>;
  readonly #ack: Database.Statement<[number]>;
  readonly #backlog: Database.Statement<[], { events: number; bytes: number | null; oldest: number | null }>;
  readonly #oldest: Database.Statement<[number], { ts: number }>;
  readonly #rangeBytes: Database.Statement<[number, number], { bytes: number | null }>;
  #seq: number;
  #acked: number;
  /** bytes of the unacknowledged events, kept as a running total so backlog() is O(1) on a 500,000-event log */
  #bytes: number;
  /** appends made inside atomically(): announced only once their transaction committed */
  #pending: number | undefined;
  readonly #listeners = new Set<(seq: number) => void>();

  /** A file path (opened in WAL mode) or a database the gateway already opened with openGatewayDb. */
  constructor(target: string | Database.Database) {
    this.#db = typeof target === 'string' ? openGatewayDb(target) : target;
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        seq      INTEGER PRIMARY KEY,
        ts       INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        type     TEXT    NOT NULL,
        body     TEXT    NOT NULL,
        bytes    INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (key, value) VALUES ('last_seq', 0), ('acked_seq', 0);
    `);
    this.#insert = this.#db.prepare(
      'INSERT INTO events (seq, ts, priority, type, body, bytes) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#lastSeq = this.#db.prepare("SELECT MAX(value) AS seq FROM meta WHERE key = 'last_seq'");
    // prepared once: append runs for every access decision
    this.#setLast = this.#db.prepare("UPDATE meta SET value = MAX(value, ?) WHERE key = 'last_seq'");
    this.#setAcked = this.#db.prepare("UPDATE meta SET value = MAX(value, ?) WHERE key = 'acked_seq'");
    this.#after = this.#db.prepare('SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#ack = this.#db.prepare('DELETE FROM events WHERE seq <= ?');
    this.#backlog = this.#db.prepare('SELECT COUNT(*) AS events, SUM(bytes) AS bytes, MIN(ts) AS oldest FROM events');
    this.#oldest = this.#db.prepare('SELECT ts FROM events WHERE seq > ? ORDER BY seq LIMIT 1');
    this.#rangeBytes = this.#db.prepare('SELECT SUM(bytes) AS bytes FROM events WHERE seq > ? AND seq <= ?');
    // The counter lives in meta, not MAX(seq): acked rows are deleted, and a seq must never be reused. A row above
    // the counter (a second process wrote to the same folder) must not make every later append fail: take the
    // higher of the two.
    const maxRow = (this.#db.prepare('SELECT MAX(seq) AS seq FROM events').get() as { seq: number | null }).seq;
    this.#seq = Math.max(this.#lastSeq.get()?.seq ?? 0, maxRow ?? 0);
    this.#acked = this.#readAcked();
    this.#bytes = this.#sumBytes();
  }

  #readAcked(): number {
    return (this.#db.prepare("SELECT value FROM meta WHERE key = 'acked_seq'").get() as { value: number }).value;
  }

  #sumBytes(): number {
    return this.#rangeBytes.get(this.#readAcked(), Number.MAX_SAFE_INTEGER)?.bytes ?? 0;
  }

  /**
   * Commits the event and returns it with its sequence number. Throws if the
   * write fails (e.g. disk full): the caller must then not act on the event —
   * for an access decision that means the door stays shut.
   */
  append<E extends NewEvent>(event: E): E & { seq: number } {
    const seq = this.#seq + 1;
    const full = { ...event, seq } as E & { seq: number };
    const body = JSON.stringify(full);
    const bytes = Buffer.byteLength(body);
    this.#db.transaction(() => {
      this.#insert.run(seq, event.ts, PRIORITY[event.priority], event.type, body, bytes);
      this.#setLast.run(seq);
    })();
    this.#seq = seq;
    this.#bytes += bytes;
    // inside atomically() the row is not committed yet: a listener (the uplink's live lane) must not send it
    if (this.#db.inTransaction) this.#pending = seq;
    else this.#announce(seq);
    return full;
  }

  #announce(seq: number): void {
    for (const fn of this.#listeners) {
      try {
        fn(seq);
      } catch {
        // a listener's bug must not turn a committed event into a failed append (the door would stay shut)
      }
    }
  }

  /** Called after each committed append (the uplink wakes up on it). Returns an unsubscribe function. */
  onAppend(fn: (seq: number) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Runs `fn` in one transaction with the appends it makes: one commit, one fsync. */
  atomically<T>(fn: () => T): T {
    let result: T;
    try {
      result = this.#db.transaction(fn)();
    } catch (e) {
      // rolled back: appends made inside did not happen, so their numbers are free again
      this.#pending = undefined;
      this.#seq = this.#lastSeq.get()?.seq ?? 0;
      this.#bytes = this.#sumBytes();
      throw e;
    }
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined) this.#announce(pending);
    return result;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Unacknowledged events after `seq`, oldest first. */
  read(afterSeq: number, limit = 500): GatewayEvent[] {
    return this.#after.all(afterSeq, limit).map((r) => JSON.parse(r.body) as GatewayEvent);
  }

  /** The cloud stored everything up to `seq`: forget it. */
  ack(seq: number): void {
    const upTo = Math.min(seq, this.#seq);
    if (upTo <= this.#acked) return;
    const freed = this.#db.transaction(() => {
      const bytes = this.#rangeBytes.get(this.#acked, upTo)?.bytes ?? 0;
      this.#ack.run(upTo);
      this.#setAcked.run(upTo);
      return bytes;
    })();
    this.#bytes -= freed;
    this.#acked = upTo;
  }

  get ackedSeq(): number {
    return this.#acked;
  }

  /** Unacknowledged events: seqs are gap-free and acks delete a prefix, so the count is lastSeq − ackedSeq. */
  backlog(): Backlog {
    const oldest = this.#oldest.get(this.#acked)?.ts;
    return { events: this.#seq - this.#acked, bytes: this.#bytes, oldestTs: oldest };
  }

  /** The same figures counted from the table (tests check the running totals against it). */
  countBacklog(): Backlog {
    const r = this.#backlog.get();
    return { events: r?.events ?? 0, bytes: r?.bytes ?? 0, oldestTs: r?.oldest ?? undefined };
  }

  close(): void {
    this.#db.close();
  }
}
