// The real cloud side for the fault harness: the embedded cloud broker (gateway auth + ACLs) and the ingest
// subscriber storing into gateway_events, on PGlite or — with DATABASE_URL — a throwaway PostgreSQL database
// (cloud/test/ingest-helpers.ts makes it). Between the gateway and the broker sits a TCP relay, the "network":
// cutting it drops the gateway's link without the cloud's help, as a flaky uplink would.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { GatewayEvent } from '@estate/protocols';
// from the cloud's sources, as its test helpers are (vitest resolves @estate/cloud to them too): one CloudDeps type
import {
  type CloudBroker,
  type Ingest,
  type IngestCounters,
  SERVICE_USER,
  startCloudBroker,
  startIngest,
} from '../../../cloud/src/index.js';
import { aGateway, type IngestCloud, ingestCloud, type TestGateway } from '../../../cloud/test/ingest-helpers.js';

export interface FaultCloud {
  /** Where the gateway connects: the relay in front of the cloud broker. */
  readonly url: string;
  readonly gateway: TestGateway;
  /** Drops every connection through the relay (the gateway notices a dead socket). */
  cut(): void;
  /** The cloud broker and the ingest go down for `ms`; a new broker on the same port and a new ingest on the same
   * database come back. */
  restart(ms: number): Promise<void>;
  /** restart() in two steps, for an outage that lasts until something happened. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** The gateway's rows in gateway_events, by seq. */
  stored(): Promise<{ seq: number; event: GatewayEvent }[]>;
  /** Connections the relay carried to the broker; ingest counters summed over every ingest instance. */
  stats(): { connects: number; restarts: number } & Pick<IngestCounters, 'stored' | 'duplicates' | 'failures'>;
  close(): Promise<void>;
}

/** A TCP relay whose upstream port can be down: a connection then fails as a refused one would. */
async function relay(target: () => number) {
  const pairs = new Set<[Socket, Socket]>();
  let connects = 0;
  const server: Server = createServer((down) => {
    const up = tcpConnect(target(), '127.0.0.1');
    const pair: [Socket, Socket] = [down, up];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    up.once('connect', () => connects++);
    for (const s of pair) s.on('error', end).on('close', end);
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const cut = () => {
    for (const [down, up] of pairs) {
      down.destroy();
      up.destroy();
    }
  };
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    connects: () => connects,
    cut,
    close: () => {
      cut();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function aFaultCloud(): Promise<FaultCloud> {
  const c: IngestCloud = await ingestCloud();
  const gateway = await aGateway(c.deps, c.estateA);
  const creds = { username: SERVICE_USER, password: c.deps.config.mqttServiceSecret };
  let broker: CloudBroker = await startCloudBroker(c.deps, { host: '127.0.0.1', port: 0 });
  const port = broker.port;
  const up = async () => {
    const ingest = await startIngest(c.deps, { url: broker.url, ...creds });
    await ingest.ready;
    return ingest;
  };
  let ingest: Ingest = await up();
  const past = { stored: 0, duplicates: 0, failures: 0 };
  let restarts = 0;
  const net = await relay(() => port);
  const down = async () => {
    await ingest.close(); // waits for the messages in work: their counts are in the snapshot below
    const n = ingest.counters();
    past.stored += n.stored;
    past.duplicates += n.duplicates;
    past.failures += n.failures;
    await broker.close();
  };
  const back = async () => {
    broker = await startCloudBroker(c.deps, { host: '127.0.0.1', port });
    ingest = await up();
    restarts++;
  };
  return {
    url: `mqtt://127.0.0.1:${net.port}`,
    gateway,
    cut: () => net.cut(),
    down,
    up: back,
    restart: async (ms) => {
      await down();
      await new Promise((r) => setTimeout(r, ms));
      await back();
    },
    stored: async () => {
      const rows = await c.deps.driver.query<{ seq: string | number; body: GatewayEvent | string }>(
        'SELECT seq, body FROM gateway_events WHERE gateway_id = $1 ORDER BY seq',
        [gateway.id],
      );
      return rows.map((r) => ({
        seq: Number(r.seq),
        event: typeof r.body === 'string' ? (JSON.parse(r.body) as GatewayEvent) : r.body,
      }));
    },
    stats: () => {
      const n = ingest.counters();
      return {
        connects: net.connects(),
        restarts,
        stored: past.stored + n.stored,
        duplicates: past.duplicates + n.duplicates,
        failures: past.failures + n.failures,
      };
    },
    close: async () => {
      await net.close();
      await ingest.close();
      await broker.close();
      await c.close();
    },
  };
}
