import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type Delta,
  encodeEmbedding,
  type FaceAnalyser,
  Gateway,
  type LivenessCheck,
  type LivenessVerdict,
  type LocalBroker,
  MultiFrameConsistency,
  type Observation,
  startLocalBroker,
} from '@estate/edge';
import { Camera, Door } from '@estate/firmware-stubs';
import type { FaceAnalysis, FacePipeline } from '@estate/models';
import { exportRawPublicKey } from '@estate/protocols';
import { fullDelta } from './estate.js';
import { type Resident, randomUnitVector, seededRandom } from './face-people.js';
import { PhaseRss } from './face-rss.js';

export const FACE_ESTATE = 'bench-face-estate';
const GROUP = 'g-residents';
/** The gallery sync message is at most 4 MiB (protocols topics): about 1,400 templates; the cloud sends pages. */
export const GALLERY_PAGE = 1_000;
/** The shortest unlock pulse the contract allows; a person let in is not decided again at that door for this long. */
export const PULSE_MS = 500;
/** Same seed every run: the padded gallery is identical from run to run. */
const PADDING_SEED = 0x5eed;

export type LivenessMode = 'multi-frame' | 'always-live';

/** One camera at one door, both simulated devices on MQTT. */
export interface FaceDoor {
  doorId: string;
  camera: Camera;
  door: Door;
}

/** What the gateway did with the frame it is working on: filled in by the wrappers below, read by the bench. */
export interface FrameTrace {
  analyseMs: number;
  searchMs: number;
  verdict: LivenessVerdict | undefined;
}

export interface FaceEstateOptions {
  pipeline: FacePipeline;
  residents: readonly Resident[];
  /** templates in the gallery: the residents' real ones, padded with random unit vectors */
  gallery: number;
  doors: number;
  liveness: LivenessMode;
  progress?: (message: string) => void;
}

/**
 * What the gateway did with the frame under way, per camera. Frames are analysed
 * one at a time (the pipeline is a queue) and the benches send one frame at a
 * time, so the analysis under way belongs to the camera that sent the last frame.
 */
export class FrameTracer {
  readonly #traces = new Map<string, FrameTrace>();
  readonly #waiters = new Map<string, (v: LivenessVerdict) => void>();
  #current = '';

  /** Says which camera's frame comes next and clears its trace; returns the trace the gateway will fill in. */
  select(cameraId: string): FrameTrace {
    this.#current = cameraId;
    const t: FrameTrace = { analyseMs: Number.NaN, searchMs: Number.NaN, verdict: undefined };
    this.#traces.set(cameraId, t);
    return t;
  }

  /** The liveness check's next verdict for this camera (the frame was analysed, matched and observed). */
  nextVerdict(cameraId: string, timeoutMs: number): Promise<LivenessVerdict> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(cameraId);
        reject(new Error(`${cameraId}: no liveness verdict within ${timeoutMs} ms (the frame was not matched)`));
      }, timeoutMs);
      this.#waiters.set(cameraId, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }

  /** Called by the gateway's liveness check (through the wrapper) with its verdict. */
  observed(cameraId: string, verdict: LivenessVerdict): void {
    this.of(cameraId).verdict = verdict;
    const waiter = this.#waiters.get(cameraId);
    this.#waiters.delete(cameraId);
    waiter?.(verdict);
  }

  of(cameraId = this.#current): FrameTrace {
    let t = this.#traces.get(cameraId);
    if (!t) {
      t = { analyseMs: Number.NaN, searchMs: Number.NaN, verdict: undefined };
      this.#traces.set(cameraId, t);
    }
    return t;
  }
}

