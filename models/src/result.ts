// What an analysis returns: shared by the pipeline, enrolment and their callers on the gateway and in the cloud.
import type { Points } from './align.js';
import type { Box } from './detect.js';

export type RejectReason =
  | 'image_invalid'
  | 'image_too_large'
  | 'image_too_small'
  | 'no_face'
  | 'several_faces'
  | 'too_small'
  | 'too_blurred';

export interface FaceQuality {
  sizePx: number;
  sharpness: number;
}

export interface Face {
  box: Box;
  score: number;
  /** left eye, right eye, nose tip, left and right mouth corner: [x0, y0, …, x4, y4] in source pixels */
  landmarks5: Points;
  quality: FaceQuality;
  /** L2-normalised */
  embedding: Float32Array;
}

export interface Rejection {
  reason: RejectReason;
  message: string;
  /** the face a quality gate refused, as far as it was measured */
  face?: { box: Box; score: number; landmarks5?: Points; quality: Partial<FaceQuality> };
}

/** Milliseconds per stage; totalMs is wall time from the call, including any wait behind another analysis. */
export interface StageTimings {
  decodeMs: number;
  detectMs: number;
  landmarksMs: number;
  alignMs: number;
  embedMs: number;
  totalMs: number;
}

/** `faces` counts every face detected; the largest one is the one analysed. */
export type FaceAnalysis =
  | { ok: true; faces: number; face: Face; timings: StageTimings }
  | { ok: false; faces: number; rejected: Rejection; timings: StageTimings };
