import { performance } from 'node:perf_hooks';
import {
  decodeAs,
  type EventAck,
  type EventBatch,
  encode,
  filterFor,
  type GatewayEvent,
  topicFor,
} from '@estate/protocols';
import mqtt from 'mqtt';
import type { EventLog } from '../log/event-log.js';
import type { TelemetryBuffer } from '../log/telemetry-buffer.js';

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
  /** device telemetry to forward, at a lower priority than events */
  telemetry?: TelemetryBuffer;
  /** samples per TelemetryBatch (≤ 2,000, the contract's limit) */
  telemetryBatchSize?: number;
  /**
   * True while the gateway is deciding at a door (a face frame under analysis): the backlog lane then holds its
   * next batch, so the decision gets the box's CPU (and the cloud's), for at most BACKLOG_YIELD_MS at a time —
   * a camera that is never idle must not stop the drain. The live lane is never held.
   */
  busy?: () => boolean;
  /**
   * The backlog lane's pace, events per second (default DEFAULT_DRAIN_RATE; 0 = as fast as the cloud acks). A
   * drain at full speed takes every core it can reach — the box's, and on a shared host the cloud's — from the
   * live decisions; paced, a 24-hour backlog of 500,000 events still drains in under a minute.
   */
  drainRate?: number;
}

/** Events per second the backlog lane sends at most, unless told otherwise (500,000 in 50 s). */
export const DEFAULT_DRAIN_RATE = 10_000;

/** The longest the backlog lane holds back for decisions in a row, ms: the drain still moves ≥ 1 batch per this. */
export const BACKLOG_YIELD_MS = 100;
const BUSY_RECHECK_MS = 5;

export interface UplinkStats {
  batchesSent: number;
  eventsSent: number;
  resends: number;
  acked: number;
  connected: boolean;
  /** events sent on the live lane, ahead of a draining backlog */
  liveSent: number;
  telemetryBatchesSent: number;
  telemetrySamplesSent: number;
}

/**
 * Store-and-forward to the cloud. The event log is the queue: events are
 * forgotten only when the cloud acknowledges (`ackedSeq` = everything up to
 * here is stored; the cloud only acks contiguously). Delivery is
 * at-least-once and the cloud deduplicates on gateway id + seq.
 *
 * Two lanes share the link, so a backlog never delays a door event:
 * - the backlog lane sends what was pending at (re)connect — (ackedSeq, liveFrom] —
 *   in seq order, at most `window` batches ahead of the cloud's ack;
 * - the live lane sends every event appended after that at once, not bounded
 *   by the window.
 * While a face decision is under way (`busy`) the backlog lane holds back, for at most BACKLOG_YIELD_MS at a time,
 * so the drain does not take the CPU the decision needs.
 * The cloud stores by seq, so storage order stays recoverable whatever the wire
 * order. A live event is not resent by the backlog lane on the same
 * connection (once the backlog reaches it the watermark jumps past it), but
 * after a link cut or an ack timeout everything unacknowledged — live events
 * included — is resent in order from the watermark: the cloud then sees it
 * twice and keeps it once.
 * Telemetry (a separate, droppable stream) goes only when the event log has
 * nothing pending beyond the window: events always first; a 24-hour backlog
 * drains in minutes and the telemetry waits in its durable buffer meanwhile.
 */
export class Uplink {
  readonly stats: UplinkStats = {
    batchesSent: 0,
    eventsSent: 0,
    resends: 0,
    acked: 0,
    connected: false,
    liveSent: 0,
    telemetryBatchesSent: 0,
    telemetrySamplesSent: 0,
  };
  #client: mqtt.MqttClient | undefined;
  /** backlog lane: sent up to here, never past #liveFrom */
  #cursor = 0;
  /** events after this seq go on the live lane */
  #liveFrom = 0;
  /** live lane: sent up to here */
  #liveSent = 0;
  #inFlight: number[] = []; // last seq of each unacknowledged backlog batch
  #ackTimer: NodeJS.Timeout | undefined;
  #pumping = false;
  #subscribed = false;
  #telemetryBusy = false;
  #yielded: NodeJS.Immediate | undefined;
  #recheck: NodeJS.Timeout | undefined;
  /** the backlog lane may send its next batch from this time on (performance.now(), ms) */
  #drainNextAt = 0;
  /** since when the backlog lane has been holding back for a decision (0: it is not) */
  #holdingSince = 0;
  #unhooks: (() => void)[] = [];
  readonly #connectHooks = new Set<(client: mqtt.MqttClient) => void>();
  readonly #batch: number;
  readonly #window: number;
  readonly #ackTimeoutMs: number;
  readonly #telemetryBatch: number;
  readonly #drainRate: number;
  readonly #now: () => number;
  readonly #eventTopic: string;

