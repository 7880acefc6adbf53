// The face_to_relay bench's walk-ups: each resident's approach as two live camera frames checked against the
// shipped pipeline, and the probes that time one frame from publication to the relay's unlock command.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Gallery, MultiFrameConsistency } from '@estate/edge';
import type { FacePipeline, Photo } from '@estate/models';
import type { FaceDoor } from './face-estate.js';
import { type FaceCast, type Resident, readPhoto } from './face-people.js';

/** How long one frame may take before the bench gives up on it: far beyond any target. */
export const FRAME_TIMEOUT_MS = 10_000;

/** Two frames of one resident that the gateway accepts as a live approach. */
export interface Approach {
  resident: Resident;
  first: Photo;
  second: Photo;
  frames: [Buffer, Buffer];
}

/**
 * Approaches the gateway must grant: ordered pairs of a resident's probe photos
 * (never the enrolment photos) that both match the resident at the threshold and
 * that the shipped multi-frame check calls live. Checked here, before the timed run,
 * with the same pipeline and gallery code, so a refusal during the run is a fault.
 */
export async function approaches(pipeline: FacePipeline, cast: FaceCast): Promise<Approach[]> {
  const dim = cast.residents[0]?.embedding.length ?? 512;
  const gallery = new Gallery(dim);
  for (const r of cast.residents) gallery.upsert(`t-${r.label}`, r.personId, r.embedding);
  const out: Approach[] = [];
  for (const resident of cast.residents) {
    const seen: { photo: Photo; bytes: Buffer; landmarks5: ArrayLike<number> }[] = [];
    for (const photo of resident.probes) {
      const bytes = readPhoto(photo);
      const a = await pipeline.analyse(bytes);
      if (!a.ok) continue;
      const match = gallery.search(a.face.embedding);
      if (match?.personId !== resident.personId || match.score < pipeline.matchThreshold) continue;
      seen.push({ photo, bytes, landmarks5: a.face.landmarks5 });
    }
    for (const x of seen) {
      for (const y of seen) {
        if (x === y) continue;
        const check = new MultiFrameConsistency();
        check.observe('c', { personId: resident.personId, ts: 0, landmarks5: x.landmarks5 });
        if (check.observe('c', { personId: resident.personId, ts: 100, landmarks5: y.landmarks5 }) !== 'live') continue;
        out.push({ resident, first: x.photo, second: y.photo, frames: [x.bytes, y.bytes] });
      }
    }
  }
  if (out.length === 0) throw new Error('no resident has two probe photos the gateway would grant');
  return out;
}

/** A full, synchronous V8 collection without --expose-gc on the command line (diagnostic only). */
export function fullGc(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
}

/** Every distinct frame the camera stubs send in face_to_relay. */
export function cameraFrames(walks: readonly Approach[]): Buffer[] {
  const frames = new Map<string, Buffer>();
  for (const w of walks) {
    frames.set(w.first.file, w.frames[0]);
    frames.set(w.second.file, w.frames[1]);
  }
  return [...frames.values()];
}

/** Resolves with the time the door stub receives its next unlock command. */
export function nextUnlock(d: FaceDoor): { at: Promise<number>; cancel: () => void } {
  let cancel = () => {};
  const at = new Promise<number>((resolve, reject) => {
    const onReceived = (w: { name: string; message: unknown }) => {
      if (w.name !== 'doorCommand' || (w.message as { action?: string }).action !== 'unlock') return;
      cancel();
      resolve(performance.now());
    };
    const timer = setTimeout(() => {
      cancel();
      reject(new Error(`door ${d.doorId} received no unlock command within ${FRAME_TIMEOUT_MS} ms`));
    }, FRAME_TIMEOUT_MS);
    cancel = () => {
      clearTimeout(timer);
      d.door.off('received', onReceived);
    };
    d.door.on('received', onReceived);
  });
  return { at, cancel };
}

/** The time the camera stub hands its next frame to MQTT (its 'published' event, as relay.ts times readers). */
export function nextFrameSent(d: FaceDoor): Promise<number> {
  return new Promise((resolve) => {
    const onPublished = (w: { name: string }) => {
      if (w.name !== 'cameraFrame') return;
      d.camera.off('published', onPublished);
      resolve(performance.now());
    };
    d.camera.on('published', onPublished);
  });
}
