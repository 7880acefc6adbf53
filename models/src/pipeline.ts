import { type Detection, Detector, type DetectorSettings } from './detect.js';
import { Embedder } from './embed.js';
import { combineEnrolment, type Enrolment, MAX_ENROL_PHOTOS } from './enrol.js';
import { ModelError, type ModelErrorCode } from './errors.js';
import { checkRgb, decodeImage, type ImageLimits, type RgbImage } from './image.js';
import { Landmarker } from './landmarks.js';
import { type Manifest, type ModelEntry, type ModelRole, readManifest } from './manifest.js';
import type { FaceAnalysis, Rejection, RejectReason, StageTimings } from './result.js';
import { type LoadedModel, loadModel } from './session.js';

export interface QualityGates {
  /** smallest accepted face: the shorter side of the detector's box, in source pixels */
  minFacePx: number;
  /** smallest accepted variance of the Laplacian of the aligned grey face (lower = more blurred) */
  minSharpness: number;
  /** images wider or taller than this are refused before decoding */
  maxImageSide: number;
}

// Chosen from the test photos and synthetic blur; README "Quality gates" has the evidence.
export const DEFAULT_GATES: Readonly<QualityGates> = { minFacePx: 48, minSharpness: 25, maxImageSide: 4096 };

export interface FacePipelineOptions {
  /** default: the committed manifest.json */
  manifest?: Manifest;
  /** folder of the model files (default models/files) */
  dir?: string;
  /** manifest ids; default: the first entry of each role that has a `run` spec */
  models?: Partial<Record<'detector' | 'landmarks' | 'embedder', string>>;
  /** onnxruntime intra-op threads per session (default 1, see session.ts) */
  threads?: number;
  gates?: Partial<QualityGates>;
  /** overrides of the detector's manifest minScore / nmsIou */
  detector?: Partial<DetectorSettings>;
  /** overrides the embedder's manifest matchThreshold (used by enrol() to check photos agree) */
  matchThreshold?: number;
}

export interface AnalyseOptions {
  /** refuse a picture with more than one face ('several_faces') instead of taking the largest: enrolment */
  requireSingleFace?: boolean;
}

const IMAGE_REASONS: Partial<Record<ModelErrorCode, RejectReason>> = {
  IMAGE_INVALID: 'image_invalid',
  IMAGE_TOO_LARGE: 'image_too_large',
  IMAGE_TOO_SMALL: 'image_too_small',
};

type Role = 'detector' | 'landmarks' | 'embedder';

/**
 * decode → detect → landmarks → align → embed, shared by the gateway (recognition) and the cloud (enrolment).
 * Anything wrong with the picture comes back as `{ ok: false, rejected }`; only faults of the models themselves
 * or of the caller (a closed pipeline, a wrong argument) throw, and then always a ModelError.
 */
