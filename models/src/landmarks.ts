import { fivePoints, type Points } from './align.js';
import type { Box } from './detect.js';
import { ModelError } from './errors.js';
import type { RgbImage } from './image.js';
import { type LandmarksRun, runSpecOf } from './run-spec.js';
import { Warper } from './sampling.js';
import type { LoadedModel } from './session.js';

/** Places 68 points on a detected face with a `points68` model; reuses its buffers, so one call at a time. */
export class Landmarker {
  private readonly rgb: Float32Array;
  private readonly warper = new Warper();
  private readonly run: LandmarksRun;

  constructor(private readonly model: LoadedModel) {
    const run = runSpecOf(model.entry, 'points68');
    this.run = run;
    const [, h, w] = model.chw;
    this.rgb = new Float32Array(h * w * 3);
  }

  /** The 68 points in source pixels, and the five alignment points taken from them. */
  async locate(image: RgbImage, box: Box): Promise<{ points68: Points; points5: Points }> {
    const [, h, w] = this.model.chw;
    const crop = squareCrop(image, box, this.run.cropScale);
    // crop pixel (u, v) → source; pixel centres on whole numbers on both sides
    const sx = crop.side / w;
    const sy = crop.side / h;
    const toSource = [sx, 0, crop.x + 0.5 * sx - 0.5, 0, sy, crop.y + 0.5 * sy - 0.5] as const;
    this.warper.warp(image, toSource, this.rgb, w, h);
    const out = (await this.model.run(this.rgb))[this.run.points] as Float32Array;
    const points68 = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      // the model answers in fractions of its crop
      points68[2 * i] = crop.x + (out[2 * i] as number) * crop.side;
      points68[2 * i + 1] = crop.y + (out[2 * i + 1] as number) * crop.side;
    }
    if (!points68.every(Number.isFinite)) {
      throw new ModelError('MODEL_OUTPUT_INVALID', `model ${this.model.entry.id}: non-finite landmarks`, {
        model: this.model.entry.id,
      });
    }
    return { points68, points5: fivePoints(points68) };
  }
}

/**
 * faceplugin's landmark crop: the box made square on its height (UltraFace boxes are taller than wide), grown by
 * `scale`, then moved (not clipped) to lie inside the image, as its alignLandmarkImage does, so the model always
 * sees a square, undistorted face.
 */
export function squareCrop(image: RgbImage, box: Box, scale: number): { x: number; y: number; side: number } {
  const side = Math.min(box.height * scale, image.width, image.height);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const x = Math.min(Math.max(cx - side / 2, 0), image.width - side);
  const y = Math.min(Math.max(cy - side / 2, 0), image.height - side);
  return { x, y, side };
}
