// Enrolment (issue 3 item 6, and the cloud later): 1–3 photos of one person → one template, embeddings only.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarity } from '../src/embed.js';
import { ModelError } from '../src/errors.js';
import { FacePipeline } from '../src/pipeline.js';
import { aPhoto } from './builders.js';

let pipeline: FacePipeline;
beforeAll(async () => {
  pipeline = await FacePipeline.create();
});
afterAll(() => pipeline.close());

const frames = (...names: string[]) => names.map((n) => aPhoto(`franck_${n}.jpg`));

async function embeddingOf(file: string): Promise<Float32Array> {
  const result = await pipeline.analyse(aPhoto(file));
  if (!result.ok) throw new Error(`${file}: ${result.rejected.reason}`);
  return result.face.embedding;
}

describe('FacePipeline.enrol', () => {
  it('averages three photos into one unit-length template that matches a fourth photo and not a stranger', async () => {
    const enrolment = await pipeline.enrol(frames('01829', '02159', '02888'));
    if (!enrolment.ok) throw new Error(enrolment.message);
    expect(enrolment.used).toBe(3);
    expect(enrolment.agreement).toBeGreaterThanOrEqual(pipeline.matchThreshold);
    const norm = Math.sqrt(enrolment.embedding.reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(similarity(enrolment.embedding, await embeddingOf('franck_04035.jpg'))).toBeGreaterThan(
      pipeline.matchThreshold,
    );
    expect(similarity(enrolment.embedding, await embeddingOf('cage.jpg'))).toBeLessThan(pipeline.matchThreshold);
  });

  it('enrols from one photo', async () => {
    const enrolment = await pipeline.enrol([aPhoto('cage.jpg')]);
    expect(enrolment).toMatchObject({ ok: true, used: 1, agreement: 1 });
  });

  it('uses the good photos and says why each other one was refused', async () => {
    const enrolment = await pipeline.enrol([aPhoto('audrey.jpg'), randomBytes(3000), aPhoto('sample1.jpg')]);
    expect(enrolment).toMatchObject({ ok: true, used: 1 });
    expect(enrolment.photos.map((p) => (p.ok ? 'ok' : p.rejected.reason))).toEqual([
      'ok',
      'image_invalid',
      'several_faces',
    ]);
  });

  it('refuses to blend two people into one template', async () => {
    const enrolment = await pipeline.enrol([...frames('02045'), aPhoto('cage.jpg')]);
    expect(enrolment).toMatchObject({ ok: false, reason: 'photos_disagree' });
    if (!enrolment.ok) expect(enrolment.message).toContain('photos 1 and 2');
  });

  it('refuses when no photo has a usable face', async () => {
    const enrolment = await pipeline.enrol([new Uint8Array(0)]);
    expect(enrolment).toMatchObject({ ok: false, reason: 'no_usable_photo' });
  });

  it('takes 1 to 3 photos', async () => {
    for (const photos of [[], frames('01829', '02045', '02159', '02221')]) {
      const error = await pipeline.enrol(photos).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    }
  });
});
