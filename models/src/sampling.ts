// Pixel work on the decoded RGB buffer, written to reuse caller-owned Float32Arrays: no per-pixel allocation,
// since it runs on every camera frame.
import type { RgbImage } from './image.js';
import type { PixelSpec } from './manifest.js';

/** x' = m[0]·x + m[1]·y + m[2], y' = m[3]·x + m[4]·y + m[5]; pixel centres at whole numbers (as OpenCV). */
export type Affine = readonly [number, number, number, number, number, number];

// noUncheckedIndexedAccess makes every typed-array read `number | undefined`; indices here are in range by
// construction, so read through one helper instead of sprinkling casts.
const px = (a: ArrayLike<number>, i: number): number => a[i] as number;

/** Rows of ITU-R BT.601 luma, the grey OpenCV's RGB2GRAY gives (what grey-input models were trained on). */
const LUMA = [0.299, 0.587, 0.114] as const;

/** Pixels to sample from: 3 interleaved channels, 0..255 (8-bit decoded frames, or a float shrunk copy). */
interface Source {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

/**
 * dst (dw×dh RGB, 0..255 floats) = src sampled bilinearly at dstToSrc(u, v) for each dst pixel (u, v). Outside
 * src reads as black, as OpenCV's warpAffine default that ArcFace-style training crops used.
 */
function warpBilinear(src: Source, dstToSrc: Affine, dst: Float32Array, dw: number, dh: number): void {
  const [a, b, c, d, e, f] = dstToSrc;
  const { data, width, height } = src;
  let o = 0;
  for (let v = 0; v < dh; v++) {
    for (let u = 0; u < dw; u++) {
      const x = a * u + b * v + c;
      const y = d * u + e * v + f;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      // A neighbour outside the image gets weight 0 and a safe index (0), so it contributes black.
      const top = y0 >= 0 && y0 < height;
      const bottom = y0 + 1 >= 0 && y0 + 1 < height;
      const left = x0 >= 0 && x0 < width;
      const right = x0 + 1 >= 0 && x0 + 1 < width;
      const p = (y0 * width + x0) * 3;
      const w00 = top && left ? (1 - fx) * (1 - fy) : 0;
      const w10 = top && right ? fx * (1 - fy) : 0;
      const w01 = bottom && left ? (1 - fx) * fy : 0;
      const w11 = bottom && right ? fx * fy : 0;
      const p00 = w00 ? p : 0;
      const p10 = w10 ? p + 3 : 0;
      const p01 = w01 ? p + width * 3 : 0;
      const p11 = w11 ? p + width * 3 + 3 : 0;
      for (let ch = 0; ch < 3; ch++) {
        dst[o++] =
          w00 * px(data, p00 + ch) + w10 * px(data, p10 + ch) + w01 * px(data, p01 + ch) + w11 * px(data, p11 + ch);
      }
    }
  }
}

/**
 * Affine warps that do not alias when shrinking. Bilinear sampling alone reads 4 of the f² source pixels a dst
 * pixel covers, so a 380 px face read into 112 px would keep a quarter of its detail as noise; reading f×f
 * samples per pixel instead cost 5 ms per face. So the part of the source the warp reads is first box-averaged
 * by the whole factor f (each source pixel read once, ~0.5 ms), and the remaining shrink (< 2×) is bilinear.
 * Holds one scratch buffer (the shrunk region is at most ~√2·dw a side, however large the face): one warp at a
 * time per Warper.
 */
export class Warper {
  private scratch = new Float32Array(0);

  warp(src: RgbImage, dstToSrc: Affine, dst: Float32Array, dw: number, dh: number): void {
    const [a, b, c, d, e, f0] = dstToSrc;
    const f = Math.floor(Math.max(Math.hypot(a, d), Math.hypot(b, e)));
    if (f < 2) {
      warpBilinear(src, dstToSrc, dst, dw, dh);
      return;
    }
    // The source rectangle the dst corners map into, one block wider each way, snapped to the image.
    const xs = [c, a * dw + c, b * dh + c, a * dw + b * dh + c];
    const ys = [f0, d * dw + f0, e * dh + f0, d * dw + e * dh + f0];
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - f);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)) - f);
    const sw = Math.floor((Math.min(src.width, Math.ceil(Math.max(...xs)) + f) - x0) / f);
    const sh = Math.floor((Math.min(src.height, Math.ceil(Math.max(...ys)) + f) - y0) / f);
    if (sw < 1 || sh < 1) {
      warpBilinear(src, dstToSrc, dst, dw, dh); // it reads only outside the image: black
      return;
    }
    if (this.scratch.length < sw * sh * 3) this.scratch = new Float32Array(sw * sh * 3);
    boxShrink(src, x0, y0, f, sw, sh, this.scratch);
    // shrunk pixel j is centred on source x0 + j·f + (f − 1)/2
    const k = 1 / f;
    const ox = -(x0 + (f - 1) / 2) * k;
    const oy = -(y0 + (f - 1) / 2) * k;
    const shrunk: Affine = [a * k, b * k, c * k + ox, d * k, e * k, f0 * k + oy];
    warpBilinear({ data: this.scratch, width: sw, height: sh }, shrunk, dst, dw, dh);
  }
}

