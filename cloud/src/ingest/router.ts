// What ingest does with each message it receives, by route. Kept apart from the MQTT client so that the same
// logic serves the embedded broker and an external one, and so its decisions read in one place.
import { decodeAs, type EventAck, encode, type GatewayEvent, matchTopic, topicFor } from '@estate/protocols';
import type { Logger } from 'pino';
import type { AlarmEvent } from '../modules/repairs/alarms.js';
import { parseEventBatch } from './batch.js';
import type { GatewayDirectory, KnownGateway } from './gateways.js';
import type { IngestHandlers } from './ingest.js';
import type { EventStore } from './store.js';

/** Every field only grows. */
export interface IngestCounters {
  batches: number;
  /** Events newly stored. */
  stored: number;
  /** Events that were already stored (redelivery). */
  duplicates: number;
  /** Events refused one by one (invalid), acknowledged as rejected. */
  rejected: number;
  /** Whole messages refused before storage, by protocols error code (TOO_LARGE, NOT_JSON, SCHEMA…). */
  malformed: Record<string, number>;
  /** Messages from a gateway that does not exist or is not active: ignored, nothing stored. */
  unknownGateway: number;
  /** Payload gateway id differs from the topic's: ignored (on an external broker without ACLs, impersonation). */
  gatewayMismatch: number;
  /** Topics that are not a gateway→cloud route. */
  unexpectedTopic: number;
  acks: number;
  presence: number;
  alarms: number;
  handlerErrors: number;
  /** Database or other unexpected failures; the gateway resends what was not acknowledged. */
  failures: number;
}

export const newIngestCounters = (): IngestCounters => ({
  batches: 0,
  stored: 0,
  duplicates: 0,
  rejected: 0,
  malformed: {},
  unknownGateway: 0,
  gatewayMismatch: 0,
  unexpectedTopic: 0,
  acks: 0,
  presence: 0,
  alarms: 0,
  handlerErrors: 0,
  failures: 0,
});

export interface RouterDeps {
  directory: GatewayDirectory;
  store: EventStore;
  handlers: IngestHandlers;
  onAlarm: (e: AlarmEvent) => Promise<unknown>;
  counters: IngestCounters;
  log: Logger;
  publish(topic: string, payload: Buffer): void;
}

type Decoded<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

export class Router {
  constructor(private readonly d: RouterDeps) {}

