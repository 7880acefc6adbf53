import { type CameraFrame, CameraFrameHeader } from './devices/camera.js';
import { fail, ok, ProtocolError, type Result } from './errors.js';

/*
 * Camera frame, big-endian:
 *   0  'E' 'F'  magic
 *   2  u8       layout version (1)
 *   3  u8       kind: 1 frame, 2 face_crop
 *   4  u8       format: 1 jpeg
 *   5  u8       reserved, 0
 *   6  u16      width
 *   8  u16      height
 *  10  u32      seq
 *  14  u64      ts (ms, UTC)
 *  22  u32      data length
 *  26  ...      data (JPEG, starts with FF D8)
 * Binary rather than JSON+base64: a 100 KB frame stays 100 KB and needs no
 * string work on the gateway's hot path.
 */
export const FRAME_HEADER_BYTES = 26;
const MAGIC0 = 0x45;
const MAGIC1 = 0x46;
const KINDS = ['frame', 'face_crop'] as const;

export function encodeFrame(frame: CameraFrame): Buffer {
  const { seq, ts, kind, width, height, data } = frame;
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff_ffff)
    throw new ProtocolError('FRAME', 'seq must fit u32', '/seq');
  if (!Number.isSafeInteger(ts) || ts < 0) throw new ProtocolError('FRAME', 'ts must be a non-negative integer', '/ts');
  if (!(width >= 1 && width <= 0xffff && height >= 1 && height <= 0xffff)) {
    throw new ProtocolError('FRAME', 'width and height must be 1..65535', '/width');
  }
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + data.byteLength);
  buf[0] = MAGIC0;
  buf[1] = MAGIC1;
  buf[2] = 1;
  buf[3] = KINDS.indexOf(kind) + 1;
  buf[4] = 1;
  buf[5] = 0;
  buf.writeUInt16BE(width, 6);
  buf.writeUInt16BE(height, 8);
  buf.writeUInt32BE(seq, 10);
  buf.writeBigUInt64BE(BigInt(ts), 14);
  buf.writeUInt32BE(data.byteLength, 22);
  buf.set(data, FRAME_HEADER_BYTES);
  return buf;
}

/** Never throws: every malformation becomes a FRAME error naming the field. */
export function decodeFrame(payload: Uint8Array): Result<CameraFrame> {
  const bad = (field: string, message: string) => fail(new ProtocolError('FRAME', message, field));
  if (payload.byteLength < FRAME_HEADER_BYTES)
    return bad('', `frame shorter than its ${FRAME_HEADER_BYTES}-byte header`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (view.getUint8(0) !== MAGIC0 || view.getUint8(1) !== MAGIC1) return bad('/magic', 'not an Estate camera frame');
  if (view.getUint8(2) !== 1) return bad('/version', `unsupported frame layout ${view.getUint8(2)}`);
  const kind = KINDS[view.getUint8(3) - 1];
  if (!kind) return bad('/kind', `unknown frame kind ${view.getUint8(3)}`);
  if (view.getUint8(4) !== 1) return bad('/format', `unknown image format ${view.getUint8(4)}`);
  const width = view.getUint16(6);
  const height = view.getUint16(8);
  if (width === 0 || height === 0) return bad('/width', 'width and height must be at least 1');
  const seq = view.getUint32(10);
  const ts = view.getBigUint64(14);
  if (ts > BigInt(CameraFrameHeader.properties.ts.maximum ?? 0)) return bad('/ts', 'timestamp out of range');
  const length = view.getUint32(22);
  if (length !== payload.byteLength - FRAME_HEADER_BYTES) {
    return bad('/data', `header says ${length} data bytes, frame carries ${payload.byteLength - FRAME_HEADER_BYTES}`);
  }
  if (length < 2 || payload[FRAME_HEADER_BYTES] !== 0xff || payload[FRAME_HEADER_BYTES + 1] !== 0xd8) {
    return bad('/data', 'data is not a JPEG (no SOI marker)');
  }
  return ok({
    seq,
    ts: Number(ts),
    kind,
    format: 'jpeg' as const,
    width,
    height,
    // a plain view whatever the input type (Buffer or Uint8Array), no copy
    data: new Uint8Array(payload.buffer, payload.byteOffset + FRAME_HEADER_BYTES, length),
  });
}