/** out (sw×sh) = means of f×f blocks of src starting at (x0, y0). */
function boxShrink(src: RgbImage, x0: number, y0: number, f: number, sw: number, sh: number, out: Float32Array) {
  const { data, width } = src;
  const inv = 1 / (f * f);
  out.fill(0, 0, sw * sh * 3);
  for (let j = 0; j < sh; j++) {
    for (let dy = 0; dy < f; dy++) {
      let p = ((y0 + j * f + dy) * width + x0) * 3;
      let o = j * sw * 3;
      for (let i = 0; i < sw; i++, o += 3) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let dx = 0; dx < f; dx++, p += 3) {
          r += px(data, p);
          g += px(data, p + 1);
          b += px(data, p + 2);
        }
        out[o] = px(out, o) + r * inv;
        out[o + 1] = px(out, o + 1) + g * inv;
        out[o + 2] = px(out, o + 2) + b * inv;
      }
    }
  }
}

/**
 * The whole of src stretched to dw×dh (no letterbox: what the faceplugin detector expects). Shrinking, each dst
 * pixel is the mean of the src pixels it covers: one pass over the frame, ~2 ms for 720×576 on the gateway
 * (sharp's resize measured no faster once its raw output is copied into the tensor). Growing, bilinear.
 */
export function resizeWhole(src: RgbImage, dst: Float32Array, dw: number, dh: number): void {
  const { data, width, height } = src;
  if (width < dw || height < dh) {
    const sx = width / dw;
    const sy = height / dh;
    warpBilinear(src, [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5], dst, dw, dh);
    return;
  }
  const sx = width / dw;
  const sy = height / dh;
  let o = 0;
  for (let v = 0; v < dh; v++) {
    const y0 = Math.floor(v * sy);
    const y1 = Math.max(y0 + 1, Math.floor((v + 1) * sy));
    for (let u = 0; u < dw; u++) {
      const x0 = Math.floor(u * sx);
      const x1 = Math.max(x0 + 1, Math.floor((u + 1) * sx));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = y0; y < y1; y++) {
        let p = (y * width + x0) * 3;
        for (let x = x0; x < x1; x++, p += 3) {
          r += px(data, p);
          g += px(data, p + 1);
          b += px(data, p + 2);
        }
      }
      const inv = 1 / ((y1 - y0) * (x1 - x0));
      dst[o++] = r * inv;
      dst[o++] = g * inv;
      dst[o++] = b * inv;
    }
  }
}

/** RGB floats (w×h×3, interleaved) → a model's NCHW input, normalised per the manifest's pixel spec. */
export function writeInput(rgb: Float32Array, pixels: PixelSpec, input: Float32Array, plane: number): void {
  if (pixels.colour === 'grey') {
    const mean = pixels.mean[0] ?? 0;
    const scale = 1 / (pixels.std[0] ?? 1);
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      const grey = LUMA[0] * px(rgb, p) + LUMA[1] * px(rgb, p + 1) + LUMA[2] * px(rgb, p + 2);
      input[i] = (grey - mean) * scale;
    }
    return;
  }
  for (let ch = 0; ch < 3; ch++) {
    const mean = pixels.mean[ch] ?? 0;
    const scale = 1 / (pixels.std[ch] ?? 1);
    const base = ch * plane;
    for (let i = 0, p = ch; i < plane; i++, p += 3) input[base + i] = (px(rgb, p) - mean) * scale;
  }
}

/** A rectangle of whole pixels: [x0, x1) × [y0, y1). */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Variance of the 4-neighbour Laplacian of the grey image inside `region`: the usual focus measure
 * (Pech-Pacheco et al. 2000). Low means little fine detail: motion blur, defocus, or a tiny face blown up to the
 * aligned size. Measured on the face only: hair, background and the black fill where a face near the picture's
 * edge runs out of pixels would otherwise add edges of their own.
 */
export function laplacianVariance(rgb: Float32Array, w: number, region: PixelRect, grey: Float32Array): number {
  const { x0, y0, x1, y1 } = region;
  for (let y = y0; y < y1; y++) {
    for (let x = x0, i = y * w + x0, p = i * 3; x < x1; x++, i++, p += 3) {
      grey[i] = LUMA[0] * px(rgb, p) + LUMA[1] * px(rgb, p + 1) + LUMA[2] * px(rgb, p + 2);
    }
  }
  let sum = 0;
  let sumSq = 0;
  for (let y = y0 + 1; y < y1 - 1; y++) {
    for (let x = x0 + 1, i = y * w + x0 + 1; x < x1 - 1; x++, i++) {
      const lap = px(grey, i - 1) + px(grey, i + 1) + px(grey, i - w) + px(grey, i + w) - 4 * px(grey, i);
      sum += lap;
      sumSq += lap * lap;
    }
  }
  const n = (x1 - x0 - 2) * (y1 - y0 - 2);
  const mean = sum / n;
  return sumSq / n - mean * mean;
}
