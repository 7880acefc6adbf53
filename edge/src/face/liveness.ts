/** One face seen by one camera, as the liveness check needs it. */
export interface Observation {
  personId: string;
  ts: number;
  /** [x0, y0, …, x4, y4]: eyes, nose tip, mouth corners, in frame pixels */
  landmarks5: ArrayLike<number>;
}

export type LivenessVerdict = 'live' | 'spoof' | 'undecided';

/** The presentation-attack hook: a gateway may plug in a model-based check instead. */
export interface LivenessCheck {
  /** Called for every matched face, per camera; says whether the face is live, a spoof, or needs more frames. */
  observe(cameraId: string, o: Observation): LivenessVerdict;
}

export interface MultiFrameOptions {
  /** frames of the same person needed before deciding (default 2) */
  minFrames?: number;
  /** frames older than this are forgotten (default 2000 ms) */
  windowMs?: number;
  /** smallest non-rigid landmark change, as a fraction of the eye distance, that counts as a live face (default 0.004) */
  minChange?: number;
}

/**
 * Multi-frame consistency: a live face never gives exactly the same
 * landmark geometry twice; a still image replayed frame after frame does.
 * Between frames the 5 landmarks are compared after removing translation,
 * scale and in-plane rotation (a photo slid or turned in front of the camera
 * still counts as unchanged).
 *
 * What it catches: a still picture fed as every frame (a photo on a stand or a
 * screen showing a photo, a frozen or looped still in a compromised camera).
 * What it does not catch: a hand-held printed photo whose paper bends or tilts
 * in depth, a video replay, a 3-D mask — those change shape between frames.
 * A model-based check (e.g. the manifest's liveness model, once its classes
 * are validated) plugs in through LivenessCheck.
 */
export class MultiFrameConsistency implements LivenessCheck {
  readonly #tracks = new Map<string, Observation[]>();
  readonly #minFrames: number;
  readonly #windowMs: number;
  readonly #minChange: number;

  constructor(o: MultiFrameOptions = {}) {
    this.#minFrames = o.minFrames ?? 2;
    this.#windowMs = o.windowMs ?? 2_000;
    this.#minChange = o.minChange ?? 0.004;
  }

  observe(cameraId: string, o: Observation): LivenessVerdict {
    const kept = (this.#tracks.get(cameraId) ?? []).filter(
      (p) => p.personId === o.personId && o.ts - p.ts <= this.#windowMs,
    );
    kept.push(o);
    this.#tracks.set(cameraId, kept.slice(-8));
    if (kept.length < this.#minFrames) return 'undecided';
    const changed = kept.slice(0, -1).some((p) => shapeChange(p.landmarks5, o.landmarks5) >= this.#minChange);
    if (changed) {
      this.#tracks.delete(cameraId); // a decision was made; the next approach starts afresh
      return 'live';
    }
    return 'spoof';
  }
}

/** RMS distance between two 5-point shapes after a least-squares similarity alignment, in eye distances. */
export function shapeChange(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = 5;
  const ca = centroid(a);
  const cb = centroid(b);
  let sxx = 0;
  let sxy = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const ax = (a[2 * i] as number) - ca[0];
    const ay = (a[2 * i + 1] as number) - ca[1];
    const bx = (b[2 * i] as number) - cb[0];
    const by = (b[2 * i + 1] as number) - cb[1];
    sxx += ax * bx + ay * by;
    sxy += ax * by - ay * bx;
    norm += ax * ax + ay * ay;
  }
  if (norm === 0) return 0;
  // b ≈ s·R·a: [p, -q; q, p] with p = sxx/norm, q = sxy/norm
  const p = sxx / norm;
  const q = sxy / norm;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const ax = (a[2 * i] as number) - ca[0];
    const ay = (a[2 * i + 1] as number) - ca[1];
    const ex = p * ax - q * ay - ((b[2 * i] as number) - cb[0]);
    const ey = q * ax + p * ay - ((b[2 * i + 1] as number) - cb[1]);
    err += ex * ex + ey * ey;
  }
  const eyes = Math.hypot((b[2] as number) - (b[0] as number), (b[3] as number) - (b[1] as number)) || 1;
  return Math.sqrt(err / n) / eyes;
}

function centroid(p: ArrayLike<number>): [number, number] {
  let x = 0;
  let y = 0;
  for (let i = 0; i < 5; i++) {
    x += p[2 * i] as number;
    y += p[2 * i + 1] as number;
  }
  return [x / 5, y / 5];
}
