import type { FaceAnalysis } from '@estate/models';
import type { CameraFrame } from '@estate/protocols';
import type { AccessModel } from '../access/access-model.js';
import type { Decider, Decision } from '../access/decider.js';
import { type AccessPolicy, deny, type Verdict } from '../access/policy.js';
import type { LocalBus } from '../bus.js';
import type { Gallery } from './gallery.js';
import type { LivenessCheck } from './liveness.js';

/** What the face service needs from @estate/models' FacePipeline. */
export interface FaceAnalyser {
  analyse(bytes: Uint8Array): Promise<FaceAnalysis>;
  readonly matchThreshold: number;
}

export interface FaceServiceDeps {
  bus: LocalBus;
  model: AccessModel;
  policy: AccessPolicy;
  decider: Decider;
  /** replaced when the gallery is reloaded whole */
  gallery: Gallery;
  analyser: FaceAnalyser;
  liveness: LivenessCheck;
  now?: () => number;
  /** the same denial (camera + reason) is logged at most once per this period; default 5 s */
  quietMs?: number;
}

export interface FaceStats {
  frames: number;
  dropped: number;
  noFace: number;
  rejected: Record<string, number>;
}

/**
 * Walk-through face access: frame → analysis → gallery search → liveness →
 * policy → logged decision → relay. Frames arriving while one is being
 * analysed replace each other (latest wins): deciding on a stale frame would
 * only add latency. A denial repeats while a stranger stands at the door, so
 * identical denials are logged once per `quietMs`; the door stays shut either way.
 */
export class FaceService {
  readonly stats: FaceStats = { frames: 0, dropped: 0, noFace: 0, rejected: {} };
  readonly #busy = new Set<string>();
  readonly #latest = new Map<string, { frame: CameraFrame; receivedAt: number }>();
  readonly #quietUntil = new Map<string, number>();
  readonly #grantedUntil = new Map<string, number>();
  readonly #now: () => number;
  #unsubscribe: (() => void) | undefined;
  gallery: Gallery;
  /** every decision taken, for tests and the demo printout */
  onDecision: (d: Decision & { cameraId: string; personId?: string | undefined; score?: number }) => void = () => {};

  constructor(private readonly d: FaceServiceDeps) {
    this.gallery = d.gallery;
    this.#now = d.now ?? Date.now;
  }

  /** Frames received but not yet decided on (being analysed or waiting): 0 when the service is idle. */
  get pending(): number {
    return this.#busy.size + this.#latest.size;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.d.bus.subscribe('cameraFrame', (frame, p) => this.#onFrame(p.deviceId, frame));
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  #onFrame(cameraId: string, frame: CameraFrame): void {
    this.stats.frames++;
    if (this.#latest.has(cameraId)) this.stats.dropped++;
    this.#latest.set(cameraId, { frame, receivedAt: this.#now() });
    if (!this.#busy.has(cameraId)) void this.#drain(cameraId);
  }

  async #drain(cameraId: string): Promise<void> {
    this.#busy.add(cameraId);
    try {
      for (let next = this.#latest.get(cameraId); next; next = this.#latest.get(cameraId)) {
        this.#latest.delete(cameraId);
        await this.#decide(cameraId, next.frame, next.receivedAt).catch(() => {
          this.#count('internal_error');
        });
      }
    } finally {
      this.#busy.delete(cameraId);
    }
  }

  async #decide(cameraId: string, frame: CameraFrame, startedAt: number): Promise<void> {
    const door = this.d.model.doorByReader.get(cameraId);
    if (!door) return this.#count('camera_not_at_a_door');
    const a = await this.d.analyser.analyse(frame.data);
    const attempt = { door, deviceId: cameraId, method: 'face' as const, startedAt };
    if (!a.ok) {
      if (a.rejected.reason === 'no_face') {
        this.stats.noFace++;
        return;
      }
      // unreadable or unusable frames: a denial with the reason, logged (quietly), never a relay
      return this.#deny(attempt, a.rejected.reason);
    }
    const match = this.gallery.search(a.face.embedding);
    const threshold = this.d.model.config?.faceMatchThreshold ?? this.d.analyser.matchThreshold;
    if (!match || match.score < threshold) return this.#deny({ ...attempt, score: match?.score }, 'no_match');
    const key = `${door.id}/${match.personId}`;
    const now = this.#now();
    if ((this.#grantedUntil.get(key) ?? 0) > now) return; // already let in; they are walking through
    const live = this.d.liveness.observe(cameraId, {
      personId: match.personId,
      ts: frame.ts,
      landmarks5: a.face.landmarks5,
    });
    if (live === 'undecided') return;
    const matched = { ...attempt, personId: match.personId, credentialId: match.templateId, score: match.score };
    if (live === 'spoof') return this.#deny(matched, 'presentation_attack');
    const verdict = this.d.policy.forPerson(match.personId, door, now);
    const decision = await this.d.decider.decide(matched, verdict);
    if (decision.granted) this.#grantedUntil.set(key, now + door.pulseMs);
    this.onDecision({ ...decision, cameraId, personId: match.personId, score: match.score });
  }

  async #deny(attempt: Parameters<Decider['decide']>[0], reason: string): Promise<void> {
    this.#count(reason);
    const key = `${attempt.deviceId}/${reason}/${attempt.personId ?? ''}`;
    const now = this.#now();
    if ((this.#quietUntil.get(key) ?? 0) > now) return;
    this.#quietUntil.set(key, now + (this.d.quietMs ?? 5_000));
    const v: Verdict = deny(reason);
    const decision = await this.d.decider.decide(attempt, v);
    this.onDecision({ ...decision, cameraId: attempt.deviceId, personId: attempt.personId, score: attempt.score ?? 0 });
  }

  #count(reason: string): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
  }
}
