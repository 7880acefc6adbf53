import { join } from 'node:path';
import type { GallerySync } from '@estate/protocols';
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
import { type FaceAnalyser, FaceService } from './face/face-service.js';
import { decodeEmbedding, Gallery } from './face/gallery.js';
import { type LivenessCheck, MultiFrameConsistency } from './face/liveness.js';
import { EventLog, openGatewayDb } from './log/event-log.js';
import { DataFolderLock } from './state/data-lock.js';
import { Sealer } from './state/sealer.js';
import { type ApplyResult, type Delta, SectionStore } from './state/section-store.js';

export interface GatewayOptions {
  broker: Aedes;
  /** Folder for gateway.db (event log, desired state, pass uses, PIN lockouts). */
  dataDir: string;
  now?: () => number;
  onInvalid?: (topic: string, reason: string) => void;
  /** Face access: the model pipeline (created by the caller: loading models takes seconds) and a liveness check. */
  faces?: { analyser: FaceAnalyser; liveness?: LivenessCheck; quietMs?: number };
  /**
   * The data-folder lock when the caller took it already (the CLI does, before the broker opens its store in the
   * same folder), and then releases it; without one, start() takes it and stop() releases it.
   */
  lock?: DataFolderLock;
}

/**
 * The gateway agent: features wired around the local broker. Constructing it
 * opens nothing; start() opens the database and subscribes, stop() undoes it.
 */
export class Gateway {
  #parts: Parts | undefined;
  #lock: DataFolderLock | undefined;

  constructor(private readonly o: GatewayOptions) {}

  /** Throws DataFolderInUse if another agent runs on the same data folder. */
  async start(): Promise<void> {
    const lock = this.o.lock ?? DataFolderLock.acquire(this.o.dataDir);
    let parts: Parts | undefined;
    try {
      parts = assemble(this.o);
      await parts.doors.start();
      await parts.readers.start();
      await parts.ble.start();
      await parts.faces?.start();
    } catch (err) {
      // the services already listening must not go on handling device messages against a closed database
      if (parts) teardown(parts);
      if (!this.o.lock) lock.release();
      throw err;
    }
    this.#parts = parts;
    if (!this.o.lock) this.#lock = lock;
  }

  async stop(): Promise<void> {
    const p = this.#parts;
    if (!p) return;
    this.#parts = undefined;
    teardown(p);
    this.#lock?.release();
    this.#lock = undefined;
  }

  get parts(): Parts {
    if (!this.#parts) throw new Error('gateway not started');
    return this.#parts;
  }

  /** Apply one section delta of the desired state (from the cloud, or a local enrolment). */
  apply(delta: Delta): ApplyResult {
    const p = this.parts;
    const r = p.store.apply(delta);
    if (!r.ok) return r;
    p.model.reload();
    if (delta.section === 'gallery') {
      // a full copy replaced the section with exactly these items: index them as they are, not reread and unseal
      if (delta.fromVersion === 0) {
        const items = delta.upserts as GalleryItem[];
        setGallery(
          p,
          galleryOf(items.length, (add) => items.forEach(add)),
        );
      } else applyGallery(p.gallery, delta.upserts as GalleryItem[], delta.deletes);
    }
    // consent withdrawn or person removed: templates go at once, not at the next full sync
    if (delta.section === 'revocations') {
      for (const r of delta.upserts) {
        if (r.kind === 'template') p.gallery.delete(r.id);
        if (r.kind === 'person') p.gallery.deletePerson(r.id);
      }
    }
    return r;
  }
}

/** The embedder in the shipped manifest is 512-d; a gallery adopts the dimension of its templates. */
const EMBEDDING_DIM = 512;

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
  gallery: Gallery;
  faces: FaceService | undefined;
}

type GalleryItem = Extract<GallerySync['upserts'][number], { kind: 'template' }>;

function applyGallery(g: Gallery, upserts: readonly GalleryItem[], deletes: readonly { kind: string; id: string }[]) {
  for (const d of deletes) g.delete(d.id);
  for (const t of upserts) {
    // a malformed template is skipped, not fatal: the rest of the gallery keeps working
    try {
      g.upsert(t.id, t.personId, decodeEmbedding(t.embedding, t.dim));
    } catch {}
  }
}

/** Every service off the bus (stopping one that never started is a no-op), then the database closed. */
function teardown(p: Parts): void {
  p.faces?.stop();
  p.ble.stop();
  p.readers.stop();
  p.doors.stop();
  p.db.close();
}

function loadGallery(p: Parts): void {
  // streamed row by row: a 50,000-template gallery is not held twice while it is indexed
  setGallery(
    p,
    galleryOf(p.store.count('gallery'), (add) => p.store.each<GalleryItem>('gallery', add)),
  );
}

/** A gallery of the templates `fill` adds, in the dimension of the first one (none: the shipped embedder's). */
function galleryOf(count: number, fill: (add: (t: GalleryItem) => void) => void): Gallery {
  let gallery: Gallery | undefined;
  fill((t) => {
    gallery ??= new Gallery(t.dim, Math.max(1024, count));
    applyGallery(gallery, [t], []);
  });
  return gallery ?? new Gallery(EMBEDDING_DIM);
}

function setGallery(p: Parts, gallery: Gallery): void {
  p.gallery = gallery;
  if (p.faces) p.faces.gallery = gallery;
}

function assemble(o: GatewayOptions): Parts {
  const now = o.now ?? Date.now;
  const db = openGatewayDb(join(o.dataDir, 'gateway.db'));
  const bus = new LocalBus(o.broker, o.onInvalid);
  const log = new EventLog(db);
  const store = new SectionStore(db, Sealer.fromKeyFile(join(o.dataDir, 'gateway.key')));
  const model = new AccessModel(store);
  const policy = new AccessPolicy(model, { db, now });
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
  const gallery = new Gallery(EMBEDDING_DIM);
  const faces =
    o.faces &&
    new FaceService({
      bus,
      model,
      policy,
      decider,
      gallery,
      analyser: o.faces.analyser,
      liveness: o.faces.liveness ?? new MultiFrameConsistency(),
      now,
      ...(o.faces.quietMs === undefined ? {} : { quietMs: o.faces.quietMs }),
    });
  const parts: Parts = { db, bus, log, store, model, policy, doors, decider, readers, ble, gallery, faces };
  loadGallery(parts);
  return parts;
}