  constructor(private readonly o: UplinkOptions) {
    this.#batch = Math.min(o.batchSize ?? 200, 500);
    this.#window = o.window ?? 4;
    this.#ackTimeoutMs = o.ackTimeoutMs ?? 10_000;
    this.#telemetryBatch = Math.min(o.telemetryBatchSize ?? 500, 2_000);
    this.#drainRate = o.drainRate ?? DEFAULT_DRAIN_RATE;
    this.#now = o.now ?? Date.now;
    this.#eventTopic = topicFor('eventBatch', { gatewayId: o.gatewayId });
  }

  /** The live MQTT client to the cloud (undefined before start / after stop), for other gateway parts (sync). */
  get client(): mqtt.MqttClient | undefined {
    return this.#client;
  }

  /** True while a backlog from before the last (re)connect is still being sent. */
  get draining(): boolean {
    return this.#cursor < this.#liveFrom;
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
    this.#rewind();
    const client = mqtt.connect(this.o.url, {
      protocolVersion: 4, // DESIGN.md: both hops speak MQTT 3.1.1
      clientId: gatewayId,
      clean: true, // our own log is the durable queue, not the broker session
      reconnectPeriod: this.o.reconnectMs ?? 1_000,
      // MQTT.js gives up after a refused CONNECT unless told otherwise; a gateway never may: the cloud broker
      // answers "server unavailable" while its database is away, and the backlog must still go up afterwards
      reconnectOnConnackError: true,
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
    this.#unhooks.push(this.o.log.onAppend(() => this.#pump()));
    if (this.o.telemetry) this.#unhooks.push(this.o.telemetry.onPush(() => this.#pump()));
  }

  async stop(): Promise<void> {
    for (const u of this.#unhooks) u();
    this.#unhooks = [];
    clearTimeout(this.#ackTimer);
    clearImmediate(this.#yielded);
    clearTimeout(this.#recheck);
    // cleared handles are forgotten too: `??=` and `if (!this.#yielded)` would otherwise never schedule again
    this.#ackTimer = undefined;
    this.#yielded = undefined;
    this.#recheck = undefined;
    // force: nothing in the MQTT client needs flushing, the log keeps every unacknowledged event
    await this.#client?.endAsync(true);
    this.#client = undefined;
  }

  async #onConnect(presence: string): Promise<void> {
    const client = this.#client;
    if (!client) return;
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
    this.stats.connected = true;
    this.#subscribed = true;
    for (const fn of this.#connectHooks) this.#runHook(fn, client);
    this.#pump();
  }

  /** Forget what was in flight: everything unacknowledged is resent in order from the watermark. */
  #rewind(): void {
    if (this.#inFlight.length > 0 || this.#liveSent > this.#liveFrom) this.stats.resends++;
    this.#inFlight = [];
    this.#cursor = this.o.log.ackedSeq;
    this.#liveFrom = this.o.log.lastSeq;
    this.#liveSent = this.#liveFrom;
    this.#telemetryBusy = false;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  /** Sends what the lanes allow, highest priority first. Synchronous: publishes are queued, not awaited. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.stats.connected) {
        if (this.#liveSent < this.o.log.lastSeq) {
          const events = this.o.log.read(this.#liveSent, this.#batch);
          if (events.length === 0) break;
          this.#liveSent = this.#send(events);
          this.stats.liveSent += events.length;
        } else if (this.#cursor < this.#liveFrom && this.#inFlight.length < this.#window) {
          if (this.#holdForDecision() || this.#paced()) break;
          const events = this.o.log.read(this.#cursor, Math.min(this.#batch, this.#liveFrom - this.#cursor));
          if (events.length === 0) break;
          this.#cursor = this.#send(events);
          this.#inFlight.push(this.#cursor);
          if (this.#drainRate > 0) {
            this.#drainNextAt =
              Math.max(this.#drainNextAt, performance.now()) + (events.length * 1_000) / this.#drainRate;
          }
          // one backlog batch per turn of the event loop: a door decision waiting behind it goes first
          if (!this.#yielded) {
            this.#yielded = setImmediate(() => {
              this.#yielded = undefined;
              this.#pump();
            });
          }
          break;
        } else if (this.#cursor >= this.#liveFrom && !this.#telemetryBusy && this.o.telemetry?.count) {
          this.#sendTelemetry(this.o.telemetry);
        } else break;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Whether the backlog lane is ahead of its pace; if so a pump is scheduled for when it is not. */
  #paced(): boolean {
    const wait = this.#drainNextAt - performance.now();
    if (wait <= 0) return false;
    this.#recheck ??= setTimeout(() => {
      this.#recheck = undefined;
      this.#pump();
    }, Math.ceil(wait));
    return true;
  }

  /** Whether the backlog lane waits for a decision now; if so a re-check is scheduled. */
  #holdForDecision(): boolean {
    if (!this.o.busy?.()) {
      this.#holdingSince = 0;
      return false;
    }
    const now = performance.now();
    if (this.#holdingSince === 0) this.#holdingSince = now;
    if (now - this.#holdingSince >= BACKLOG_YIELD_MS) {
      this.#holdingSince = now; // one batch goes, then the lane may hold again
      return false;
    }
    this.#recheck ??= setTimeout(() => {
      this.#recheck = undefined;
      this.#pump();
    }, BUSY_RECHECK_MS);
    return true;
  }

  /** Publishes one event batch (QoS 1; mqtt.js keeps the order on the one TCP stream). Returns its last seq. */
  #send(events: GatewayEvent[]): number {
    const batch: EventBatch = { gatewayId: this.o.gatewayId, sentAt: this.#now(), events };
    // encode() validates and refuses an oversized batch; 200 events of < 1 KiB stay far below 512 KiB
    // a failed publish means the link is down: 'close' rewinds and 'connect' pumps again
    this.#client?.publish(this.#eventTopic, encode('eventBatch', batch), { qos: 1 }, () => {});
    this.stats.batchesSent++;
    this.stats.eventsSent += events.length;
    this.#armAckTimer();
    return (events.at(-1) as GatewayEvent).seq;
  }

  /** One telemetry batch at a time; its samples are deleted when the broker took it (PUBACK). */
  #sendTelemetry(buffer: TelemetryBuffer): void {
    const { lastId, samples } = buffer.read(0, this.#telemetryBatch);
    if (samples.length === 0) return;
    this.#telemetryBusy = true;
    const batch = { gatewayId: this.o.gatewayId, sentAt: this.#now(), samples };
    const topic = topicFor('telemetryBatch', { gatewayId: this.o.gatewayId });
    this.#client?.publish(topic, encode('telemetryBatch', batch), { qos: 1 }, (err) => {
      if (err) return; // resent after the reconnect (the rewind frees the lane)
      buffer.delivered(lastId);
      this.stats.telemetryBatchesSent++;
      this.stats.telemetrySamplesSent += samples.length;
      this.#telemetryBusy = false;
      this.#pump();
    });
  }

  /** What has been sent without a gap after the watermark (an ack past it is bogus). */
  get #sentContiguous(): number {
    return this.#cursor < this.#liveFrom ? this.#cursor : this.#liveSent;
  }

  #armAckTimer(): void {
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      this.#rewind();
      this.#pump();
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
    // never forget events the gateway has not even sent
    const upTo = Math.min(a.ackedSeq, this.#sentContiguous);
    if (upTo <= this.o.log.ackedSeq) return;
    this.o.log.ack(upTo);
    this.stats.acked = upTo;
    this.#inFlight = this.#inFlight.filter((s) => s > upTo);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (Math.max(this.#cursor, this.#liveSent) > upTo) this.#armAckTimer();
    this.#pump();
  }
}
