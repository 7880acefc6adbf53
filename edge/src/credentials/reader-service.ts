import type { ReaderInput } from '@estate/protocols';
import type { AccessModel } from '../access/access-model.js';
import type { Decider, Decision } from '../access/decider.js';
import { type AccessPolicy, deny, type Verdict } from '../access/policy.js';
import type { LocalBus } from '../bus.js';
import type { PassVerifier } from './pass.js';
import type { PinVerifier } from './pin.js';

export interface ReaderServiceDeps {
  bus: LocalBus;
  model: AccessModel;
  policy: AccessPolicy;
  decider: Decider;
  pins: PinVerifier;
  passes: PassVerifier;
  now?: () => number;
}

/** Keypad / QR readers: a PIN or a visitor pass in, a decision and reader feedback out. */
export class ReaderService {
  #unsubscribe: (() => void) | undefined;
  readonly #now: () => number;

  constructor(private readonly d: ReaderServiceDeps) {
    this.#now = d.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.d.bus.subscribe('readerInput', (input, p) => this.handle(input, p.deviceId));
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  async handle(input: ReaderInput, deviceId: string): Promise<Decision> {
    const startedAt = this.#now();
    const door = this.d.model.doorByReader.get(deviceId);
    const attempt = { door, deviceId, method: input.method, startedAt } as const;
    let decision: Decision;
    if (input.method === 'pin') {
      const r = this.d.pins.check(deviceId, input.value, startedAt);
      const verdict: Verdict = r.ok ? this.d.policy.forPerson(r.personId, door, startedAt) : deny(r.reason);
      decision = await this.d.decider.decide({ ...attempt, personId: r.ok ? r.personId : undefined }, verdict);
    } else {
      const r = this.d.passes.verify(input.value, startedAt);
      const verdict: Verdict = r.ok ? this.d.policy.forPass(r.claims.doors, door) : deny(r.reason);
      const passId = r.ok ? r.claims.id : r.passId;
      // the use is counted only for a grant, in the same commit as the decision; a lost race for the last use is a denial
      const claim = r.ok ? () => (this.d.passes.consume(r.claims) ? undefined : 'pass_used_up') : undefined;
      decision = await this.d.decider.decide({ ...attempt, credentialId: passId }, verdict, claim);
    }
    await this.d.bus.publish(
      'readerFeedback',
      { deviceId },
      { seq: input.seq, ts: this.#now(), granted: decision.granted, reason: decision.reason },
    );
    return decision;
  }
}
