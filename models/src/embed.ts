import { fitSimilarity, invertSimilarity, type Points } from './align.js';
import { ModelError } from './errors.js';
import type { RgbImage } from './image.js';
import { type EmbedderRun, runSpecOf } from './run-spec.js';
import { laplacianVariance, type PixelRect, Warper } from './sampling.js';
import type { LoadedModel } from './session.js';

/** Aligns faces onto the embedder's template and embeds them; reuses its buffers, so one face at a time. */
export class Embedder {
  private readonly rgb: Float32Array;
  private readonly warper = new Warper();
  private readonly grey: Float32Array;
  private readonly template: Float32Array;
  private readonly run: EmbedderRun;
  private readonly faceRegion: PixelRect;

  constructor(private readonly model: LoadedModel) {
    const run = runSpecOf(model.entry, 'embedding');
    this.run = run;
    const [, h, w] = model.chw;
    this.rgb = new Float32Array(h * w * 3);
    this.grey = new Float32Array(h * w);
    this.template = Float32Array.from(run.template.flat());
    this.faceRegion = faceRegion(run.template, w, h);
  }

  get matchThreshold(): number {
    return this.run.matchThreshold;
  }

  /**
   * Warps the face so its five points fall on the template (least-squares similarity over all five: steadier
   * than faceplugin's exact fit through three) and returns the sharpness of the aligned face. The aligned
   * pixels stay in this embedder for `embed()`.
   */
  align(image: RgbImage, points5: Points): { sharpness: number } {
    const [, h, w] = this.model.chw;
    const toSource = invertSimilarity(fitSimilarity(points5, this.template));
    this.warper.warp(image, toSource, this.rgb, w, h);
    return { sharpness: laplacianVariance(this.rgb, w, this.faceRegion, this.grey) };
  }

  /** The embedding of the face last aligned, L2-normalised: a dot product of two is their cosine. */
  async embed(): Promise<Float32Array> {
    const out = (await this.model.run(this.rgb))[this.run.embedding] as Float32Array;
    const embedding = normalise(out);
    if (!embedding) {
      throw new ModelError('MODEL_OUTPUT_INVALID', `model ${this.model.entry.id}: NaN, infinite or zero embedding`, {
        model: this.model.entry.id,
      });
    }
    return embedding;
  }
}

/**
 * Where the face is in the aligned image: the template points' bounding box grown by 30% of its size on each
 * side (brows to chin, cheek to cheek on the ArcFace layout: x 28–84, y 39–105 of 112).
 */
function faceRegion(template: readonly [number, number][], w: number, h: number): PixelRect {
  const xs = template.map(([x]) => x);
  const ys = template.map(([, y]) => y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const mx = 0.3 * (maxX - minX);
  const my = 0.3 * (maxY - minY);
  return {
    x0: Math.max(0, Math.floor(minX - mx)),
    y0: Math.max(0, Math.floor(minY - my)),
    x1: Math.min(w, Math.ceil(maxX + mx)),
    y1: Math.min(h, Math.ceil(maxY + my)),
  };
}

/** A unit-length copy, or undefined when the vector has a non-finite value or no length. */
export function normalise(v: Float32Array): Float32Array | undefined {
  let sum = 0;
  for (const x of v) sum += x * x;
  if (!Number.isFinite(sum) || sum === 0) return undefined;
  const inv = 1 / Math.sqrt(sum);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) * inv;
  return out;
}

/** Cosine similarity of two L2-normalised embeddings (their dot product). */
export function similarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new ModelError('INPUT_INVALID', `embeddings of different lengths (${a.length}, ${b.length})`);
  }
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] as number) * (b[i] as number);
  return dot;
}
