export interface JpegSize {
  width: number;
  height: number;
}

/** Start-of-frame markers: SOF0–SOF15 minus DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
/** Markers without a length field (ITU T.81 B.1.1.3): TEM, RST0–7, SOI. */
const standalone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd8);

/**
 * Width and height from a JPEG's SOF segment, walking marker segments from
 * SOI (ITU T.81 B.2). Enough for frame headers without an image library.
 * Throws an Error saying what is wrong with the bytes.
 */
export function jpegSize(data: Uint8Array): JpegSize {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const end = data.byteLength;
  if (end < 4 || view.getUint8(0) !== 0xff || view.getUint8(1) !== 0xd8) {
    throw new Error('not a JPEG: it does not start with the SOI marker FFD8');
  }
  let i = 2;
  while (i + 1 < end) {
    if (view.getUint8(i) !== 0xff) throw new Error(`not a JPEG: expected a marker at byte ${i}`);
    let marker = view.getUint8(i + 1);
    // Any number of FF fill bytes may precede a marker.
    while (marker === 0xff && i + 2 < end) marker = view.getUint8(++i + 1);
    i += 2;
    if (standalone(marker)) continue;
    if (marker === 0xd9 || marker === 0xda) break; // EOI or image data before any SOF
    if (i + 2 > end) break;
    const length = view.getUint16(i);
    if (length < 2) throw new Error(`not a JPEG: segment at byte ${i - 2} has length ${length}`);
    if (SOF.has(marker)) {
      if (i + 7 > end) break;
      const height = view.getUint16(i + 3);
      const width = view.getUint16(i + 5);
      if (width === 0 || height === 0) throw new Error(`JPEG frame size ${width}x${height} is not supported`);
      return { width, height };
    }
    i += length;
  }
  throw new Error('not a JPEG: no SOF (start of frame) segment found');
}