/**
 * The gateway of `npm start` for face benchmarks, in this process: the embedded
 * broker on a TCP port, the gateway agent with the face pipeline, its own data
 * folder (SQLite WAL, sealed gallery), and per door a camera stub and a door stub
 * on real MQTT. The gallery arrives as the cloud would send it (pages of sync
 * deltas, sealed at rest), then the gateway is restarted so the templates under
 * test are the ones it loads from its store at boot.
 *
 * Three thin wrappers watch without changing behaviour: the analyser (time per
 * analysis), the liveness check (its verdict; by default it delegates to the
 * shipped MultiFrameConsistency) and the gallery's search (time per search).
 */
export class FaceEstate {
  /** Messages the gateway refused as invalid (topic: reason); a bench expects none. */
  readonly invalid: string[] = [];
  readonly tracer = new FrameTracer();
  /** seconds to store the gallery pages, and to restart the gateway with them; the peak RSS of each (MiB) */
  syncSeconds = 0;
  bootSeconds = 0;
  syncRssMb = 0;
  bootRssMb = 0;
  doors: FaceDoor[] = [];
  readonly gateway: Gateway;

  private constructor(
    readonly local: LocalBroker,
    readonly dataDir: string,
    o: FaceEstateOptions,
  ) {
    const tracer = this.tracer;
    const pipeline = o.pipeline;
    const analyser: FaceAnalyser = {
      matchThreshold: pipeline.matchThreshold,
      async analyse(bytes: Uint8Array): Promise<FaceAnalysis> {
        const trace = tracer.of();
        const started = performance.now();
        const result = await pipeline.analyse(bytes);
        trace.analyseMs = performance.now() - started;
        return result;
      },
    };
    const inner: LivenessCheck =
      o.liveness === 'multi-frame' ? new MultiFrameConsistency() : { observe: (): LivenessVerdict => 'live' };
    const liveness: LivenessCheck = {
      observe(cameraId: string, ob: Observation): LivenessVerdict {
        const verdict = inner.observe(cameraId, ob);
        tracer.observed(cameraId, verdict);
        return verdict;
      },
    };
    this.gateway = new Gateway({
      broker: local.broker,
      dataDir,
      onInvalid: (t, r) => this.invalid.push(`${t}: ${r}`),
      faces: { analyser, liveness },
    });
  }

