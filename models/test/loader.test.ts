// DESIGN: "a model whose sha256 does not match refuses to load", and issue 3: "the gateway says which and why";
// the loader takes any model the manifest describes, and refuses one that does not fit its entry.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../src/errors.js';
import { type Manifest, type ModelEntry, parseManifest, readManifest } from '../src/manifest.js';
import { modelFilesDir } from '../src/paths.js';
import { FacePipeline } from '../src/pipeline.js';
import { loadModel } from '../src/session.js';

const manifest = readManifest();
const byRole = (role: string): ModelEntry => {
  const entry = manifest.models.find((m) => m.role === role);
  if (!entry) throw new Error(`no ${role} in the manifest`);
  return entry;
};

/** The manifest with one entry changed, checked by the real parser as a property company's edit would be. */
const aManifestWith = (id: string, change: (entry: Record<string, unknown>) => void): Manifest => {
  const json = structuredClone(manifest) as unknown as { models: Record<string, unknown>[] };
  const entry = json.models.find((m) => m.id === id);
  if (!entry) throw new Error(`no model ${id}`);
  change(entry);
  return parseManifest(json);
};

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'estate-models-'));
  for (const m of manifest.models) await copyFile(join(modelFilesDir, m.file), join(dir, m.file));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('loading the pipeline models', () => {
  it('refuses a tampered embedder, naming the model, the file and both hashes', async () => {
    const embedder = byRole('embedder');
    const path = join(dir, embedder.file);
    const original = await readFile(path);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 100] = (tampered[tampered.length - 100] ?? 0) ^ 0xff;
    await writeFile(path, tampered);
    try {
      const error = await FacePipeline.create({ dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      const { code, details, message } = error as ModelError;
      expect(code).toBe('HASH_MISMATCH');
      expect(details).toMatchObject({ model: embedder.id, file: path, expected: embedder.sha256 });
      for (const part of [embedder.id, path, embedder.sha256, details.actual ?? '?']) expect(message).toContain(part);
    } finally {
      await writeFile(path, original);
    }
  });

  it('loads from another folder when the files there are intact', async () => {
    const pipeline = await FacePipeline.create({ dir });
    await pipeline.close();
    expect(pipeline.models).toEqual({
      detector: byRole('detector').id,
      landmarks: byRole('landmarks').id,
      embedder: byRole('embedder').id,
    });
  });

  it('refuses a manifest entry whose tensors disagree with the file', async () => {
    const wrong = aManifestWith(byRole('embedder').id, (e) => {
      for (const input of e.inputs as { shape: number[] }[]) input.shape = [1, 3, 128, 128];
    });
    await expect(FacePipeline.create({ manifest: wrong })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
      message: expect.stringMatching(/input input has shape \[1,3,112,112\], the manifest says \[1,3,128,128\]/),
    });
  });

  it('refuses a model picked for a role it does not have', async () => {
    await expect(FacePipeline.create({ models: { embedder: byRole('detector').id } })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
      details: { model: byRole('detector').id },
    });
    await expect(FacePipeline.create({ models: { detector: 'no-such-model' } })).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
    });
  });

  it('refuses bad quality gates at start, naming the key', async () => {
    await expect(FacePipeline.create({ gates: { minFacePx: 0 } })).rejects.toThrowError(/gates\.minFacePx/);
  });

  it('loads models the pipeline does not run too (the liveness model for the gateway) and runs them', async () => {
    const liveness = await loadModel(byRole('liveness'), { role: 'liveness' });
    try {
      liveness.input.fill(128);
      const out = await liveness.run();
      expect(out[byRole('liveness').outputs[0]?.name ?? '']?.length).toBe(3);
    } finally {
      await liveness.release();
    }
  });
});

describe('run specs in the manifest', () => {
  it('names the field when a run spec does not fit its model', () => {
    const detector = byRole('detector').id;
    expect(() => aManifestWith(detector, (e) => Object.assign(e.run as object, { boxes: 'nope' }))).toThrowError(
      /\$\.models\[0\]\.run\.boxes: no output named "nope"/,
    );
    expect(() => aManifestWith(detector, (e) => Object.assign(e.run as object, { decoder: 'embedding' }))).toThrowError(
      /\$\.models\[0\]\.run\.decoder: expected one of scores-boxes/,
    );
    expect(() => aManifestWith(byRole('liveness').id, (e) => Object.assign(e, { run: { decoder: 'x' } }))).toThrowError(
      /does not run role liveness/,
    );
  });
});
