// Five-point alignment: the embedder was trained on faces warped so that the eyes, nose tip and mouth corners
// sit on a fixed template, and it is only as good as that warp is faithful.
import type { Affine } from './sampling.js';

/** [x0, y0, x1, y1, …] in image pixels. */
export type Points = Float32Array;

// iBUG-68 indices of the five points, as faceplugin's convert68pts5pts takes them: eye centres from the four
// lid points (corners excluded: they move with squinting), nose tip, and each mouth corner averaged over the
// outer (48, 54) and inner (60, 64) lip corners.
const FIVE_FROM_68: readonly (readonly number[])[] = [[37, 38, 40, 41], [43, 44, 46, 47], [30], [48, 60], [54, 64]];

/** The five alignment points (left eye, right eye, nose tip, left and right mouth corner) from the 68. */
export function fivePoints(points68: Points): Points {
  const out = new Float32Array(10);
  FIVE_FROM_68.forEach((indices, k) => {
    let x = 0;
    let y = 0;
    for (const i of indices) {
      x += points68[2 * i] ?? Number.NaN;
      y += points68[2 * i + 1] ?? Number.NaN;
    }
    out[2 * k] = x / indices.length;
    out[2 * k + 1] = y / indices.length;
  });
  return out;
}

/**
 * The similarity transform (rotation, uniform scale, translation; no shear, no reflection) taking `from` onto
 * `to` with the least squared error: Umeyama (1991) in 2-D, where it reduces to complex least squares:
 * to ≈ z·from + t with z = Σ (to−t̄)·conj(from−f̄) / Σ |from−f̄|². Returns [a, −b, tx, b, a, ty], z = a + ib.
 */
export function fitSimilarity(from: ArrayLike<number>, to: ArrayLike<number>): Affine {
  const n = from.length / 2;
  const at = (p: ArrayLike<number>, i: number) => p[i] as number;
  let fx = 0;
  let fy = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < n; i++) {
    fx += at(from, 2 * i) / n;
    fy += at(from, 2 * i + 1) / n;
    tx += at(to, 2 * i) / n;
    ty += at(to, 2 * i + 1) / n;
  }
  let re = 0;
  let im = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const ux = at(from, 2 * i) - fx;
    const uy = at(from, 2 * i + 1) - fy;
    const vx = at(to, 2 * i) - tx;
    const vy = at(to, 2 * i + 1) - ty;
    re += vx * ux + vy * uy;
    im += vy * ux - vx * uy;
    norm += ux * ux + uy * uy;
  }
  const a = re / norm;
  const b = im / norm;
  return [a, -b, tx - (a * fx - b * fy), b, a, ty - (b * fx + a * fy)];
}

/** The inverse of a similarity from fitSimilarity. */
export function invertSimilarity(m: Affine): Affine {
  const [a, , tx, b, , ty] = m;
  const d = a * a + b * b;
  // inverse of z·p + t is conj(z)/|z|² · (p − t)
  const ia = a / d;
  const ib = -b / d;
  return [ia, -ib, -(ia * tx - ib * ty), ib, ia, -(ib * tx + ia * ty)];
}

/** Applies an affine map to points in place. */
export function mapPoints(m: Affine, points: Points): Points {
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i] as number;
    const y = points[i + 1] as number;
    points[i] = m[0] * x + m[1] * y + m[2];
    points[i + 1] = m[3] * x + m[4] * y + m[5];
  }
  return points;
}
