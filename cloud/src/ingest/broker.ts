// The embedded cloud broker (DESIGN "Cloud broker": Aedes inside the cloud process by default; Mosquitto or EMQX
// in production). MQTT 3.1.1, gateways authenticated by id + secret against the gateways table, topic ACLs from
// the topic map, a per-address connect rate limit, a transport bound on packet size and per-route payload limits,
// optional TLS.
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { MESSAGE_NAMES, routes } from '@estate/protocols';
import { Aedes } from 'aedes';
import { type Logger, pino } from 'pino';
import type { CloudDeps } from '../core/deps.js';
import { type CloudBrokerCounters, cloudBrokerHooks, newBrokerCounters } from './broker-auth.js';
import { limitFrames } from './frame-limit.js';
import { type ConnectRate, ConnectRateLimiter } from './rate-limit.js';

export interface CloudBrokerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** PEM file paths. */
  tls?: { cert: string; key: string };
  /** Largest MQTT remaining length accepted; default: the largest gateway→cloud payload plus header slack. */
  maxPacketBytes?: number;
  /** CONNECTs per source address (IPv6: per /64); default the configured ESTATE_CLOUD_MQTT_CONNECT_RATE. */
  connectRate?: ConnectRate;
  logger?: Logger;
}

export interface CloudBroker {
  url: string;
  port: number;
  /** A snapshot of what the broker refused. */
  counters(): CloudBrokerCounters;
  close(): Promise<void>;
}

// topic (< 100 bytes on our tree), its 2-byte length and a packet id
const HEADER_SLACK = 1024;
/** A gateway→cloud payload at its route's limit (a 1 MiB telemetry batch) must pass the transport bound. */
export const DEFAULT_MAX_PACKET_BYTES =
  Math.max(...MESSAGE_NAMES.filter((n) => routes[n].direction === 'gateway→cloud').map((n) => routes[n].maxBytes)) +
  HEADER_SLACK;

export async function startCloudBroker(
  deps: Pick<CloudDeps, 'driver' | 'config'>,
  opts: CloudBrokerOptions,
): Promise<CloudBroker> {
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ module: 'cloud:broker' });
  const counters = newBrokerCounters();
  const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const limiter = new ConnectRateLimiter(opts.connectRate ?? deps.config.mqttConnectRate);
  // aedes is handed the frame-limited stream, which has no address of its own
  const addresses = new WeakMap<object, string>();
  const broker = await Aedes.createBroker({
    // estate/v1/gw/{id}/sync/<section> is the deepest topic: 6 levels
    maxTopicLevels: 8,
    // a stalled subscriber must not hold everyone else's messages
    drainTimeout: 10_000,
    connectTimeout: 10_000,
    ...cloudBrokerHooks({
      driver: deps.driver,
      serviceSecret: deps.config.mqttServiceSecret,
      counters,
      log,
      limiter,
      addressOf: (client) => addresses.get(client.conn),
    }),
  });
  // aedes emits 'error' for persistence failures; unheard, it would end the process
  (broker as EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  broker.on('clientError', (c, err) => log.debug({ clientId: c.id, err: err.message }, 'client error'));

  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    // batches and acks are small: Nagle + delayed ACK would hold each up to 40 ms
    socket.setNoDelay(true);
    const conn = limitFrames(socket, maxPacketBytes, (verdict) => {
      if (verdict === 'oversized') counters.oversizedPackets++;
      else counters.malformedPackets++;
      log.warn({ address: socket.remoteAddress, verdict, maxPacketBytes }, 'connection closed: bad MQTT packet');
    });
    if (socket.remoteAddress) addresses.set(conn, socket.remoteAddress);
    broker.handle(conn);
  };
  const server: Server = opts.tls
    ? createTlsServer(
        { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key), minVersion: 'TLSv1.2' },
        onSocket,
      )
    : createServer(onSocket);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : opts.port);
    });
  }).catch(async (err: unknown) => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  });
  server.on('error', (err) => log.error({ err }, 'broker listener error'));
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `${opts.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`;
  log.info({ url, maxPacketBytes, connectRate: limiter.rate }, 'cloud broker listening');

  return {
    url,
    port,
    counters: () => structuredClone(counters),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      // sockets that never sent CONNECT are not aedes clients; server.close would wait for them
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
