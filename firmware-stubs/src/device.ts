import { EventEmitter } from 'node:events';
import {
  type CommandAck,
  type DeviceKind,
  decodeAs,
  encode,
  type Message,
  type MessageName,
  type ProtocolError,
  routes,
  type TopicParams,
  topicFor,
} from '@estate/protocols';
import type { MqttClient } from 'mqtt';
import { type Clock, systemClock, Timers } from './clock.js';
import {
  ACK_ROUTE,
  AckMemory,
  type AckRoute,
  type CommandFields,
  type CommandRoute,
  type Outcome,
  refused,
  salvageCmdId,
} from './commands.js';
import { clientOptions, openClient } from './connection.js';
import type { DeviceEventMap, DeviceOptions, WireMessage } from './device-types.js';
import { type Logger, type LogLevel, silentLogger } from './log.js';
import { Pending } from './pending.js';

export type { DeviceOptions } from './device-types.js';

type EventRoute = 'doorEvent' | 'cameraEvent' | 'bleEvent' | 'readerEvent' | 'chargerEvent' | 'leakEvent';
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq' | 'ts'> : never;

type Inbound = (payload: Buffer, topic: string) => Promise<void>;

/**
 * What every simulated device shares: MQTT 3.1.1 link, retained presence with
 * a last will, event sequence numbers, validation of everything inbound, and
 * command expiry. Subclasses declare routes in their constructor and act in hooks.
 */
export abstract class Device extends EventEmitter<DeviceEventMap> {
  abstract readonly kind: DeviceKind;
  readonly id: string;
  protected readonly clock: Clock;
  private readonly logger: Logger;
  private readonly inbound = new Map<MessageName, Inbound>();
  private readonly timers: Timers;
  private readonly pendings = new Set<Pending<unknown>>();
  private readonly acks = new AckMemory();
  private byTopic = new Map<string, Inbound>();
  private client: MqttClient | undefined;
  private seq: number | undefined;
  private linkUp = false;
  private stopping = false;
  /** Inbound messages run one at a time, in arrival order, as on a single-threaded controller. */
  private queue: Promise<void> = Promise.resolve();

  constructor(protected readonly options: DeviceOptions) {
    super();
    this.id = options.id;
    this.clock = options.clock ?? systemClock;
    this.timers = new Timers(this.clock);
    this.logger = options.logger ?? silentLogger;
  }

  get source(): string {
    return `${this.kind}/${this.id}`;
  }

  get online(): boolean {
    return this.linkUp;
  }

  async start(): Promise<void> {
    if (this.client) throw new Error(`${this.source} is already started`);
    this.seq ??= this.options.startSeq ?? this.clock.now();
    await this.onStart();
    // topicFor throws on an id that is not a valid topic segment: fail here, clearly.
    this.byTopic = new Map([...this.inbound].map(([name, handle]) => [this.topic(name), handle]));
    const will = { topic: this.topic('devicePresence'), payload: encode('devicePresence', this.presence(false)) };
    const { url } = this.options.broker;
    // the gateway broker requires clientId = username = device id (one device cannot take over another's session)
    const opts = await clientOptions(this.options.broker, this.id, will);
    this.log('debug', `connecting to ${url}`);
    const { client, ready } = openClient(url, opts, (e, again) =>
      this.log(again ? 'debug' : 'warn', `broker ${url}: ${e.message}`),
    );
    this.client = client;
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    client.on('close', () => this.linkLost());
    try {
      await ready;
      // Registered after the first CONNACK, so it sees reconnects only.
      client.on('connect', () => this.spawn(this.linkRestored()));
      await this.subscribe(client);
      this.linkUp = true;
      await this.announce();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.log('info', `online at ${url}`);
    this.emit('connected');
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) return;
    this.stopping = true;
    this.timers.cancelAll();
    for (const p of this.pendings) p.rejectAll(new Error(`${this.source} stopped`));
    try {
      await this.onStop();
      // A clean disconnect suppresses the will, so say goodbye ourselves.
      if (client.connected) await this.publish('devicePresence', this.presence(false));
    } catch (e) {
      this.warn(e);
    } finally {
      // Force when offline: a graceful end would wait for in-flight QoS 1 messages that cannot leave.
      await client.endAsync(!client.connected);
      this.client = undefined;
      this.linkUp = false;
      this.stopping = false;
      this.log('info', 'stopped');
      this.emit('disconnected');
    }
  }

  // — hooks for subclasses —

  /** Before connecting: load files, reset to the power-up state. */
  protected async onStart(): Promise<void> {}
  /** After every (re)connect: publish retained state. */
  protected async onConnected(): Promise<void> {}
  /** The broker link dropped; the device keeps running on its own. */
  protected onLinkLost(): void {}
  protected async onStop(): Promise<void> {}

  // — wiring, for subclass constructors —

  /** Commands: validated, expiry-checked, deduplicated by cmdId, and always acked. */
  protected onCommand<C extends CommandRoute>(name: C, run: (cmd: Message<C>) => Outcome | Promise<Outcome>): void {
    this.inbound.set(name, (payload, topic) => this.command(name, payload, topic, run));
  }

  /** Other inbound messages (challenges, feedback): validated; invalid ones are reported and dropped. */
  protected onMessage<N extends MessageName>(name: N, handle: (message: Message<N>) => void): void {
    this.inbound.set(name, async (payload, topic) => {
      const d = decodeAs(name, payload);
      if (!d.ok) return this.reject(topic, d.error);
      this.emit('received', { name, topic, message: d.value } as WireMessage);
      handle(d.value);
    });
  }

