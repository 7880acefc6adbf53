import sharp, { type Metadata } from 'sharp';
import { ModelError } from './errors.js';

/** Decoded pixels: 8-bit RGB, interleaved, rows top to bottom, no padding (what sharp's raw output gives). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface ImageLimits {
  /** wider or taller than this is refused before decoding (an 8K frame costs ~100 MB of pixels) */
  maxSide: number;
  /** narrower or shorter than this cannot hold a face the quality gate would accept */
  minSide: number;
}

// Camera frames are JPEG; enrolment photos may be PNG or WebP. Everything else libvips can read (SVG, PDF, TIFF,
// HEIF, GIF…) is refused: more decoders reachable from untrusted bytes means more attack surface, for no use.
const FORMATS = new Set(['jpeg', 'png', 'webp']);

const invalid = (why: string) => new ModelError('IMAGE_INVALID', `image refused: ${why}`);

/** Checks size limits on dimensions alone, so an 8K frame is refused from its header, before it is decoded. */
export function checkDimensions(width: number, height: number, limits: ImageLimits): void {
  if (Math.max(width, height) > limits.maxSide) {
    throw new ModelError('IMAGE_TOO_LARGE', `image refused: ${width}x${height} exceeds ${limits.maxSide} px a side`);
  }
  if (Math.min(width, height) < limits.minSide) {
    throw new ModelError(
      'IMAGE_TOO_SMALL',
      `image refused: ${width}x${height} is under ${limits.minSide} px a side, the smallest face accepted`,
    );
  }
}

/** Raw pixels handed in by a caller that decoded them itself: the same limits, and a buffer of the right size. */
export function checkRgb(image: RgbImage, limits: ImageLimits): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw invalid(`raw size ${width}x${height} is not a positive whole number of pixels`);
  }
  checkDimensions(width, height, limits);
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw invalid(`raw RGB ${width}x${height} needs ${width * height * 3} bytes, got ${data?.length}`);
  }
}

/**
 * JPEG/PNG/WebP bytes → RGB, upright (EXIF orientation applied: phone photos at enrolment carry it).
 * Every failure is a ModelError IMAGE_*; libvips' own message is kept in it for the log.
 */
export async function decodeImage(bytes: Uint8Array, limits: ImageLimits): Promise<RgbImage> {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw invalid('no bytes');
  // The header alone first: a 60000×60000 PNG of a few bytes must be refused by its size, not decoded.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw invalid(`not a readable image (${(err as Error).message})`);
  }
  if (!meta.format || !FORMATS.has(meta.format)) throw invalid(`format ${meta.format ?? 'unknown'} is not accepted`);
  checkDimensions(meta.width ?? 0, meta.height ?? 0, limits);
  try {
    // failOn 'warning': a truncated or corrupt frame is refused rather than decoded with a grey band in it.
    // The pixel limit again in case the header lied about the size.
    const options = { failOn: 'warning', limitInputPixels: limits.maxSide * limits.maxSide } as const;
    const { data, info } = await sharp(bytes, options)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw invalid(`decoded to ${info.channels} channels, expected 3`);
    }
    return { data, width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw invalid(`cannot decode it (${(err as Error).message})`);
  }
}
