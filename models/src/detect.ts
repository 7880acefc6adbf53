import type { RgbImage } from './image.js';
import { type DetectorRun, runSpecOf } from './run-spec.js';
import { resizeWhole } from './sampling.js';
import type { LoadedModel } from './session.js';

/** In source image pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Detection {
  box: Box;
  score: number;
}

export interface DetectorSettings {
  minScore: number;
  nmsIou: number;
}

/** Finds faces in a whole image with a `scores-boxes` detector; reuses its buffers, so one call at a time. */
export class Detector {
  private readonly rgb: Float32Array;
  private readonly run: DetectorRun;
  readonly settings: DetectorSettings;

  constructor(
    private readonly model: LoadedModel,
    settings: Partial<DetectorSettings> = {},
  ) {
    const run = runSpecOf(model.entry, 'scores-boxes');
    this.run = run;
    this.settings = { minScore: settings.minScore ?? run.minScore, nmsIou: settings.nmsIou ?? run.nmsIou };
    const [, h, w] = model.chw;
    this.rgb = new Float32Array(h * w * 3);
  }

  /** Faces above the score threshold after non-maximum suppression, best score first. */
  async detect(image: RgbImage): Promise<Detection[]> {
    const [, h, w] = this.model.chw;
    resizeWhole(image, this.rgb, w, h);
    const out = await this.model.run(this.rgb);
    const scores = out[this.run.scores] as Float32Array;
    const boxes = out[this.run.boxes] as Float32Array;
    const classes = scores.length / (boxes.length / 4);
    const candidates: Detection[] = [];
    for (let i = 0; i < boxes.length / 4; i++) {
      const score = scores[i * classes + this.run.faceClass] as number;
      if (!(score >= this.settings.minScore)) continue;
      // Boxes are fractions of the (stretched) input, so they map back to the source by its own width and height;
      // they may poke slightly outside 0..1, hence the clamp.
      const x1 = clamp((boxes[i * 4] as number) * image.width, 0, image.width);
      const y1 = clamp((boxes[i * 4 + 1] as number) * image.height, 0, image.height);
      const x2 = clamp((boxes[i * 4 + 2] as number) * image.width, 0, image.width);
      const y2 = clamp((boxes[i * 4 + 3] as number) * image.height, 0, image.height);
      if (x2 - x1 >= 1 && y2 - y1 >= 1)
        candidates.push({ box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score });
    }
    return suppress(candidates, this.settings.nmsIou);
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Greedy non-maximum suppression: keep the best box, drop those overlapping it by more than `iou`, repeat. */
export function suppress(candidates: Detection[], iou: number): Detection[] {
  candidates.sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const c of candidates) {
    if (kept.every((k) => overlap(k.box, c.box) <= iou)) kept.push(c);
  }
  return kept;
}

/** Intersection over union. */
export function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
