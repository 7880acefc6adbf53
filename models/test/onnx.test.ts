// Each fetched model loads in onnxruntime-node, and its tensors are the ones manifest.json describes.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readManifest, type TensorSpec } from '../src/manifest.js';
import { verifyModelFile } from '../src/verify.js';

const shapeOf = (meta: InferenceSession.ValueMetadata) => (meta.isTensor ? meta.shape : 'not a tensor');
const specOf = (t: TensorSpec) => ({ name: t.name, type: t.dtype, shape: t.shape });

describe.each(readManifest().models.map((m) => [m.id, m] as const))('%s', (_id, model) => {
  it('has the input and output names, dtypes and shapes of the manifest', async () => {
    const session = await InferenceSession.create(await verifyModelFile(model));
    try {
      expect(session.inputNames).toEqual(model.inputs.map((t) => t.name));
      expect(session.outputNames).toEqual(model.outputs.map((t) => t.name));
      const actual = (list: readonly InferenceSession.ValueMetadata[]) =>
        list.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'not a tensor', shape: shapeOf(m) }));
      expect(actual(session.inputMetadata)).toEqual(model.inputs.map(specOf));
      expect(actual(session.outputMetadata)).toEqual(model.outputs.map(specOf));

      // One run on a blank input proves the shapes hold at run time too, not just in the metadata.
      const feeds: Record<string, Tensor> = {};
      for (const t of model.inputs) {
        feeds[t.name] = new Tensor('float32', new Float32Array(t.shape.reduce((a, b) => a * b, 1)), t.shape);
      }
      const out = await session.run(feeds);
      for (const t of model.outputs) expect(out[t.name]?.dims, t.name).toEqual(t.shape);
    } finally {
      await session.release();
    }
  });
});
