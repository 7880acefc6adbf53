// How the pipeline runs a detector, landmark model or embedder: which outputs mean what, how the input crop is
// made and the model-specific thresholds. It lives in the manifest next to the tensors so a property company can
// drop in a licensed model by adding an entry; a model whose outputs need a decoder not listed here needs code.
import type { Check, Obj } from './check.js';
import { ModelError } from './errors.js';
import type { ModelEntry, ModelRole, TensorSpec } from './manifest.js';

/** Per-candidate class probabilities (already softmaxed) and [x1, y1, x2, y2] boxes as fractions of the input. */
export interface DetectorRun {
  decoder: 'scores-boxes';
  /** output [1, N, classes] */
  scores: string;
  /** output [1, N, 4] */
  boxes: string;
  /** index of the face class in `scores` */
  faceClass: number;
  minScore: number;
  /** boxes overlapping a better one by more than this intersection-over-union are dropped */
  nmsIou: number;
}

/** 68 iBUG points as (x, y) fractions of the crop the model was fed. */
export interface LandmarksRun {
  decoder: 'points68';
  /** output [1, 136] */
  points: string;
  /** the crop: the detector box made square on its height (faceplugin's convention), grown by `cropScale` */
  crop: 'square-on-height';
  cropScale: number;
}

/** One embedding per aligned face; faces are warped so 5 points land on `template` (input pixels). */
export interface EmbedderRun {
  decoder: 'embedding';
  /** output [1, D] */
  embedding: string;
  /** left eye, right eye, nose tip, left and right mouth corner, as seen in the image */
  template: [number, number][];
  /** cosine at or above which two faces are the same person; see README "Match threshold" */
  matchThreshold: number;
}

export type RunSpec = DetectorRun | LandmarksRun | EmbedderRun;

/** The entry's run spec, which must use `decoder`: what a stage checks before it takes a model. */
export function runSpecOf<D extends RunSpec['decoder']>(
  entry: ModelEntry,
  decoder: D,
): Extract<RunSpec, { decoder: D }> {
  const run = entry.run;
  if (run?.decoder !== decoder) {
    throw new ModelError('MODEL_MISMATCH', `model ${entry.id}: its run spec is not a ${decoder} decoder`, {
      model: entry.id,
    });
  }
  return run as Extract<RunSpec, { decoder: D }>;
}

const DECODER_OF: Partial<Record<ModelRole, RunSpec['decoder']>> = {
  detector: 'scores-boxes',
  landmarks: 'points68',
  embedder: 'embedding',
};

export function parseRunSpec(
  c: Check,
  value: unknown,
  where: string,
  role: ModelRole,
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
): RunSpec | undefined {
  const expected = DECODER_OF[role];
  if (value === undefined) return undefined;
  if (expected === undefined) c.fail(where, `the pipeline does not run role ${role}; remove "run"`);
  const o = c.obj(value, where);
  const decoder = c.oneOf(o, 'decoder', where, [expected]);
  checkImageInput(c, inputs, where);
  const output = (key: string): string => {
    const name = c.str(o, key, where);
    if (!outputs.some((t) => t.name === name)) c.fail(`${where}.${key}`, `no output named ${JSON.stringify(name)}`);
    return name;
  };
  switch (decoder) {
    case 'scores-boxes':
      return {
        decoder,
        scores: output('scores'),
        boxes: output('boxes'),
        faceClass: c.int(o, 'faceClass', where),
        minScore: c.num(o, 'minScore', where, 0, 1),
        nmsIou: c.num(o, 'nmsIou', where, 0, 1),
      };
    case 'points68':
      return {
        decoder,
        points: output('points'),
        crop: c.oneOf(o, 'crop', where, ['square-on-height'] as const),
        cropScale: c.num(o, 'cropScale', where, 0.5, 4),
      };
    case 'embedding':
      return {
        decoder,
        embedding: output('embedding'),
        template: template(c, o, where),
        matchThreshold: c.num(o, 'matchThreshold', where, -1, 1),
      };
  }
}

/** The pipeline feeds one image tensor: [1, C, H, W], NCHW, with a pixel spec whose colour gives C. */
function checkImageInput(c: Check, inputs: readonly TensorSpec[], where: string): void {
  const input = inputs[0];
  if (inputs.length !== 1 || !input) c.fail(where, 'the pipeline feeds exactly one input tensor');
  const [n, channels, h, w] = input.shape;
  const pixels = input.pixels;
  if (input.shape.length !== 4 || n !== 1 || input.layout !== 'NCHW' || !pixels) {
    c.fail(where, `input ${input.name} must be [1, C, H, W] with layout NCHW and a pixels spec`);
  }
  if (channels !== (pixels.colour === 'RGB' ? 3 : 1) || !(h && h > 0 && w && w > 0)) {
    c.fail(where, `input ${input.name} shape ${JSON.stringify(input.shape)} does not fit ${pixels.colour} pixels`);
  }
}

function template(c: Check, o: Obj, where: string): [number, number][] {
  const points = c.arr(o.template, `${where}.template`).map((p, i): [number, number] => {
    const xy = c.numbers(p, `${where}.template[${i}]`);
    if (xy.length !== 2) c.fail(`${where}.template[${i}]`, 'expected [x, y]');
    return [xy[0] ?? 0, xy[1] ?? 0];
  });
  if (points.length !== 5) c.fail(`${where}.template`, 'expected 5 points');
  return points;
}
