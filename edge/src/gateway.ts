import { join } from 'node:path';
import type { Aedes } from 'aedes';
import type Database from 'better-sqlite3';
import { AccessModel } from './access/access-model.js';
import { Decider } from './access/decider.js';
import { AccessPolicy } from './access/policy.js';
import { LocalBus } from './bus.js';
import { BleService } from './credentials/ble-service.js';
import { PassVerifier } from './credentials/pass.js';
import { PinVerifier } from './credentials/pin.js';
import { ReaderService } from './credentials/reader-service.js';
import { DoorService } from './door/door-service.js';
import { EventLog, openGatewayDb } from './log/event-log.js';
import { type ApplyResult, type Delta, SectionStore } from './state/section-store.js';

export interface GatewayOptions {
  broker: Aedes;
  /** Folder for gateway.db (event log, desired state, pass uses, PIN lockouts). */
  dataDir: string;
  now?: () => number;
  onInvalid?: (topic: string, reason: string) => void;
}

/**
 * The gateway agent: features wired around the local broker. Constructing it
 * opens nothing; start() opens the database and subscribes, stop() undoes it.
 */
export class Gateway {
  #parts: Parts | undefined;

  constructor(private readonly o: GatewayOptions) {}

  async start(): Promise<void> {
    const parts = assemble(this.o);
    await parts.doors.start();
    await parts.readers.start();
    await parts.ble.start();
    this.#parts = parts;
  }

  async stop(): Promise<void> {
    const p = this.#parts;
    if (!p) return;
    this.#parts = undefined;
    p.ble.stop();
    p.readers.stop();
    p.doors.stop();
    p.db.close();
  }

  get parts(): Parts {
    if (!this.#parts) throw new Error('gateway not started');
    return this.#parts;
  }

  /** Apply one section delta of the desired state (from the cloud, or a local enrolment). */
  apply(delta: Delta): ApplyResult {
    const r = this.parts.store.apply(delta);
    if (r.ok) this.parts.model.reload();
    return r;
  }
}

export interface Parts {
  db: Database.Database;
  bus: LocalBus;
  log: EventLog;
  store: SectionStore;
  model: AccessModel;
  policy: AccessPolicy;
  doors: DoorService;
  decider: Decider;
  readers: ReaderService;
  ble: BleService;
}

function assemble(o: GatewayOptions): Parts {
  const now = o.now ?? Date.now;
  const db = openGatewayDb(join(o.dataDir, 'gateway.db'));
  const bus = new LocalBus(o.broker, o.onInvalid);
  const log = new EventLog(db);
  const store = new SectionStore(db);
  const model = new AccessModel(store);
  const policy = new AccessPolicy(model);
  const doors = new DoorService({ bus, model, policy, log, now });
  const decider = new Decider(log, doors, now);
  const readers = new ReaderService({
    bus,
    model,
    policy,
    decider,
    pins: new PinVerifier(db, model),
    passes: new PassVerifier(db, model),
    now,
  });
  const ble = new BleService({ bus, model, policy, decider, now });
  return { db, bus, log, store, model, policy, doors, decider, readers, ble };
}
