// The ingest subscriber: the cloud's side of the gateway uplink. It subscribes to every gateway→cloud route (as a
// `$share/` group on brokers that offer it, so several cloud instances split the load), stores event batches exactly
// once and acknowledges the watermark, keeps gateways' online state, turns alarms into repair orders, and hands the
// rest to the other parts of the cloud (IngestHandlers). Nothing that arrives can crash it: every payload is
// validated and every failure counted.
import { randomBytes } from 'node:crypto';
import {
  type CommandAck,
  type DesiredAck,
  filterFor,
  type GatewayEvent,
  type GatewayHealth,
  type MessageName,
  type TelemetryBatch,
} from '@estate/protocols';
import mqtt from 'mqtt';
import { type Logger, pino } from 'pino';
import type { CloudDeps } from '../core/deps.js';
import { type AlarmEvent, alarmListener } from '../modules/repairs/alarms.js';
import { SERVICE_USER } from './broker-auth.js';
import { GatewayDirectory } from './gateways.js';
import { type IngestCounters, newIngestCounters, Router } from './router.js';
import { EventStore } from './store.js';

export type GatewayCommandAck = CommandAck;

/** Other parts of the cloud plug in here; each is called after the message is stored/validated, errors are logged. */
export interface IngestHandlers {
  telemetry?(gatewayId: string, batch: TelemetryBatch): unknown;
  health?(gatewayId: string, h: GatewayHealth): unknown;
  desiredAck?(gatewayId: string, a: DesiredAck): unknown;
  commandAck?(gatewayId: string, a: GatewayCommandAck): unknown;
  /** Each newly stored event (not a redelivered one). */
  event?(gatewayId: string, estateId: string, e: GatewayEvent): unknown;
}

export interface IngestOptions {
  url: string;
  username: string;
  password: string;
  /** Subscribe as the `$share/estate-ingest/` group (Mosquitto, EMQX); plain subscriptions otherwise (Aedes). */
  shared?: boolean;
  /** The `$share/` group; default SHARE_GROUP. Instances of one cloud share one group (tests use their own). */
  shareGroup?: string;
  handlers?: IngestHandlers;
  logger?: Logger;
  /** Messages stored at once (each needs a database connection); default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /** Alarm → repair order; default the repairs module's listener. */
  onAlarm?: (e: AlarmEvent) => Promise<unknown>;
}

export interface Ingest {
  readonly clientId: string;
  /** A snapshot of what was stored, refused and ignored. */
  counters(): IngestCounters;
  /** Resolves once the subscriptions are in place. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export const SHARE_GROUP = 'estate-ingest';
export const DEFAULT_CONCURRENCY = 4;

/** The gateway→cloud routes ingest listens to. */
export const INGESTED: readonly MessageName[] = [
  'eventBatch',
  'gatewayPresence',
  'gatewayHealth',
  'telemetryBatch',
  'desiredAck',
  'gatewayCommandAck',
];

export function subscriptionFilters(shared: boolean, group = SHARE_GROUP): string[] {
  return INGESTED.map((name) => (shared ? `$share/${group}/${filterFor(name)}` : filterFor(name)));
}

export async function startIngest(deps: CloudDeps, opts: IngestOptions): Promise<Ingest> {
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ module: 'cloud:ingest' });
  const counters = newIngestCounters();
  const onAlarm = opts.onAlarm ?? alarmListener(deps);
  // a service client id is never a gateway id (':' is outside the id pattern), so it cannot displace a gateway
  const clientId = `${SERVICE_USER}:${randomBytes(6).toString('hex')}`;
  const client = mqtt.connect(opts.url, {
    protocolVersion: 4, // DESIGN.md: MQTT 3.1.1 on both hops
    clientId,
    username: opts.username,
    password: opts.password,
    clean: true,
    reconnectPeriod: 1_000,
    // a refused CONNECT (credentials not made yet, the broker's auth backend restarting) is retried, not final
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
  });
  const router = new Router({
    directory: new GatewayDirectory(deps.driver),
    store: new EventStore(deps.driver),
    handlers: opts.handlers ?? {},
    onAlarm,
    counters,
    log,
    publish: (topic, payload) =>
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) log.warn({ err: err.message, topic }, 'ack not sent; the gateway resends and is acked again');
      }),
  });

  // At most `concurrency` messages in work: MQTT.js hands over the next message only when `done` is called, so
  // past that a slow database slows the broker's delivery (TCP backpressure) instead of piling messages up in
  // memory. Batches of one gateway may be stored concurrently: the watermark is computed by the database.
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const working = new Set<Promise<void>>();
  let blocked: (() => void) | undefined;
  client.handleMessage = (packet, done) => {
    const work: Promise<void> = router
      .route(packet.topic, packet.payload as Buffer, packet.retain)
      .catch((err: unknown) => {
        counters.failures++;
        log.error({ err, topic: packet.topic.slice(0, 200) }, 'ingest failed; the gateway will resend');
      })
      .finally(() => {
        working.delete(work);
        const next = blocked;
        blocked = undefined;
        next?.();
      });
    working.add(work);
    if (working.size < concurrency) done();
    else blocked = () => done();
  };

  const filters = subscriptionFilters(opts.shared ?? false, opts.shareGroup);
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  client.on('connect', () => {
    (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    client
      .subscribeAsync(filters, { qos: 1 })
      .then((granted) => {
        const refused = granted.filter((g) => g.qos === 128);
        if (refused.length) log.error({ refused: refused.map((g) => g.topic) }, 'broker refused subscriptions');
        resolveReady();
      })
      .catch((err: unknown) => log.warn({ err }, 'subscribe failed; retried on the next connect'));
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'MQTT error (reconnecting)'));

  return {
    clientId,
    counters: () => structuredClone(counters),
    ready,
    close: async () => {
      await client.endAsync(true);
      await Promise.all(working);
    },
  };
}

export type { IngestCounters };
