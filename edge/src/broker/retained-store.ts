import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Aedes } from 'aedes';
import Database from 'better-sqlite3';

/** The fields of a retained PUBLISH this store keeps (aedes hands it more). */
export interface RetainedPacket {
  cmd: 'publish';
  topic: string;
  /** In-process publishers may pass a string. */
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** The part of aedes-persistence's in-memory store (promise API, what aedes 1.x calls) this file relies on. */
interface MemoryPersistence {
  setup(broker: Aedes): Promise<void>;
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  destroy(): Promise<void>;
}

// The package ships no types for this entry point, and its default export wraps
// it in a callback layer we cannot subclass; the class itself is what we extend.
const MemoryPersistenceBase = createRequire(import.meta.url)(
  'aedes-persistence/asyncPersistence.js',
) as new () => MemoryPersistence;

/**
 * aedes-persistence's in-memory store, with retained messages (device state and
 * presence) also written to SQLite and loaded back at start, so after a gateway
 * restart the last known state of every device is there before it reconnects.
 *
 * Sessions, subscriptions, QoS queues and Wills stay in memory only: devices
 * connect with clean sessions and re-subscribe and re-announce on every
 * connect, so there is nothing of theirs to restore.
 */
export class SqliteRetainedPersistence extends MemoryPersistenceBase {
  #db: Database.Database | undefined;
  #upsert: Database.Statement<[string, Buffer, number]> | undefined;
  #delete: Database.Statement<[string]> | undefined;

  /** `onError` hears about failed writes; the message still goes out, it just would not survive a restart. */
  constructor(
    readonly file: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {
    super();
  }

  // aedes checks that setup is an AsyncFunction (not merely promise-returning)
  override async setup(broker: Aedes): Promise<void> {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    // NORMAL, not FULL: a power cut may lose the last state update, which the
    // device re-publishes when it reconnects; FULL would fsync every presence flap.
    db.pragma('synchronous = NORMAL');
    db.exec(
      'CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL)',
    );
    this.#upsert = db.prepare(
      'INSERT INTO retained (topic, payload, qos) VALUES (?, ?, ?) ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos',
    );
    this.#delete = db.prepare('DELETE FROM retained WHERE topic = ?');
    this.#db = db;
    const rows = db.prepare('SELECT topic, payload, qos FROM retained').all() as {
      topic: string;
      payload: Buffer;
      qos: number;
    }[];
    for (const { topic, payload, qos } of rows) {
      const q = qos === 1 || qos === 2 ? qos : 0;
      await super.storeRetained({ cmd: 'publish', topic, payload, qos: q, retain: true });
    }
    await super.setup(broker);
  }

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    try {
      // MQTT 3.1.1 §3.3.1.3: an empty retained payload clears the topic
      if (packet.payload.length === 0) this.#delete?.run(packet.topic);
      else this.#upsert?.run(packet.topic, Buffer.from(packet.payload), packet.qos);
    } catch (e) {
      // a full or failing disk must not stop live traffic: keep it in memory, report it
      this.onError(e as Error);
    }
    await super.storeRetained(packet);
  }

  /** aedes never calls destroy on close: the owner of the broker does. */
  override async destroy(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    this.#upsert = undefined;
    this.#delete = undefined;
    await super.destroy();
  }
}
