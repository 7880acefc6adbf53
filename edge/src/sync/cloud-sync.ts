import {
  decodeAs,
  encode,
  type GatewayConfig,
  importRawPublicKey,
  KeyRing,
  type MessageName,
  matchTopic,
  topicFor,
} from '@estate/protocols';
import type { MqttClient } from 'mqtt';
import type { Gateway } from '../gateway.js';
import { CommandRunner } from './command-runner.js';
import { type ConfigDoc, type DeltaDoc, DesiredSync } from './desired-sync.js';

export type TrustedKeysWire = GatewayConfig['trustedKeys'];

export interface CloudSyncOptions {
  gateway: Gateway;
  gatewayId: string;
  /** The uplink's connected MQTT.js client (MQTT 3.1.1): subscriptions are restored by it on reconnect. */
  client: MqttClient;
  /** The keys given at provisioning; once a config is synced, the keys it carries (rotation) are used instead. */
  trustedKeys: TrustedKeysWire;
  now?: () => number;
  /** Every refusal, with its reason (also counted in `stats.refused`). */
  onRefused?: (what: string, reason: string, detail?: string) => void;
  askAfterMs?: number;
}

export interface CloudSyncStats {
  received: number;
  refused: Record<string, number>;
}

const SYNC_NAMES = [
  'desiredState',
  'configSync',
  'accessSync',
  'gallerySync',
  'credentialSync',
  'passSync',
  'revocationSync',
  'reservationSync',
  'gatewayCommand',
] as const satisfies readonly MessageName[];
const SYNC_ROUTES = new Set<MessageName>(SYNC_NAMES);

export function keyRingOf(keys: TrustedKeysWire): KeyRing {
  return new KeyRing(
    keys.map((k) => ({ ...k, publicKey: importRawPublicKey(k.alg, Buffer.from(k.publicKey, 'base64url')) })),
  );
}

/**
 * The gateway's side of desired-state sync and remote commands: subscribes its desired, sync/+ and cmd topics on
 * the uplink's client, verifies every document against the keys it trusts, applies through Gateway.apply,
 * acknowledges with DesiredAck / CommandAck. Nothing unverified, stale or expired is ever applied or executed.
 */
export class CloudSync {
  readonly stats: CloudSyncStats = { received: 0, refused: {} };
  readonly #o: CloudSyncOptions;
  readonly #provisioned: KeyRing;
  #desired: DesiredSync | undefined;
  #commands: CommandRunner | undefined;
  readonly #onMessage = (topic: string, payload: Buffer) => this.#dispatch(topic, payload);

  constructor(o: CloudSyncOptions) {
    this.#o = o;
    this.#provisioned = keyRingOf(o.trustedKeys);
  }

  get #topics(): string[] {
    const gatewayId = this.#o.gatewayId;
    // each topic by name, no wildcard: the cloud broker lets a gateway subscribe to exactly its own topics
    return SYNC_NAMES.map((name) => topicFor(name, { gatewayId }));
  }

  async start(): Promise<void> {
    const { gateway, client } = this.#o;
    const now = this.#o.now ?? Date.now;
    const { db, model } = gateway.parts;
    // the synced config's keys once there is one (it carries rotations), the provisioning keys until then
    const ring = () => (model.config ? model.ring : this.#provisioned);
    const refuse = (what: string, reason: string, detail?: string) => {
      this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1;
      this.#o.onRefused?.(what, reason, detail);
    };
    const gatewayId = this.#o.gatewayId;
    const publish = (topic: string, payload: Buffer) => client.publish(topic, payload, { qos: 1 }, () => {});
    const desired = new DesiredSync({
      gateway,
      gatewayId,
      db,
      ring,
      now,
      refuse,
      sendAck: (a) => publish(topicFor('desiredAck', { gatewayId }), encode('desiredAck', a)),
      ...(this.#o.askAfterMs === undefined ? {} : { askAfterMs: this.#o.askAfterMs }),
    });
    this.#desired = desired;
    this.#commands = new CommandRunner({
      gateway,
      db,
      ring,
      now,
      refuse,
      sendAck: (a) => publish(topicFor('gatewayCommandAck', { gatewayId }), encode('gatewayCommandAck', a)),
      resync: () => desired.requestResync(),
    });
    client.on('message', this.#onMessage);
    await client.subscribeAsync(this.#topics, { qos: 1 });
  }

  async stop(): Promise<void> {
    this.#o.client.removeListener('message', this.#onMessage);
    this.#desired?.stop();
    this.#commands?.stop();
    if (this.#o.client.connected) await this.#o.client.unsubscribeAsync(this.#topics).catch(() => {});
  }

  /** Ask the cloud for whatever this gateway misses (also what a `resync` command does). */
  resync(): void {
    this.#desired?.requestResync();
  }

  get appliedVersion(): number {
    return this.#desired?.appliedVersion ?? 0;
  }

  #dispatch(topic: string, payload: Buffer): void {
    const m = matchTopic(topic);
    if (!m.ok || !SYNC_ROUTES.has(m.value.name) || m.value.params.gatewayId !== this.#o.gatewayId) return;
    const desired = this.#desired;
    const commands = this.#commands;
    if (!desired || !commands) return;
    this.stats.received++;
    const name = m.value.name;
    const d = decodeAs(name, payload);
    if (!d.ok) {
      this.stats.refused.invalid = (this.stats.refused.invalid ?? 0) + 1;
      this.#o.onRefused?.(topic, 'invalid', d.error.message);
      return;
    }
    try {
      if (name === 'desiredState') desired.onManifest(d.value as never);
      else if (name === 'configSync') desired.onConfig(d.value as ConfigDoc);
      else if (name === 'gatewayCommand') void commands.handle(d.value as never);
      else desired.onDelta(d.value as DeltaDoc);
    } catch (e) {
      // a fault in applying one document must not take the uplink's client down with it
      this.stats.refused.error = (this.stats.refused.error ?? 0) + 1;
      this.#o.onRefused?.(topic, 'error', (e as Error).message);
    }
  }
}