  async route(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const m = matchTopic(topic);
    const gatewayId = m.ok ? m.value.params.gatewayId : undefined;
    if (!m.ok || !gatewayId) {
      this.d.counters.unexpectedTopic++;
      return;
    }
    switch (m.value.name) {
      case 'eventBatch':
        return this.#events(gatewayId, payload);
      case 'gatewayPresence': {
        const d = decodeAs('gatewayPresence', payload);
        if (d.ok && (await this.#accept(gatewayId, d, undefined))) await this.#seen(gatewayId, d.value, retained);
        return;
      }
      case 'gatewayHealth': {
        const d = decodeAs('gatewayHealth', payload);
        if (!d.ok || !(await this.#accept(gatewayId, d, undefined))) return;
        await this.#seen(gatewayId, { online: true, ts: d.value.ts }, retained);
        await this.#call('health', () => this.d.handlers.health?.(gatewayId, d.value));
        return;
      }
      case 'telemetryBatch': {
        const d = decodeAs('telemetryBatch', payload);
        if (await this.#accept(gatewayId, d, d.ok ? d.value.gatewayId : undefined))
          await this.#call('telemetry', () => d.ok && this.d.handlers.telemetry?.(gatewayId, d.value));
        return;
      }
      case 'desiredAck': {
        const d = decodeAs('desiredAck', payload);
        if (await this.#accept(gatewayId, d, d.ok ? d.value.gatewayId : undefined))
          await this.#call('desiredAck', () => d.ok && this.d.handlers.desiredAck?.(gatewayId, d.value));
        return;
      }
      case 'gatewayCommandAck': {
        const d = decodeAs('gatewayCommandAck', payload);
        if (await this.#accept(gatewayId, d, undefined))
          await this.#call('commandAck', () => d.ok && this.d.handlers.commandAck?.(gatewayId, d.value));
        return;
      }
      default:
        this.d.counters.unexpectedTopic++;
    }
  }

  /** The checks every message passes: it decoded, names the topic's gateway, and that gateway is active. */
  async #accept<T>(gatewayId: string, d: Decoded<T>, claimedId: string | undefined): Promise<KnownGateway | undefined> {
    if (!d.ok) {
      this.#malformed(gatewayId, d.error.code, d.error.message);
      return undefined;
    }
    if (claimedId !== undefined && claimedId !== gatewayId) {
      this.d.counters.gatewayMismatch++;
      this.d.log.warn({ gatewayId, claimedId }, 'payload names another gateway than its topic: ignored');
      return undefined;
    }
    const gateway = await this.d.directory.active(gatewayId);
    if (!gateway) {
      this.d.counters.unknownGateway++;
      this.d.log.warn({ gatewayId }, 'message from an unknown or inactive gateway: ignored');
    }
    return gateway;
  }

  async #seen(gatewayId: string, p: { online: boolean; ts: number }, retained: boolean): Promise<void> {
    this.d.counters.presence++;
    // a retained message may be old: it says when (capped at now); a live one means now
    const at = retained ? new Date(Math.min(p.ts, Date.now())) : new Date();
    await this.d.directory.seen(gatewayId, p.online, at);
  }

  #malformed(gatewayId: string, code: string, message: string): void {
    this.d.counters.malformed[code] = (this.d.counters.malformed[code] ?? 0) + 1;
    this.d.log.warn({ gatewayId, code, message: message.slice(0, 200) }, 'malformed message: ignored');
  }

  async #events(gatewayId: string, payload: Buffer): Promise<void> {
    const batch = parseEventBatch(payload);
    const gateway = await this.#accept(
      gatewayId,
      batch.ok ? { ok: true, value: batch } : batch,
      batch.ok ? batch.gatewayId : undefined,
    );
    if (!gateway || !batch.ok) return;
    const c = this.d.counters;
    c.batches++;
    const { inserted, ackedSeq } = await this.d.store.store(gatewayId, gateway.estateId, batch.events, batch.rejected);
    c.stored += inserted.size;
    c.duplicates += batch.events.length - inserted.size;
    c.rejected += batch.rejected.length;
    // alarms for every event, not only new ones: the listener is idempotent on gateway id + seq, and a crash
    // between storing and this call must not lose the repair order when the gateway resends
    for (const e of batch.events) if (e.type === 'alarm') await this.#alarm(gateway, e);
    if (this.d.handlers.event) {
      for (const e of batch.events) {
        if (inserted.has(e.seq))
          await this.#call('event', () => this.d.handlers.event?.(gatewayId, gateway.estateId, e));
      }
    }
    const ack: EventAck = { ts: Date.now(), ackedSeq };
    if (batch.rejected.length) ack.rejected = batch.rejected.map(({ seq, reason }) => ({ seq, reason }));
    this.d.publish(topicFor('eventAck', { gatewayId }), encode('eventAck', ack));
    c.acks++;
  }

  async #alarm(gateway: KnownGateway, e: Extract<GatewayEvent, { type: 'alarm' }>): Promise<void> {
    this.d.counters.alarms++;
    await this.#call('alarm', () =>
      this.d.onAlarm({
        type: 'alarm',
        estateId: gateway.estateId,
        gatewayId: gateway.id,
        seq: e.seq,
        ts: new Date(e.ts).toISOString(),
        alarm: e.alarm,
        state: e.state,
        deviceId: e.deviceId,
        doorId: e.doorId,
        detail: e.detail,
      }),
    );
  }

  async #call(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.d.counters.handlerErrors++;
      this.d.log.error({ err, handler: what }, 'ingest handler failed (the message itself was accepted)');
    }
  }
}