export class FacePipeline {
  // The stages reuse their buffers, so analyses run one after another; decoding (in libvips' threads) still
  // overlaps the previous analysis.
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly sessions: readonly LoadedModel[],
    private readonly detector: Detector,
    private readonly landmarker: Landmarker,
    private readonly embedder: Embedder,
    readonly gates: Readonly<QualityGates>,
    readonly matchThreshold: number,
  ) {}

  /** Loads (hash-checked) the three models once; their sessions are reused by every analysis until close(). */
  static async create(options: FacePipelineOptions = {}): Promise<FacePipeline> {
    const gates = checkGates({ ...DEFAULT_GATES, ...options.gates });
    const threads = options.threads;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
      throw new ModelError('INPUT_INVALID', `threads: ${threads} is not a whole number from 1 to 64`);
    }
    const manifest = options.manifest ?? readManifest();
    const roles: Role[] = ['detector', 'landmarks', 'embedder'];
    const entries = roles.map((role) => pick(manifest, role, options.models?.[role]));
    const loaded = await Promise.allSettled(
      entries.map((entry, i) =>
        loadModel(entry, {
          role: roles[i] as ModelRole,
          ...(options.dir === undefined ? {} : { dir: options.dir }),
          ...(threads === undefined ? {} : { threads }),
        }),
      ),
    );
    const sessions = loaded.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = loaded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      const [det, lmk, emb] = sessions as [LoadedModel, LoadedModel, LoadedModel];
      const embedder = new Embedder(emb);
      const threshold = options.matchThreshold ?? embedder.matchThreshold;
      if (!(threshold >= -1 && threshold <= 1)) throw new ModelError('INPUT_INVALID', 'matchThreshold: expected -1..1');
      return new FacePipeline(
        sessions,
        new Detector(det, options.detector),
        new Landmarker(lmk),
        embedder,
        gates,
        threshold,
      );
    } catch (err) {
      await Promise.all(sessions.map((s) => s.release()));
      throw err;
    }
  }

  /** The manifest ids of the models in use. */
  get models(): Record<Role, string> {
    const [detector, landmarks, embedder] = this.sessions.map((s) => s.entry.id) as [string, string, string];
    return { detector, landmarks, embedder };
  }

  /** From encoded JPEG/PNG/WebP bytes (a camera frame, an uploaded photo). */
  async analyse(bytes: Uint8Array, options: AnalyseOptions = {}): Promise<FaceAnalysis> {
    this.refuseIfClosed();
    return this.track(this.decodeAndRun(bytes, options));
  }

  /** From RGB pixels the caller already decoded (8-bit, interleaved, width × height × 3 bytes). */
  async analyseRgb(image: RgbImage, options: AnalyseOptions = {}): Promise<FaceAnalysis> {
    this.refuseIfClosed();
    const started = performance.now();
    const timings = newTimings();
    try {
      checkRgb(image, this.limits());
    } catch (err) {
      return rejectImage(err, timings, started);
    }
    return this.track(this.exclusive(() => this.run(image, options, timings, started)));
  }

  /**
   * One template from 1–3 photos of one person: each must hold exactly one acceptable face, and the faces must
   * match each other at the match threshold (two different people must never be averaged into one template).
   * Returns the mean of the photos' embeddings, re-normalised; the photos are not kept.
   */
  async enrol(photos: readonly Uint8Array[]): Promise<Enrolment> {
    if (photos.length < 1 || photos.length > MAX_ENROL_PHOTOS) {
      throw new ModelError('INPUT_INVALID', `enrolment takes 1 to ${MAX_ENROL_PHOTOS} photos, got ${photos.length}`);
    }
    const analyses = await Promise.all(photos.map((p) => this.analyse(p, { requireSingleFace: true })));
    return combineEnrolment(analyses, this.matchThreshold);
  }

  /** Refuses new calls at once, lets the analyses under way finish, then releases the sessions. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await Promise.all(this.sessions.map((s) => s.release()));
  }

  private async decodeAndRun(bytes: Uint8Array, options: AnalyseOptions): Promise<FaceAnalysis> {
    const started = performance.now();
    const timings = newTimings();
    let image: RgbImage;
    try {
      image = await decodeImage(bytes, this.limits());
    } catch (err) {
      return rejectImage(err, timings, started);
    } finally {
      timings.decodeMs = performance.now() - started;
    }
    return this.exclusive(() => this.run(image, options, timings, started));
  }

  private async run(
    image: RgbImage,
    options: AnalyseOptions,
    timings: StageTimings,
    started: number,
  ): Promise<FaceAnalysis> {
    const stage = stopwatch(timings);
    const detections = await stage('detectMs', () => this.detector.detect(image));
    const faces = detections.length;
    const reject = (reason: RejectReason, message: string, face?: Rejection['face']): FaceAnalysis => {
      timings.totalMs = performance.now() - started;
      return { ok: false, faces, rejected: { reason, message, ...(face ? { face } : {}) }, timings };
    };
    const best = largest(detections);
    if (!best) return reject('no_face', 'no face found');
    if (options.requireSingleFace && faces > 1) return reject('several_faces', `${faces} faces; one is needed`);
    const { box, score } = best;
    const sizePx = Math.round(Math.min(box.width, box.height));
    if (sizePx < this.gates.minFacePx) {
      return reject('too_small', `face ${sizePx} px, under ${this.gates.minFacePx} px`, {
        box,
        score,
        quality: { sizePx },
      });
    }
    const { points5 } = await stage('landmarksMs', () => this.landmarker.locate(image, box));
    const { sharpness } = await stage('alignMs', async () => this.embedder.align(image, points5));
    const quality = { sizePx, sharpness: Math.round(sharpness * 10) / 10 };
    if (sharpness < this.gates.minSharpness) {
      return reject('too_blurred', `sharpness ${quality.sharpness}, under ${this.gates.minSharpness}`, {
        box,
        score,
        landmarks5: points5,
        quality,
      });
    }
    const embedding = await stage('embedMs', () => this.embedder.embed());
    timings.totalMs = performance.now() - started;
    return { ok: true, faces, face: { box, score, landmarks5: points5, quality, embedding }, timings };
  }

  private limits(): ImageLimits {
    return { maxSide: this.gates.maxImageSide, minSide: this.gates.minFacePx };
  }

  private refuseIfClosed(): void {
    if (this.closed) throw new ModelError('INPUT_INVALID', 'the face pipeline is closed');
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }
}

function pick(manifest: Manifest, role: Role, id: string | undefined): ModelEntry {
  const entry = manifest.models.find((m) => (id === undefined ? m.role === role && m.run : m.id === id));
  if (!entry) {
    const why = id === undefined ? `has no ${role} with a "run" spec` : `has no model ${JSON.stringify(id)}`;
    throw new ModelError('MODEL_MISMATCH', `the manifest ${why}`);
  }
  if (!entry.run) throw new ModelError('MODEL_MISMATCH', `model ${entry.id}: no "run" spec`, { model: entry.id });
  return entry;
}

function checkGates(gates: QualityGates): QualityGates {
  const bad = (key: keyof QualityGates, want: string) =>
    new ModelError('INPUT_INVALID', `gates.${key}: ${JSON.stringify(gates[key])} is not ${want}`);
  if (!(gates.minFacePx >= 1)) throw bad('minFacePx', 'a number of pixels >= 1');
  if (!(gates.minSharpness >= 0)) throw bad('minSharpness', 'a number >= 0');
  if (!(gates.maxImageSide >= gates.minFacePx)) throw bad('maxImageSide', 'at least minFacePx');
  return gates;
}

/** The face nearest the camera: on a door camera, the person about to walk through. */
function largest(detections: readonly Detection[]): Detection | undefined {
  let best: Detection | undefined;
  for (const d of detections) {
    if (!best || d.box.width * d.box.height > best.box.width * best.box.height) best = d;
  }
  return best;
}

const newTimings = (): StageTimings => ({
  decodeMs: 0,
  detectMs: 0,
  landmarksMs: 0,
  alignMs: 0,
  embedMs: 0,
  totalMs: 0,
});

function stopwatch(timings: StageTimings) {
  return async <T>(key: Exclude<keyof StageTimings, 'totalMs'>, task: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await task();
    } finally {
      timings[key] = performance.now() - t0;
    }
  };
}

function rejectImage(err: unknown, timings: StageTimings, started: number): FaceAnalysis {
  const reason = err instanceof ModelError ? IMAGE_REASONS[err.code] : undefined;
  if (!reason) throw err;
  timings.totalMs = performance.now() - started;
  return { ok: false, faces: 0, rejected: { reason, message: (err as Error).message }, timings };
}
