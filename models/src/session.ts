import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelError } from './errors.js';
import type { ModelEntry, ModelRole, TensorSpec } from './manifest.js';
import { writeInput } from './sampling.js';
import { readVerifiedModel } from './verify.js';

export interface LoadOptions {
  /** folder holding the model files (default models/files) */
  dir?: string;
  /**
   * onnxruntime intra-op threads. Default 1: on the 2-core gateway two threads measured no faster per face
   * (README "Timings"; these models are small) and one leaves the other core to decoding, the broker and the agent.
   */
  threads?: number;
  /** refuse the entry unless it has this role (a detector entry passed as the embedder is a config mistake) */
  role?: ModelRole;
}

/** A verified model with its session and a reusable input buffer: fill `input`, then `run()`. */
export interface LoadedModel {
  readonly entry: ModelEntry;
  readonly path: string;
  readonly spec: TensorSpec;
  /** [channels, height, width] of the single image input */
  readonly chw: readonly [number, number, number];
  /** the input tensor's data, allocated once and fed to every run */
  readonly input: Float32Array;
  /**
   * Runs the model. Given `rgb` (H×W×3 interleaved, 0..255), first writes it into `input` normalised as the
   * manifest's pixel spec says; without, runs on `input` as the caller filled it. Returns each output named in
   * the manifest, as float32 data of its manifest size.
   */
  run(rgb?: Float32Array): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Loads any model the manifest describes. The file's sha256 is checked before onnxruntime sees a byte, and the
 * session's real tensors are compared with the manifest, so a dropped-in model that does not fit its entry is
 * refused at start with a coded error naming it rather than producing nonsense at the door.
 */
export async function loadModel(entry: ModelEntry, options: LoadOptions = {}): Promise<LoadedModel> {
  const mismatch = (why: string) =>
    new ModelError('MODEL_MISMATCH', `model ${entry.id} (${entry.file}): ${why}`, { model: entry.id });
  if (options.role && entry.role !== options.role) throw mismatch(`its role is ${entry.role}, not ${options.role}`);
  const spec = entry.inputs[0];
  const [n, c, h, w] = spec?.shape ?? [];
  const pixels = spec?.pixels;
  if (!spec || !pixels || entry.inputs.length !== 1 || spec.shape.length !== 4 || n !== 1 || !c || !h || !w) {
    throw mismatch('the loader feeds exactly one [1, C, H, W] image input with a pixels spec');
  }
  const { path, bytes } = await readVerifiedModel(entry, options.dir === undefined ? {} : { dir: options.dir });
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // With more than one thread, onnxruntime's workers spin between runs by default; on 2 cores that starved
      // the JS stages (threads 2: p50 48 ms per face spinning, 25 ms not) and every other process on the box.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    throw new ModelError(
      'MODEL_LOAD_FAILED',
      `model ${entry.id}: onnxruntime cannot load ${path} (${(err as Error).message})`,
      { model: entry.id, file: path },
    );
  }
  try {
    checkTensors(session.inputMetadata, entry.inputs, 'input');
    checkTensors(session.outputMetadata, entry.outputs, 'output');
  } catch (err) {
    await session.release();
    throw mismatch((err as Error).message);
  }
  const input = new Float32Array(size(spec.shape));
  const feeds = { [spec.name]: new Tensor('float32', input, spec.shape) };
  return {
    entry,
    path,
    spec,
    chw: [c, h, w],
    input,
    async run(rgb) {
      if (rgb) writeInput(rgb, pixels, input, h * w);
      const results = await session.run(feeds);
      const out: Record<string, Float32Array> = {};
      for (const t of entry.outputs) {
        const data = results[t.name]?.data;
        if (!(data instanceof Float32Array) || data.length !== size(t.shape)) {
          throw new ModelError(
            'MODEL_OUTPUT_INVALID',
            `model ${entry.id}: output ${t.name} is not float32 ${t.shape}`,
            {
              model: entry.id,
            },
          );
        }
        out[t.name] = data;
      }
      return out;
    },
    release: () => session.release(),
  };
}

/** Names and shapes as the manifest says; a symbolic (dynamic) dimension in the file accepts the manifest's size. */
function checkTensors(actual: readonly InferenceSession.ValueMetadata[], wanted: TensorSpec[], kind: string): void {
  const describe = (list: readonly { name: string }[]) => list.map((t) => t.name).join(', ');
  if (actual.length !== wanted.length || wanted.some((t, i) => actual[i]?.name !== t.name)) {
    throw new Error(`its ${kind}s are [${describe(actual)}], the manifest says [${describe(wanted)}]`);
  }
  wanted.forEach((t, i) => {
    const meta = actual[i];
    if (!meta?.isTensor || meta.type !== t.dtype) throw new Error(`${kind} ${t.name} is not a ${t.dtype} tensor`);
    const fits =
      meta.shape.length === t.shape.length &&
      meta.shape.every((d, j) => typeof d === 'string' || d < 0 || d === t.shape[j]);
    if (!fits) throw new Error(`${kind} ${t.name} has shape [${meta.shape}], the manifest says [${t.shape}]`);
  });
}
