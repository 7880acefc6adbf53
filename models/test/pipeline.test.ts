// The face pipeline on real photos with the real models: what the gateway and the cloud's enrolment rely on.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarity } from '../src/embed.js';
import { photos } from '../src/photos.js';
import { FacePipeline } from '../src/pipeline.js';
import type { FaceAnalysis } from '../src/result.js';
import { aBlankImage, aPairPicture, aPhoto } from './builders.js';

let pipeline: FacePipeline;
beforeAll(async () => {
  pipeline = await FacePipeline.create();
});
afterAll(() => pipeline.close());

function accepted(result: FaceAnalysis) {
  if (!result.ok) throw new Error(`expected a face, got ${result.rejected.reason}: ${result.rejected.message}`);
  return result.face;
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('FacePipeline.analyse', () => {
  it('finds the face in a 720×576 camera-like frame and returns a finite unit-length 512-d embedding', async () => {
    const result = await pipeline.analyse(aPhoto('franck_02045.jpg'));
    const face = accepted(result);
    expect(result.faces).toBe(1);
    expect(face.embedding).toHaveLength(512);
    expect(face.embedding.every(Number.isFinite)).toBe(true);
    expect(norm(face.embedding)).toBeCloseTo(1, 5);
    expect(face.score).toBeGreaterThan(0.9);
    // the face is in the right half of the frame, eyes above the mouth, left eye left of the right one
    expect(face.box.x).toBeGreaterThan(200);
    const [lx, ly, rx, , , , mx, my] = face.landmarks5;
    expect(lx).toBeLessThan(rx as number);
    expect(ly).toBeLessThan(my as number);
    expect(mx).toBeGreaterThan(face.box.x);
    expect(face.quality.sizePx).toBeGreaterThan(150);
    expect(face.quality.sharpness).toBeGreaterThan(pipeline.gates.minSharpness);
    for (const [stage, ms] of Object.entries(result.timings)) expect(ms, stage).toBeGreaterThan(0);
  });

  it('gives the same embedding from pixels the caller decoded as from the JPEG', async () => {
    const bytes = aPhoto('cage.jpg');
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    const fromRgb = accepted(await pipeline.analyseRgb({ data, width: info.width, height: info.height }));
    const fromJpeg = accepted(await pipeline.analyse(bytes));
    expect(similarity(fromRgb.embedding, fromJpeg.embedding)).toBeGreaterThan(0.9999);
    expect(fromRgb.box).toEqual(fromJpeg.box);
  });

  it('counts every face in the group photos (as counted by eye in photos.json) and still analyses one', async () => {
    for (const group of photos().filter((p) => p.kind === 'group')) {
      const result = await pipeline.analyse(aPhoto(group.file));
      expect(result.faces, group.file).toBe(group.faces);
      expect(result.ok, group.file).toBe(true);
    }
  });

  it('decides for the larger of two faces, whichever side it is on', async () => {
    const franck = accepted(await pipeline.analyse(aPhoto('franck_02159.jpg'))).embedding;
    const cage = accepted(await pipeline.analyse(aPhoto('cage.jpg'))).embedding;
    const bigFranck = await pipeline.analyse(await aPairPicture('franck_02159.jpg', 'cage.jpg', 0.6));
    const bigCage = await pipeline.analyse(await aPairPicture('cage.jpg', 'franck_02159.jpg', 0.6));
    expect([bigFranck.faces, bigCage.faces]).toEqual([2, 2]);
    expect(similarity(accepted(bigFranck).embedding, franck)).toBeGreaterThan(0.9);
    expect(similarity(accepted(bigCage).embedding, cage)).toBeGreaterThan(0.9);
  });

  it('refuses a picture with several faces when one face is required (enrolment)', async () => {
    const result = await pipeline.analyse(aPhoto('sample2.jpg'), { requireSingleFace: true });
    expect(result).toMatchObject({ ok: false, faces: 3, rejected: { reason: 'several_faces' } });
  });

  it('applies EXIF orientation, so a phone photo taken sideways still matches', async () => {
    const bytes = aPhoto('bieber_small.jpg');
    // pixels stored rotated, with the tag (6: rotate 90° clockwise to view) that phones write
    const sideways = await sharp(bytes).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const upright = accepted(await pipeline.analyse(bytes)).embedding;
    expect(similarity(accepted(await pipeline.analyse(sideways)).embedding, upright)).toBeGreaterThan(0.95);
  });

  it('runs concurrent calls one at a time, each with its own answer (the stages share buffers)', async () => {
    const files = ['franck_01829.jpg', 'cage2_crop.jpg', 'audrey.jpg', 'obama4_crop.jpg'];
    const sequential: Float32Array[] = [];
    for (const f of files) sequential.push(accepted(await pipeline.analyse(aPhoto(f))).embedding);
    const concurrent = await Promise.all(files.map((f) => pipeline.analyse(aPhoto(f))));
    concurrent.forEach((r, i) => {
      expect(similarity(accepted(r).embedding, sequential[i] as Float32Array)).toBeCloseTo(1, 5);
    });
  });
  it('finishes the analyses under way when closed, then refuses new ones', async () => {
    const closing = await FacePipeline.create();
    const inFlight = [closing.analyse(aPhoto('franck_02221.jpg')), closing.analyse(aPhoto('cage2_crop.jpg'))];
    await closing.close();
    expect((await Promise.all(inFlight)).map((r) => r.ok)).toEqual([true, true]);
    await expect(closing.analyse(aPhoto('cage.jpg'))).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});

describe('quality gates', () => {
  it('says no_face for a picture without one', async () => {
    const result = await pipeline.analyse(await aBlankImage(640, 480));
    expect(result).toMatchObject({ ok: false, faces: 0, rejected: { reason: 'no_face' } });
  });

  it('refuses a face smaller than minFacePx, reporting its size', async () => {
    const small = await sharp(aPhoto('franck_02045.jpg')).resize({ width: 120 }).jpeg().toBuffer();
    const result = await pipeline.analyse(small);
    expect(result).toMatchObject({ ok: false, faces: 1, rejected: { reason: 'too_small' } });
    if (!result.ok) expect(result.rejected.face?.quality.sizePx).toBeLessThan(pipeline.gates.minFacePx);
  });

  it('refuses a badly blurred face, reporting its sharpness', async () => {
    const blurred = await sharp(aPhoto('obama4_crop.jpg')).blur(6).jpeg().toBuffer();
    const result = await pipeline.analyse(blurred);
    expect(result).toMatchObject({ ok: false, faces: 1, rejected: { reason: 'too_blurred' } });
    if (!result.ok) expect(result.rejected.face?.quality.sharpness).toBeLessThan(pipeline.gates.minSharpness);
  });

  it('takes its thresholds from the options', async () => {
    const strict = await FacePipeline.create({ gates: { minFacePx: 400 } });
    try {
      const result = await strict.analyse(aPhoto('franck_02045.jpg'));
      expect(result).toMatchObject({
        ok: false,
        rejected: { reason: 'too_small', face: { quality: { sizePx: 233 } } },
      });
    } finally {
      await strict.close();
    }
  });
});
