// The geometry under the embedder: the five points, the similarity fit and the anti-aliased warp.
import { describe, expect, it } from 'vitest';
import { fitSimilarity, fivePoints, invertSimilarity, mapPoints } from '../src/align.js';
import { type Affine, laplacianVariance, Warper } from '../src/sampling.js';

const ARCFACE = [38.2946, 51.6963, 73.5318, 51.5014, 56.0252, 71.7366, 41.5493, 92.3655, 70.7299, 92.2041];

/** A similarity: rotate by `angle`, scale by `scale`, then shift. */
const aSimilarity = (angle: number, scale: number, tx: number, ty: number): Affine => {
  const a = scale * Math.cos(angle);
  const b = scale * Math.sin(angle);
  return [a, -b, tx, b, a, ty];
};

/** An image whose pixel value is a smooth function of position, so any sampling can be checked exactly. */
function aGradient(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      data[p] = Math.round((x / width) * 255);
      data[p + 1] = Math.round((y / height) * 255);
      data[p + 2] = 128;
    }
  }
  return { data, width, height };
}

describe('fitSimilarity (Umeyama in 2-D)', () => {
  it('recovers an exact similarity from five points', () => {
    const truth = aSimilarity(0.3, 0.4, -20, 15);
    const face = mapPoints(invertSimilarity(truth), Float32Array.from(ARCFACE));
    const fitted = fitSimilarity(face, ARCFACE);
    fitted.forEach((v, i) => {
      expect(v).toBeCloseTo(truth[i] as number, 4);
    });
  });

  it('is the least-squares fit when one point is off: nudging the fit any way makes the error larger', () => {
    const face = mapPoints(aSimilarity(-0.2, 3, 300, 120), Float32Array.from(ARCFACE));
    face[0] = (face[0] as number) + 4; // one eye misplaced by 4 px
    const fit = fitSimilarity(face, ARCFACE);
    const error = (m: Affine) => {
      const mapped = mapPoints(m, Float32Array.from(face));
      return mapped.reduce((s, v, i) => s + (v - (ARCFACE[i] as number)) ** 2, 0);
    };
    for (const nudge of [
      [0.001, 0, 0, 0, 0.001, 0],
      [0, 0, 0.1, 0, 0, 0],
      [0, -0.001, 0, 0.001, 0, 0],
    ]) {
      const other = fit.map((v, i) => v + (nudge[i] as number)) as unknown as Affine;
      expect(error(other)).toBeGreaterThan(error(fit));
    }
  });

  it('inverts: forward then inverse is the identity', () => {
    const m = aSimilarity(1.1, 2.5, 40, -7);
    const p = Float32Array.from([3, 4, -10, 200]);
    const back = mapPoints(invertSimilarity(m), mapPoints(m, Float32Array.from(p)));
    back.forEach((v, i) => {
      expect(v).toBeCloseTo(p[i] as number, 3);
    });
  });
});

describe('fivePoints', () => {
  it('takes eye centres from the lids, the nose tip, and mouth corners from outer and inner lip corners', () => {
    const p68 = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      p68[2 * i] = i;
      p68[2 * i + 1] = 1000 + i;
    }
    expect(Array.from(fivePoints(p68))).toEqual([39, 1039, 45, 1045, 30, 1030, 54, 1054, 59, 1059]);
  });
});

describe('Warper', () => {
  const image = aGradient(800, 600);
  const rgb = new Float32Array(112 * 112 * 3);
  const expectGradient = (toSource: Affine, tolerance: number) => {
    for (const [u, v] of [
      [10, 10],
      [56, 56],
      [100, 30],
    ] as const) {
      const x = toSource[0] * u + toSource[1] * v + toSource[2];
      const y = toSource[3] * u + toSource[4] * v + toSource[5];
      const p = (v * 112 + u) * 3;
      expect(rgb[p], `R at ${u},${v}`).toBeCloseTo((x / 800) * 255, tolerance);
      expect(rgb[p + 1], `G at ${u},${v}`).toBeCloseTo((y / 600) * 255, tolerance);
    }
  };

  it('samples bilinearly where the source is not shrunk', () => {
    const toSource = aSimilarity(0.25, 1.2, 300, 200);
    new Warper().warp(image, toSource, rgb, 112, 112);
    expectGradient(toSource, 0);
  });

  it('box-averages first where the source is shrunk 2× or more, landing on the same values for a smooth image', () => {
    const toSource = aSimilarity(-0.15, 3.4, 250, 150);
    new Warper().warp(image, toSource, rgb, 112, 112);
    expectGradient(toSource, 0);
  });

  it('reads black outside the source', () => {
    new Warper().warp(image, aSimilarity(0, 3, -1000, -1000), rgb, 112, 112);
    expect(rgb.every((v) => v === 0)).toBe(true);
  });
});

describe('laplacianVariance', () => {
  const region = { x0: 0, y0: 0, x1: 16, y1: 16 };
  const grey = new Float32Array(256);
  it('is 0 on a flat image and large on fine detail', () => {
    expect(laplacianVariance(new Float32Array(256 * 3).fill(90), 16, region, grey)).toBe(0);
    const checker = new Float32Array(256 * 3).map((_, i) => ((Math.floor(i / 3) + Math.floor(i / 48)) % 2) * 255);
    expect(laplacianVariance(checker, 16, region, grey)).toBeGreaterThan(10_000);
  });
});