  protected pending<T>(what: string): Pending<T> {
    const p = new Pending<T>(this.clock, what);
    this.pendings.add(p as Pending<unknown>);
    return p;
  }

  // — tools —

  protected now(): number {
    return this.clock.now();
  }

  protected nextSeq(): number {
    const seq = this.seq ?? this.options.startSeq ?? this.clock.now();
    this.seq = seq + 1;
    return seq;
  }

  protected topic<N extends MessageName>(name: N): string {
    return topicFor(name, { kind: this.kind, deviceId: this.id } as TopicParams<N>);
  }

  /** Encodes (which validates: a stub must never send what real firmware would not) and publishes. */
  protected async publish<N extends MessageName>(name: N, message: Message<N>): Promise<void> {
    const client = this.client;
    if (!client) throw new Error(`${this.source} is not started`);
    const topic = this.topic(name);
    const payload = encode(name, message);
    const { qos, retain } = routes[name];
    this.emit('published', { name, topic, message } as WireMessage);
    await client.publishAsync(topic, payload, { qos, retain });
  }

  protected event<N extends EventRoute>(name: N, body: WithoutSeq<Message<N>>): Promise<void> {
    return this.publish(name, { ...body, seq: this.nextSeq(), ts: this.now() } as unknown as Message<N>);
  }

  /**
   * Awaits publishes that were all started already. Messages leave in the order
   * publish() was called; awaiting between them would let another action slip
   * its messages in between (a `closed` before the `forced` it follows).
   */
  protected async together(...sends: Promise<unknown>[]): Promise<void> {
    await Promise.all(sends);
  }

  protected after(ms: number, fn: () => void): () => void {
    return this.timers.after(ms, fn);
  }

  protected every(ms: number, fn: () => void): () => void {
    return this.timers.every(ms, fn);
  }

  /** Runs work whose failure must be logged, never thrown into a timer or the MQTT client. */
  protected spawn(work: Promise<unknown>): void {
    work.catch((e: unknown) => this.warn(e));
  }

  protected log(level: LogLevel, message: string): void {
    this.logger({ level, source: this.source, message });
  }

  // — internals —

  private async subscribe(client: MqttClient): Promise<void> {
    if (this.byTopic.size === 0) return;
    const granted = await client.subscribeAsync([...this.byTopic.keys()], { qos: 1 });
    const denied = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (denied.length > 0) throw new Error(`${this.source}: broker refused subscription to ${denied.join(', ')}`);
  }

  private presence(online: boolean) {
    return { online, ts: this.now(), ...(this.options.fw ? { fw: this.options.fw } : {}) };
  }

  private async announce(): Promise<void> {
    await this.publish('devicePresence', this.presence(true));
    await this.onConnected();
  }

  private linkLost(): void {
    if (!this.linkUp || this.stopping) return;
    this.linkUp = false;
    this.log('warn', 'link to broker lost');
    this.emit('disconnected');
    this.onLinkLost();
  }

  private async linkRestored(): Promise<void> {
    if (this.linkUp) return;
    this.linkUp = true;
    await this.announce();
    this.log('info', 'link to broker restored');
    this.emit('connected');
  }

  private dispatch(topic: string, payload: Buffer): void {
    const handle = this.byTopic.get(topic);
    if (!handle) return;
    const next = this.queue.then(() => handle(payload, topic));
    this.queue = next.catch((e: unknown) => this.warn(e));
  }

  private reject(topic: string, error: ProtocolError): void {
    this.log('warn', `refused message on ${topic}: ${error.code} ${error.message}`);
    this.emit('rejected', { topic, error });
  }

  private async command<C extends CommandRoute>(
    name: C,
    payload: Buffer,
    topic: string,
    run: (cmd: Message<C>) => Outcome | Promise<Outcome>,
  ): Promise<void> {
    const d = decodeAs(name, payload);
    if (!d.ok) {
      this.reject(topic, d.error);
      return this.ack(name, salvageCmdId(payload, routes[name].maxBytes), refused(d.error.code.toLowerCase()));
    }
    const cmd = d.value as Message<C> & CommandFields;
    this.emit('received', { name, topic, message: cmd } as WireMessage);
    const earlier = this.acks.get(cmd.cmdId);
    // A QoS 1 redelivery: answer again, never act twice.
    if (earlier) return this.publishAck(name, earlier);
    let outcome: Outcome;
    if (this.now() > cmd.expiresAt) outcome = refused('expired');
    else {
      try {
        outcome = await run(cmd);
      } catch (e) {
        this.warn(e);
        outcome = { result: 'failed', reason: 'internal_error' };
      }
    }
    await this.ack(name, cmd.cmdId, outcome);
  }

  private async ack(name: CommandRoute, cmdId: string, outcome: Outcome): Promise<void> {
    const ack: CommandAck = { cmdId, ts: this.now(), ...outcome };
    this.acks.remember(ack);
    const why = outcome.result === 'done' ? '' : ` (${outcome.reason})`;
    this.log(outcome.result === 'done' ? 'info' : 'warn', `command ${cmdId}: ${outcome.result}${why}`);
    await this.publishAck(name, ack);
  }

  private publishAck(name: CommandRoute, ack: CommandAck): Promise<void> {
    const route: AckRoute = ACK_ROUTE[name];
    return this.publish(route, ack);
  }

  private warn(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.log('error', error.message);
    this.emit('warning', error);
  }
}
