import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import {
  type Decoded,
  decode,
  encode,
  type Message,
  type MessageName,
  type ProtocolError,
  type TopicParams,
  topicFor,
} from '@estate/protocols';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Clock } from '../src/clock.js';

export interface TestBroker {
  broker: Aedes;
  server: Server;
  /** Connected clients by client id. */
  clients: Map<string, Client>;
  url: string;
  close(): Promise<void>;
}

/** A real in-process Aedes broker on a free port, as the gateway runs it. */
export async function startBroker(options: AedesOptions = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const clients = new Map<string, Client>();
  broker.on('clientReady', (c) => clients.set(c.id, c));
  broker.on('clientDisconnect', (c) => clients.delete(c.id));
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    broker,
    server,
    clients,
    url: `mqtt://127.0.0.1:${address.port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Drops a client's TCP connection from the broker side: a link loss the client did not ask for. */
export function cutLink(b: TestBroker, clientId: string): void {
  const client = b.clients.get(clientId);
  if (!client) throw new Error(`no client ${clientId} on the broker`);
  client.conn.destroy();
}

interface Timer {
  id: number;
  at: number;
  period?: number;
  fn: () => void;
}

/** A clock that moves only when told: timers due on the way fire in order, synchronously. */
export class ManualClock implements Clock {
  private t: number;
  private timers: Timer[] = [];
  private ids = 0;

  constructor(start = Date.UTC(2025, 0, 6, 8, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    return this.add({ id: this.ids++, at: this.t + ms, fn });
  }

  every(ms: number, fn: () => void): () => void {
    return this.add({ id: this.ids++, at: this.t + ms, period: ms, fn });
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.t = due.at;
      if (due.period) due.at += due.period;
      else this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
    this.t = end;
  }

  private add(timer: Timer): () => void {
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }
}

export interface Seen {
  topic: string;
  retain: boolean;
  decoded: Decoded;
}

/**
 * Plays the gateway's side of the wire: sees every message under estate/v1/,
 * decodes each with @estate/protocols, and keeps the invalid ones apart so a
 * test can assert there were none.
 */
export class Wire {
  readonly seen: Seen[] = [];
  readonly invalid: { topic: string; error: ProtocolError }[] = [];
  private readonly listeners = new Set<() => void>();
  /** Garbage the test sent on purpose; it comes back to us and is not the device's fault. */
  private readonly planted = new Set<string>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const d = decode(topic, payload);
      if (d.ok) this.seen.push({ topic, retain: packet.retain, decoded: d.value });
      else if (!this.planted.has(`${topic} ${payload.toString('hex')}`)) this.invalid.push({ topic, error: d.error });
      for (const l of this.listeners) l();
    });
  }

  static async connect(url: string, filter = 'estate/v1/#'): Promise<Wire> {
    const client = await connectAsync(url, { protocolVersion: 4, clientId: `wire-${randomBytes(4).toString('hex')}` });
    const wire = new Wire(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return wire;
  }

  /** Every valid message of route `name` (optionally of one device), in arrival order. */
  all<N extends MessageName>(name: N, deviceId?: string): Message<N>[] {
    return this.seen
      .filter((s) => s.decoded.name === name && (!deviceId || s.topic.split('/')[4] === deviceId))
      .map((s) => s.decoded.message as Message<N>);
  }

  /** The first message of `name` (from `deviceId`) matching `where`, already seen or arriving within `timeoutMs`. */
  async waitFor<N extends MessageName>(
    name: N,
    where: (m: Message<N>) => boolean = () => true,
    deviceId?: string,
    timeoutMs = 3_000,
  ): Promise<Message<N>> {
    const first = () => this.all(name, deviceId).find(where);
    await this.until(() => first() !== undefined, name, timeoutMs);
    return first() as Message<N>;
  }

  /** All messages of `name` from `deviceId`, once at least `n` have arrived. */
  async atLeast<N extends MessageName>(n: number, name: N, deviceId: string): Promise<Message<N>[]> {
    await this.until(() => this.all(name, deviceId).length >= n, `${n} × ${name}`);
    return this.all(name, deviceId);
  }

  private until(done: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return false;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; saw ${this.seen.map((s) => s.topic).join(', ')}`));
      }, timeoutMs);
      if (!check()) this.listeners.add(check);
    });
  }

  async send<N extends MessageName>(name: N, params: TopicParams<N>, message: Message<N>): Promise<void> {
    await this.client.publishAsync(topicFor(name, params), encode(name, message), { qos: 1 });
  }

  async sendRaw(topic: string, payload: Buffer | string): Promise<void> {
    this.planted.add(`${topic} ${Buffer.from(payload).toString('hex')}`);
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

export const aCmdId = () => randomBytes(8).toString('hex');

/** Command header valid for 10 s from the clock's now. */
export const aHeader = (clock: Clock, validMs = 10_000) => ({
  cmdId: aCmdId(),
  issuedAt: clock.now(),
  expiresAt: clock.now() + validMs,
});

/** Lets queued MQTT traffic drain when a test asserts that something did NOT happen. */
export const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A minimal but decodable baseline JPEG (ITU T.81): mid-grey, one component,
 * Huffman tables with a single code each, so every 8x8 block is two 0 bits.
 */
export function aJpeg(width: number, height: number): Buffer {
  const u16 = (n: number) => [n >> 8, n & 0xff];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const bits = blocks * 2;
  const scan = new Array<number>(Math.ceil(bits / 8)).fill(0);
  const pad = scan.length * 8 - bits;
  if (pad > 0) scan[scan.length - 1] = (1 << pad) - 1; // T.81 F.1.2.3: pad with 1 bits
  const oneCodeTable = (classAndId: number) => [0xff, 0xc4, ...u16(20), classAndId, 1, ...new Array(15).fill(0), 0];
  return Buffer.from([
    ...[0xff, 0xd8],
    ...[0xff, 0xe0, ...u16(16), 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    ...[0xff, 0xdb, ...u16(67), 0, ...new Array(64).fill(1)],
    ...[0xff, 0xc0, ...u16(11), 8, ...u16(height), ...u16(width), 1, 1, 0x11, 0],
    ...oneCodeTable(0x00),
    ...oneCodeTable(0x10),
    ...[0xff, 0xda, ...u16(8), 1, 1, 0x00, 0, 63, 0],
    ...scan,
    ...[0xff, 0xd9],
  ]);
}

/**
 * The hooks every device suite needs: a broker and a validating wire watcher per file, the devices a
 * test started stopped after it, and no invalid message allowed on the wire.
 */
export function deviceSuite<D extends { stop(): Promise<void> }>() {
  let broker: TestBroker | undefined;
  let watcher: Wire | undefined;
  const suite = {
    running: [] as D[],
    get b(): TestBroker {
      if (!broker) throw new Error('deviceSuite: broker not started yet');
      return broker;
    },
    get wire(): Wire {
      if (!watcher) throw new Error('deviceSuite: wire not connected yet');
      return watcher;
    },
  };
  beforeAll(async () => {
    broker = await startBroker();
    watcher = await Wire.connect(broker.url);
  });
  afterEach(async () => {
    await Promise.all(suite.running.splice(0).map((d) => d.stop()));
    expect(suite.wire.invalid).toEqual([]);
  });
  afterAll(async () => {
    await watcher?.close();
    await broker?.close();
  });
  return suite;
}
