// Builders of test pictures for the face pipeline tests: real photos from models/photos, and made-up frames.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { photosDir } from '../src/paths.js';

export const aPhoto = (file: string): Buffer => readFileSync(join(photosDir, file));

/** A flat JPEG (or PNG) of the given size: a real, decodable picture with no face in it. */
export const aBlankImage = (width: number, height: number, format: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: 120, g: 130, b: 140 } } })
    .toFormat(format)
    .toBuffer();

/** Photo `a` at full size beside photo `b` shrunk by `shrink`, on one canvas: two faces, `a` the larger. */
export async function aPairPicture(a: string, b: string, shrink: number): Promise<Buffer> {
  const big = await sharp(aPhoto(a)).toBuffer({ resolveWithObject: true });
  const small = await sharp(aPhoto(b))
    .resize({ width: Math.round((await sharp(aPhoto(b)).metadata()).width * shrink) })
    .toBuffer({ resolveWithObject: true });
  return sharp({
    create: {
      width: big.info.width + small.info.width,
      height: Math.max(big.info.height, small.info.height),
      channels: 3,
      background: { r: 90, g: 90, b: 90 },
    },
  })
    .composite([
      { input: big.data, left: 0, top: 0 },
      { input: small.data, left: big.info.width, top: 0 },
    ])
    .jpeg()
    .toBuffer();
}

/**
 * A PNG that claims width × height in its header but holds 64 bytes of pixel data: a decompression bomb's
 * shape, under 100 bytes that would need gigabytes if anything tried to decode them.
 */
export function aPngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([len, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const signature = Buffer.from('89504e470d0a1a0a', 'hex');
  // libvips reads no header without an IDAT chunk behind it
  const idat = chunk('IDAT', deflateSync(Buffer.alloc(64)));
  return Buffer.concat([signature, chunk('IHDR', ihdr), idat, chunk('IEND', Buffer.alloc(0))]);
}
