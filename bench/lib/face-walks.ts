// The face_to_relay bench's walk-ups: each resident's approach as two live camera frames checked against the
// shipped pipeline, and the probes that time one frame from publication to the relay's unlock command.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Gallery, MultiFrameConsistency } from '@estate/edge';
import type { FacePipeline, Photo } from '@estate/models';
import { type FaceDoor, type FaceEstate, PULSE_MS } from './face-estate.js';
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

/** One timed walk-up (see walkUp). Times in ms; NaN where the liveness mode has no first frame. */
export interface WalkResult {
  /** the deciding frame handed to MQTT → the unlock command at the door stub */
  ms: number;
  analyseMs: number;
  searchMs: number;
  /** the first frame's gallery search (multi-frame) */
  firstSearchMs: number;
  /** the first frame handed to MQTT → the unlock (multi-frame) */
  approachMs: number;
  /** the gateway granted the resident who walked up (not someone else) */
  right: boolean;
}

/**
 * Follows the face service's decisions per camera, and remembers when each door last opened: a resident let in is
 * not decided again at that door for the unlock pulse, so a walk-up there waits it out first.
 */
export class WalkTracker {
  readonly #decisions = new Map<string, { granted: boolean; personId?: string | undefined; reason: string }>();
  readonly #openedAt = new Map<string, number>();

  constructor(readonly estate: FaceEstate) {
    const faces = estate.gateway.parts.faces;
    if (!faces) throw new Error('the gateway has no face service');
    faces.onDecision = (d) => this.#decisions.set(d.cameraId, d);
  }

  /**
   * One resident walks up to a door: with multi-frame liveness the first frame (which must leave the check
   * undecided), then the deciding frame, timed to the relay's unlock command. Throws if no unlock comes.
   */
  async walkUp(door: FaceDoor, walk: Approach, multiFrame: boolean, label: string): Promise<WalkResult> {
    const { tracer } = this.estate;
    const cameraId = door.camera.id;
    const wait = (this.#openedAt.get(door.doorId) ?? Number.NEGATIVE_INFINITY) + PULSE_MS + 50 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let firstAt = Number.NaN;
    let firstSearchMs = Number.NaN;
    if (multiFrame) {
      tracer.select(cameraId);
      const verdict = tracer.nextVerdict(cameraId, FRAME_TIMEOUT_MS);
      const sent = nextFrameSent(door);
      await door.camera.publishJpeg(walk.frames[0]);
      firstAt = await sent;
      const v = await verdict;
      if (v !== 'undecided') throw new Error(`${label}: the first frame gave '${v}', expected undecided`);
      firstSearchMs = tracer.of(cameraId).searchMs;
    }
    const trace = tracer.select(cameraId);
    this.#decisions.delete(cameraId);
    const unlock = nextUnlock(door);
    const sent = nextFrameSent(door);
    try {
      await door.camera.publishJpeg(walk.frames[1]);
    } catch (e) {
      unlock.cancel();
      throw e;
    }
    let doorAt: number;
    try {
      doorAt = await unlock.at;
    } catch (e) {
      const d = this.#decisions.get(cameraId);
      const why = d ? `decision: ${d.granted ? 'granted' : `denied (${d.reason})`}` : `verdict ${trace.verdict}`;
      throw new Error(`${label} (${walk.first.file} → ${walk.second.file}): ${(e as Error).message}; ${why}`);
    }
    const sentAt = await sent;
    this.#openedAt.set(door.doorId, doorAt);
    await new Promise((r) => setTimeout(r, 0)); // the service hands its decision to onDecision right after the relay
    const d = this.#decisions.get(cameraId);
    return {
      ms: doorAt - sentAt,
      analyseMs: trace.analyseMs,
      searchMs: trace.searchMs,
      firstSearchMs,
      approachMs: doorAt - firstAt,
      right: Boolean(d?.granted && d.personId === walk.resident.personId),
    };
  }
}
