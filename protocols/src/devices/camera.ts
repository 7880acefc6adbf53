import { type Static, Type } from '@sinclair/typebox';
import { CommandHeader, Enum, Obj, Seq, Ts } from '../common.js';

export const CameraState = Obj(
  {
    ts: Ts,
    streaming: Type.Boolean(),
    fps: Type.Number({ minimum: 0, maximum: 60 }),
    width: Type.Integer({ minimum: 1, maximum: 16_384 }),
    height: Type.Integer({ minimum: 1, maximum: 16_384 }),
  },
  'face camera state',
);
export type CameraState = Static<typeof CameraState>;

/**
 * Header of a binary camera frame (see frame.ts for the byte layout). The
 * decoded message is this header plus `data`, the JPEG bytes.
 */
export const CameraFrameHeader = Obj(
  {
    seq: Type.Integer({ minimum: 0, maximum: 0xffff_ffff, description: 'u32 in the binary layout; wraps' }),
    ts: Ts,
    kind: Enum(['frame', 'face_crop']),
    format: Type.Literal('jpeg'),
    width: Type.Integer({ minimum: 1, maximum: 65_535 }),
    height: Type.Integer({ minimum: 1, maximum: 65_535 }),
  },
  'binary: 26-byte header + JPEG (whole frame or a face crop)',
);
export type CameraFrameHeader = Static<typeof CameraFrameHeader>;
export type CameraFrame = CameraFrameHeader & { data: Uint8Array };

export const CameraEvent = Obj(
  {
    seq: Seq,
    ts: Ts,
    type: Enum(['tamper', 'tamper_cleared', 'video_lost', 'video_restored']),
  },
  'camera event',
);
export type CameraEvent = Static<typeof CameraEvent>;

export const CameraCommand = Obj(
  {
    ...CommandHeader,
    action: Enum(['start', 'stop', 'set_rate', 'snapshot']),
    fps: Type.Optional(Type.Number({ minimum: 0.1, maximum: 60 })),
  },
  'camera control from the gateway',
);
export type CameraCommand = Static<typeof CameraCommand>;
