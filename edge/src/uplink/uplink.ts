import { decodeAs, type EventAck, type EventBatch, encode, filterFor, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import type { EventLog } from '../log/event-log.js';

export interface UplinkOptions {
  /** mqtt:// or mqtts:// URL of the cloud broker */
  url: string;
  gatewayId: string;
  username?: string;
  password?: string;
  ca?: Buffer | string;
  log: EventLog;
  /** events per batch (≤ 500, the contract's limit) */
  batchSize?: number;
  /** batches sent ahead of the cloud's acknowledgement */
  window?: number;
  /** resend everything unacknowledged when no ack came for this long */
  ackTimeoutMs?: number;
  reconnectMs?: number;
  now?: () => number;
}

export interface UplinkStats {
  batchesSent: number;
  eventsSent: number;
  resends: number;
  acked: number;
  connected: boolean;
}

/**
 * Store-and-forward to the cloud. The event log is the queue: events are sent
 * in sequence order in batches, and forgotten only when the cloud acknowledges
 * (`ackedSeq` = everything up to here is stored). After a link cut, a restart
 * or an ack timeout, sending resumes from the last acknowledged seq — so
 * delivery is at-least-once and the cloud deduplicates on gateway id + seq.
 */
export class Uplink {
  readonly stats: UplinkStats = { batchesSent: 0, eventsSent: 0, resends: 0, acked: 0, connected: false };
  #client: mqtt.MqttClient | undefined;
  #sentUpTo = 0;
  #inFlight: number[] = []; // last seq of each unacknowledged batch
  #ackTimer: NodeJS.Timeout | undefined;
  #pumping = false;
  #subscribed = false;
  #unhook: (() => void) | undefined;
  readonly #connectHooks = new Set<(client: mqtt.MqttClient) => void>();
  readonly #batch: number;
  readonly #window: number;
  readonly #ackTimeoutMs: number;
  readonly #now: () => number;

  constructor(private readonly o: UplinkOptions) {
    this.#batch = Math.min(o.batchSize ?? 200, 500);
    this.#window = o.window ?? 4;
    this.#ackTimeoutMs = o.ackTimeoutMs ?? 10_000;
    this.#now = o.now ?? Date.now;
  }

  /** The live MQTT client to the cloud (undefined before start / after stop), for other gateway parts (sync). */
  get client(): mqtt.MqttClient | undefined {
    return this.#client;
  }

  /**
   * Run fn on every (re)connect, after the uplink's own subscriptions are in place (clean sessions:
   * subscriptions must be redone each time). Returns an unsubscribe. A throwing hook is ignored.
   */
  onConnect(fn: (client: mqtt.MqttClient) => void): () => void {
    this.#connectHooks.add(fn);
    if (this.#client && this.stats.connected && this.#subscribed) this.#runHook(fn, this.#client);
    return () => this.#connectHooks.delete(fn);
  }

  #runHook(fn: (client: mqtt.MqttClient) => void, client: mqtt.MqttClient): void {
    try {
      fn(client);
    } catch {
      // another part's failure must not stop the uplink
    }
  }

  async start(): Promise<void> {
    const gatewayId = this.o.gatewayId;
    const presence = topicFor('gatewayPresence', { gatewayId });
    const client = mqtt.connect(this.o.url, {
      protocolVersion: 4, // DESIGN.md: both hops speak MQTT 3.1.1
      clientId: gatewayId,
      clean: true, // our own log is the durable queue, not the broker session
      reconnectPeriod: this.o.reconnectMs ?? 1_000,
      connectTimeout: 10_000,
      ...(this.o.username ? { username: this.o.username } : {}),
      ...(this.o.password ? { password: this.o.password } : {}),
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      will: {
        topic: presence,
        payload: encode('gatewayPresence', { online: false, ts: this.#now() }),
        qos: 1,
        retain: true,
      },
    });
    this.#client = client;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('connect', () => void this.#onConnect(presence));
    client.on('close', () => {
      this.stats.connected = false;
      this.#subscribed = false;
      this.#rewind();
    });
    client.on('error', () => {}); // reconnects by itself; errors must not kill the gateway
    this.#unhook = this.o.log.onAppend(() => void this.#pump());
  }

  async stop(): Promise<void> {
    this.#unhook?.();
    clearTimeout(this.#ackTimer);
    // force: nothing in the MQTT client needs flushing, the log keeps every unacknowledged event
    await this.#client?.endAsync(true);
    this.#client = undefined;
  }

  async #onConnect(presence: string): Promise<void> {
    const client = this.#client;
    if (!client) return;
    this.stats.connected = true;
    // acks and batches are small: without TCP_NODELAY each would wait up to 40 ms on delayed ACKs
    (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    this.#rewind();
    try {
      await client.subscribeAsync(topicFor('eventAck', { gatewayId: this.o.gatewayId }), { qos: 1 });
      await client.publishAsync(presence, encode('gatewayPresence', { online: true, ts: this.#now() }), {
        qos: 1,
        retain: true,
      });
    } catch {
      return; // the link dropped again; the next connect retries
    }
    this.#subscribed = true;
    for (const fn of this.#connectHooks) this.#runHook(fn, client);
    await this.#pump();
  }

  /** Forget what was in flight: it is resent from the last acknowledged seq. */
  #rewind(): void {
    if (this.#inFlight.length > 0) this.stats.resends++;
    this.#inFlight = [];
    this.#sentUpTo = this.o.log.ackedSeq;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.stats.connected && this.#inFlight.length < this.#window) {
        const events = this.o.log.read(this.#sentUpTo, this.#batch);
        if (events.length === 0) break;
        const batch: EventBatch = {
          gatewayId: this.o.gatewayId,
          sentAt: this.#now(),
          events: events as EventBatch['events'],
        };
        const last = events.at(-1)?.seq ?? this.#sentUpTo;
        this.#sentUpTo = last;
        this.#inFlight.push(last);
        this.#armAckTimer();
        // encode() validates and refuses an oversized batch; 200 events of < 1 KiB stay far below 512 KiB
        await this.#client?.publishAsync(
          topicFor('eventBatch', { gatewayId: this.o.gatewayId }),
          encode('eventBatch', batch),
          {
            qos: 1,
          },
        );
        this.stats.batchesSent++;
        this.stats.eventsSent += events.length;
      }
    } catch {
      // a publish failed: the link is down; 'close' rewinds and 'connect' pumps again
    } finally {
      this.#pumping = false;
    }
  }

  #armAckTimer(): void {
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      this.#rewind();
      void this.#pump();
    }, this.#ackTimeoutMs);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic !== filterFor('eventAck', { gatewayId: this.o.gatewayId })) return;
    const d = decodeAs('eventAck', payload);
    if (!d.ok) return; // a malformed ack changes nothing: the events stay in the log
    this.#ack(d.value);
  }

  #ack(a: EventAck): void {
    if (a.ackedSeq <= this.o.log.ackedSeq) return; // old or duplicate ack
    // never forget events the gateway has not even sent: an ack past them is bogus
    const upTo = Math.min(a.ackedSeq, this.#sentUpTo);
    this.o.log.ack(upTo);
    this.stats.acked = upTo;
    this.#inFlight = this.#inFlight.filter((s) => s > upTo);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (this.#inFlight.length > 0) this.#armAckTimer();
    void this.#pump();
  }
}