  static async start(o: FaceEstateOptions): Promise<FaceEstate> {
    const syncRss = new PhaseRss();
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-face-bench-'));
    let local: LocalBroker;
    try {
      local = await startLocalBroker({ port: 0 });
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    const e = new FaceEstate(local, dataDir, o);
    const gateway = e.gateway;
    try {
      await gateway.start();
      const doorIds = Array.from({ length: o.doors }, (_, i) => `b${i + 1}-main`);
      configure(gateway, doorIds, o.residents);
      const t0 = performance.now();
      syncGallery(gateway, o.residents, o.gallery, o.progress);
      e.syncSeconds = (performance.now() - t0) / 1000;
      e.syncRssMb = syncRss.end();
      // a gateway boots with its gallery from the sealed store: that is the state decisions run against
      o.progress?.('restarting the gateway: it loads the gallery from its sealed store…');
      const bootRss = new PhaseRss();
      const t1 = performance.now();
      await gateway.stop();
      await gateway.start();
      e.bootSeconds = (performance.now() - t1) / 1000;
      e.bootRssMb = bootRss.end();
      if (gateway.parts.gallery.size !== o.gallery) {
        throw new Error(`the gateway booted with ${gateway.parts.gallery.size} templates, expected ${o.gallery}`);
      }
      e.#timeSearches();
      const broker = { url: local.url };
      e.doors = doorIds.map((doorId, i) => ({
        doorId,
        camera: new Camera({ id: `cam-b${i + 1}`, broker, streaming: false }),
        door: new Door({ id: `door-b${i + 1}`, broker }),
      }));
      await Promise.all(e.doors.flatMap((d) => [d.camera.start(), d.door.start()]));
      return e;
    } catch (err) {
      await e.close();
      throw err;
    }
  }

  /** Wraps the face service's gallery search with a timer (the instance the service holds after boot). */
  #timeSearches(): void {
    const faces = this.gateway.parts.faces;
    if (!faces) throw new Error('the gateway has no face service');
    const gallery = faces.gallery;
    const search = gallery.search.bind(gallery);
    const tracer = this.tracer;
    gallery.search = (query) => {
      const started = performance.now();
      const match = search(query);
      tracer.of().searchMs = performance.now() - started;
      return match;
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.doors.flatMap((d) => [d.camera.stop(), d.door.stop()]));
    await this.gateway.stop();
    await this.local.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function apply(gw: Gateway, delta: Delta): void {
  const r = gw.apply(delta);
  if (!r.ok) throw new Error(`face bench estate: the gateway refused the ${delta.section} delta (${r.reason})`);
}

/** Desired state as the cloud would sync it: config, doors with their camera, one group holding every resident. */
function configure(gw: Gateway, doorIds: readonly string[], residents: readonly Resident[]): void {
  const cloud = generateKeyPairSync('ed25519');
  apply(
    gw,
    fullDelta('config', [
      {
        kind: 'config',
        id: 'config',
        config: {
          estateId: FACE_ESTATE,
          timezone: 'Asia/Shanghai',
          faceMatchThreshold: 0.5,
          pinKey: Buffer.alloc(32, 7).toString('base64url'),
          pinMaxAttempts: 3,
          pinLockoutS: 300,
          telemetryIntervalS: 60,
          trustedKeys: [
            {
              keyId: 'cloud-face-bench',
              alg: 'Ed25519',
              publicKey: exportRawPublicKey(cloud.publicKey).toString('base64url'),
              purposes: ['ble_key', 'pass', 'command', 'desired'],
            },
          ],
        },
      },
    ]),
  );
  apply(
    gw,
    fullDelta('access', [
      ...doorIds.map((id, i) => ({
        kind: 'door',
        id,
        name: `Building ${i + 1} main door`,
        deviceId: `door-b${i + 1}`,
        mode: 'fail_secure',
        pulseMs: PULSE_MS,
        heldOpenS: 30,
        fireRelease: false,
        antiPassback: 'off',
        direction: 'both',
        readers: [`cam-b${i + 1}`],
      })),
      { kind: 'group', id: GROUP, doors: [...doorIds], schedule: { windows: [], holidays: [], holidayWindows: [] } },
      ...residents.map((r) => ({ kind: 'member', id: r.personId, groups: [GROUP] })),
    ]),
  );
}

/** The residents' templates first, then random unit vectors up to `total`, in pages of GALLERY_PAGE. */
function syncGallery(
  gw: Gateway,
  residents: readonly Resident[],
  total: number,
  progress: ((message: string) => void) | undefined,
): void {
  if (total < residents.length) throw new Error(`--gallery ${total} is smaller than the ${residents.length} residents`);
  const dim = residents[0]?.embedding.length ?? 512;
  const random = seededRandom(PADDING_SEED);
  const template = (id: string, personId: string, embedding: Float32Array) => ({
    kind: 'template',
    id,
    personId,
    model: 'faceplugin-embed',
    dim,
    embedding: encodeEmbedding(embedding),
  });
  let version = 0;
  const every = Math.max(1, Math.round(total / GALLERY_PAGE / 5));
  for (let start = 0; start < total; start += GALLERY_PAGE) {
    const upserts = [];
    for (let i = start; i < Math.min(total, start + GALLERY_PAGE); i++) {
      const r = residents[i];
      upserts.push(
        r
          ? template(`t-${r.label}`, r.personId, r.embedding)
          : template(`t-pad-${i}`, `p-pad-${i}`, randomUnitVector(dim, random)),
      );
    }
    apply(gw, { section: 'gallery', fromVersion: version, toVersion: version + 1, deletes: [], upserts });
    version++;
    if (version % every === 0)
      progress?.(`gallery: ${Math.min(total, start + GALLERY_PAGE)}/${total} templates synced`);
  }
}
