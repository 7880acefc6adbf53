// Repair photos: the type is decided by the file's magic bytes, never by what the client claims, and the size is
// checked on the decoded bytes. Stored sealed in the blob store, like attachments.
import { AppError } from '../../core/errors.js';

export const MAX_PHOTO_BYTES = 2 * 1024 * 1024;
export const MAX_PHOTOS = 3;

export type PhotoType = 'image/jpeg' | 'image/png' | 'image/webp';

export function sniffImage(bytes: Buffer): PhotoType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return null;
}

/** Decodes and checks one photo; `field` names it in the error. */
export function checkPhoto(base64: string, field: string): { bytes: Buffer; contentType: PhotoType } {
  // Base64 is 4/3 of the bytes: refuse before decoding anything absurd.
  if (base64.length > Math.ceil((MAX_PHOTO_BYTES * 4) / 3) + 4) {
    throw new AppError('FILE_TOO_LARGE', `a photo may be at most ${MAX_PHOTO_BYTES} bytes`, field);
  }
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length > MAX_PHOTO_BYTES) {
    throw new AppError('FILE_TOO_LARGE', `a photo may be at most ${MAX_PHOTO_BYTES} bytes`, field);
  }
  const contentType = sniffImage(bytes);
  if (!contentType) throw new AppError('NOT_AN_IMAGE', 'a photo must be a JPEG, PNG or WebP image', field);
  return { bytes, contentType };
}

/** The body limit of a route carrying `n` photos, so that the size check above (not a bare 413) answers. */
export const photoBodyLimit = (n: number) => n * (Math.ceil((MAX_PHOTO_BYTES * 4) / 3) + 1024) + 64 * 1024;
