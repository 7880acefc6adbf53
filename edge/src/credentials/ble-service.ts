import { randomBytes } from 'node:crypto';
import { type BleChallenge, type BleKeyClaims, verifyBleKey, verifyBleResponse } from '@estate/protocols';
import type { AccessModel } from '../access/access-model.js';
import type { Decider, Decision } from '../access/decider.js';
import { type AccessPolicy, deny, type Verdict } from '../access/policy.js';
import type { LocalBus } from '../bus.js';

export interface BleServiceDeps {
  bus: LocalBus;
  model: AccessModel;
  policy: AccessPolicy;
  decider: Decider;
  now?: () => number;
  /** How long a phone has to sign the nonce. Default 3 s. */
  challengeTtlMs?: number;
}

interface Pending {
  claims: BleKeyClaims;
  challenge: BleChallenge;
  startedAt: number;
}

/**
 * Phone keys over BLE. The credential proves the cloud issued the key; the
 * signature over a fresh nonce proves this phone holds it. A challenge is
 * answered once: a recorded response is useless afterwards.
 */
export class BleService {
  readonly #pending = new Map<string, Pending>(); // `${deviceId}/${session}`
  #unsubscribe: (() => void)[] = [];
  readonly #now: () => number;
  readonly #ttl: number;

  constructor(private readonly d: BleServiceDeps) {
    this.#now = d.now ?? Date.now;
    this.#ttl = d.challengeTtlMs ?? 3_000;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await Promise.all([
      this.d.bus.subscribe('bleHello', (m, p) => this.#hello(m.session, m.credential, p.deviceId)),
      this.d.bus.subscribe('bleResponse', (m, p) => this.#response(m.session, m.signature, p.deviceId)),
    ]);
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
    this.#pending.clear();
  }

  async #hello(session: string, credential: string, deviceId: string): Promise<void> {
    const now = this.#now();
    this.#sweep(now);
    const v = verifyBleKey(credential, { ring: this.d.model.ring, now });
    const reason = !v.ok
      ? v.reason
      : this.d.model.isRevoked('ble_key', v.claims.id)
        ? 'key_revoked'
        : this.d.model.config && v.claims.estate !== this.d.model.config.estateId
          ? 'wrong_estate'
          : undefined;
    if (reason || !v.ok) {
      await this.#finish(deviceId, session, now, undefined, deny(reason ?? 'malformed'));
      return;
    }
    const challenge: BleChallenge = {
      session,
      nonce: randomBytes(32).toString('base64url'),
      issuedAt: now,
      expiresAt: now + this.#ttl,
    };
    this.#pending.set(`${deviceId}/${session}`, { claims: v.claims, challenge, startedAt: now });
    await this.d.bus.publish('bleChallenge', { deviceId }, challenge);
  }

  async #response(session: string, signature: string, deviceId: string): Promise<Decision | undefined> {
    const now = this.#now();
    const key = `${deviceId}/${session}`;
    const p = this.#pending.get(key);
    this.#pending.delete(key); // one answer per challenge, right or wrong
    if (!p) return this.#finish(deviceId, session, now, undefined, deny('no_challenge'));
    if (now > p.challenge.expiresAt)
      return this.#finish(deviceId, session, p.startedAt, p.claims, deny('challenge_expired'));
    if (!verifyBleResponse(p.claims, p.challenge, signature)) {
      return this.#finish(deviceId, session, p.startedAt, p.claims, deny('bad_response'));
    }
    const door = this.d.model.doorByReader.get(deviceId);
    return this.#finish(deviceId, session, p.startedAt, p.claims, this.d.policy.forPerson(p.claims.sub, door, now));
  }

  async #finish(deviceId: string, session: string, startedAt: number, claims: BleKeyClaims | undefined, v: Verdict) {
    const decision = await this.d.decider.decide(
      {
        door: this.d.model.doorByReader.get(deviceId),
        deviceId,
        method: 'ble',
        startedAt,
        personId: claims?.sub,
        credentialId: claims?.id,
      },
      v,
    );
    await this.d.bus.publish(
      'bleResult',
      { deviceId },
      { session, ts: this.#now(), granted: decision.granted, reason: decision.reason },
    );
    return decision;
  }

  #sweep(now: number): void {
    for (const [k, p] of this.#pending) if (now > p.challenge.expiresAt) this.#pending.delete(k);
  }
}
