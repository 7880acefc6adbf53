// Issue 3, "Bad input": corrupt, zero-byte, 8K and non-image frames are each refused with a reason, and the
// pipeline keeps working after them. Nothing here may throw: a frame from a camera is untrusted input.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FacePipeline } from '../src/pipeline.js';
import type { RejectReason } from '../src/result.js';
import { aBlankImage, aPhoto, aPngHeader } from './builders.js';

let pipeline: FacePipeline;
beforeAll(async () => {
  pipeline = await FacePipeline.create();
});
afterAll(() => pipeline.close());

const jpeg = aPhoto('franck_02045.jpg');
const cases: [string, () => Promise<Uint8Array> | Uint8Array, RejectReason][] = [
  ['zero bytes', () => new Uint8Array(0), 'image_invalid'],
  ['random bytes', () => randomBytes(50_000), 'image_invalid'],
  ['a JPEG cut off half-way (a frame lost in transit)', () => jpeg.subarray(0, jpeg.length >> 1), 'image_invalid'],
  [
    'a JPEG with its middle overwritten',
    () => Buffer.concat([jpeg.subarray(0, 2000), randomBytes(8000), jpeg.subarray(10_000)]),
    'image_invalid',
  ],
  [
    'a PNG signature followed by garbage',
    () => Buffer.concat([aPngHeader(640, 480).subarray(0, 8), randomBytes(5000)]),
    'image_invalid',
  ],
  ['a PNG whose header promises pixels it does not hold', () => aPngHeader(640, 480), 'image_invalid'],
  [
    'an SVG (a format libvips reads but a camera never sends)',
    () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"/>'),
    'image_invalid',
  ],
  [
    'a GIF',
    () =>
      sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } })
        .gif()
        .toBuffer(),
    'image_invalid',
  ],
  ['a tiny 16×16 image', () => aBlankImage(16, 16), 'image_too_small'],
  ['an 8K (7680×4320) JPEG', () => aBlankImage(7680, 4320), 'image_too_large'],
  [
    'a 60000×60000 PNG bomb of under 100 bytes, refused from its header',
    () => aPngHeader(60_000, 60_000),
    'image_too_large',
  ],
];

describe('FacePipeline.analyse on bad input', () => {
  it.each(cases)('refuses %s with a coded reason', async (_what, make, reason) => {
    const result = await pipeline.analyse(await make());
    expect(result).toMatchObject({ ok: false, faces: 0, rejected: { reason } });
    if (!result.ok) expect(result.rejected.message).toMatch(/^image refused: /);
  });

  it('still recognises a good frame after all of them', async () => {
    expect((await pipeline.analyse(jpeg)).ok).toBe(true);
  });

  it('refuses raw pixels whose buffer does not match their size', async () => {
    const result = await pipeline.analyseRgb({ data: new Uint8Array(100), width: 640, height: 480 });
    expect(result).toMatchObject({ ok: false, rejected: { reason: 'image_invalid' } });
    const nan = await pipeline.analyseRgb({ data: new Uint8Array(0), width: Number.NaN, height: 480 });
    expect(nan).toMatchObject({ ok: false, rejected: { reason: 'image_invalid' } });
  });

  it('refuses raw pixels over the size limit without reading them', async () => {
    const result = await pipeline.analyseRgb({ data: new Uint8Array(0), width: 7680, height: 4320 });
    expect(result).toMatchObject({ ok: false, rejected: { reason: 'image_too_large' } });
  });

  it('refuses a non-byte argument as invalid rather than throwing', async () => {
    const result = await pipeline.analyse('not bytes' as unknown as Uint8Array);
    expect(result).toMatchObject({ ok: false, rejected: { reason: 'image_invalid' } });
  });
});
