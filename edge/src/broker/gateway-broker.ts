import type { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { MESSAGE_NAMES, routes } from '@estate/protocols';
import { Aedes } from 'aedes';
import { type Logger, pino } from 'pino';
import { type BrokerCounters, newCounters } from './counters.js';
import { type DeviceDirectory, FileDeviceDirectory } from './device-directory.js';
import { addressOf, securityHooks, Throttle } from './hooks.js';
import { FileInternalUsers, type InternalUsers } from './internal-users.js';
import { listenWithFallback } from './listen.js';
import { AEDES_DEFAULTS } from './local-broker.js';
import { PacketGuard } from './packet-guard.js';
import { ConnectRateLimiter, type RateLimit } from './rate-limit.js';
import { type RetainedPacket, SqliteRetainedPersistence } from './retained-store.js';

/** File paths (PEM). With requireClientCert, devices must present a certificate signed by `ca`. */
export interface GatewayTlsOptions {
  cert: string;
  key: string;
  ca?: string;
  requireClientCert?: boolean;
}

export interface GatewayBrokerOptions {
  /** Gateway data folder: retained.sqlite, and devices.json unless `devices` is given. */
  dataDir: string;
  /** Default 127.0.0.1; a gateway serving LAN devices sets its LAN address or 0.0.0.0. */
  host?: string;
  /** Default 1883, or 8883 with TLS. 0 = any free port. */
  port?: number;
  /** When the port is taken, take a free one instead of failing (for `npm start`, never for a real estate). */
  freePortFallback?: boolean;
  devices?: DeviceDirectory;
  /** Tools on the box (the self-test); default internal-users.json in dataDir. */
  internal?: InternalUsers;
  tls?: GatewayTlsOptions;
  /** Largest MQTT remaining length accepted; default DEFAULT_MAX_PACKET_BYTES. */
  maxPacketBytes?: number;
  /** Per remote address; default burst 20, 5/s. */
  connectRate?: RateLimit;
  /** Concurrent sockets, default 1000. */
  maxConnections?: number;
  logger?: Logger;
}

export interface GatewayBroker {
  readonly broker: Aedes;
  readonly port: number;
  readonly url: string;
  readonly devices: DeviceDirectory;
  /** A snapshot: refused connections by reason, ACL denials by kind, oversized, rate-limited… */
  counters(): BrokerCounters;
  /** Retained messages matching an MQTT filter: last known device state, e.g. for a feature starting up. */
  retained(filter: string): Promise<{ topic: string; payload: Buffer }[]>;
  close(): Promise<void>;
}

// Header slack over the largest payload: the variable header is a 2-byte
// length + topic (under 100 bytes on our tree) + a 2-byte packet id.
const HEADER_SLACK = 1024;

/** Largest device→gateway payload in the topic map (a 2 MiB camera frame) plus header slack. */
export const DEFAULT_MAX_PACKET_BYTES =
  Math.max(...MESSAGE_NAMES.filter((n) => routes[n].direction === 'device→gateway').map((n) => routes[n].maxBytes)) +
  HEADER_SLACK;

export const DEFAULT_CONNECT_RATE: RateLimit = { burst: 20, perSecond: 5 };

/**
 * The gateway's embedded MQTT 3.1.1 broker, hardened for an estate LAN:
 * per-device credentials, topic ACLs derived from the topic map, a transport
 * packet-size bound, a per-address connect rate limit, a connection cap,
 * retained state that survives restarts, and TLS as an option.
 */
export async function startGatewayBroker(opts: GatewayBrokerOptions): Promise<GatewayBroker> {
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ module: 'edge:broker' });
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const devices = opts.devices ?? new FileDeviceDirectory(join(opts.dataDir, 'devices.json'));
  const counters = newCounters();
  const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const limiter = new ConnectRateLimiter(opts.connectRate ?? DEFAULT_CONNECT_RATE);
  const tls = opts.tls && loadTls(opts.tls);

  const persistence = new SqliteRetainedPersistence(join(opts.dataDir, 'retained.sqlite'), (err) => {
    counters.retainedWriteErrors++;
    log.error({ err }, 'retained message not persisted (delivered, but lost on restart)');
  });
  const broker = await Aedes.createBroker({
    ...AEDES_DEFAULTS,
    persistence,
    ...securityHooks({
      devices,
      counters,
      log,
      limiter,
      internal: opts.internal ?? new FileInternalUsers(opts.dataDir),
    }),
  });
  // aedes emits 'error' for persistence failures; unheard, it would kill the process
  (broker as EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  broker.on('clientReady', (c) => log.info({ clientId: c.id, address: addressOf(c) }, 'device connected'));
  broker.on('clientDisconnect', (c) => log.info({ clientId: c.id }, 'device disconnected'));
  broker.on('clientError', (c, err) => log.debug({ clientId: c.id, err: err.message }, 'client error'));

  const onSocket = (socket: Socket) => {
    socket.setNoDelay(true); // Nagle + delayed ACK would add up to 40 ms to a door command
    const conn = new PacketGuard(socket, maxPacketBytes, (verdict) => {
      if (verdict === 'oversized') counters.oversizedPackets++;
      else counters.malformedPackets++;
      log.warn({ address: socket.remoteAddress, verdict, maxPacketBytes }, 'connection closed: bad MQTT packet header');
    });
    broker.handle(conn);
  };

  const throttle = new Throttle();
  const server: Server = tls ? createTlsServer(tls, onSocket) : createServer(onSocket);
  server.maxConnections = opts.maxConnections ?? 1000;
  // every TCP socket, including ones still in the TLS handshake or before CONNECT, so close() can end them
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('drop', (d) => {
    counters.tooManyClients++;
    if (throttle.first('drop'))
      log.warn({ address: d?.remoteAddress, max: server.maxConnections }, 'connection cap reached');
  });
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    counters.tlsHandshakeFailures++;
    const address = socket.remoteAddress;
    if (throttle.first(`tls|${address}`)) log.warn({ address, err: err.message }, 'TLS handshake failed');
  });

  const wanted = opts.port ?? (tls ? 8883 : 1883);
  let port: number;
  try {
    port = opts.freePortFallback
      ? await listenWithFallback(server, host, wanted)
      : await listenStrict(server, host, wanted);
  } catch (e) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await persistence.destroy();
    throw e;
  }
  server.on('error', (err) => log.error({ err }, 'broker listener error'));
  const url = `${tls ? 'mqtts' : 'mqtt'}://${host}:${port}`;
  log.info({ url, maxPacketBytes, tls: Boolean(tls) }, 'gateway broker listening');

  return {
    broker,
    port,
    url,
    devices,
    counters: () => structuredClone(counters),
    retained: async (filter) => {
      const out: { topic: string; payload: Buffer }[] = [];
      for await (const p of persistence.createRetainedStream(filter) as AsyncIterable<RetainedPacket>) {
        out.push({ topic: p.topic, payload: Buffer.from(p.payload) });
      }
      return out;
    },
    close: async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      // sockets that never sent CONNECT are not aedes clients; server.close would wait for them
      for (const s of sockets) s.destroy();
      await serverClosed;
      await persistence.destroy();
    },
  };
}

function loadTls(t: GatewayTlsOptions) {
  if (t.requireClientCert && !t.ca)
    throw new Error('tls.requireClientCert needs tls.ca: the CA that signs device certificates');
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`tls.${what}: cannot read ${path} (${(e as Error).message})`);
    }
  };
  return {
    cert: read('cert', t.cert),
    key: read('key', t.key),
    ...(t.ca ? { ca: read('ca', t.ca) } : {}),
    requestCert: Boolean(t.requireClientCert),
    rejectUnauthorized: Boolean(t.requireClientCert),
    minVersion: 'TLSv1.2' as const,
    handshakeTimeout: 10_000,
  };
}

function listenStrict(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
