// A stand-in for the cloud side of the uplink: a broker and an ingest that stores by (gateway id, seq) and acks the
// contiguous watermark — the rule the real ingest (cloud/src/ingest) follows. The uplink's unit tests use it (it shows
// arrival order and can stop acking); the fault harness and cloud-e2e run against the real cloud.
import { type LocalBroker, startLocalBroker } from '@estate/edge';
import {
  decodeAs,
  encode,
  type GatewayEvent,
  type GatewayHealth,
  type TelemetryBatch,
  topicFor,
} from '@estate/protocols';
import mqtt from 'mqtt';

export interface StandInCloud {
  readonly url: string;
  /** events stored per gateway, by seq (survives broker restarts: it is the cloud's database) */
  stored(gatewayId: string): Map<number, GatewayEvent>;
  /** wire seqs in arrival order, per gateway */
  arrivals(gatewayId: string): number[];
  telemetry: TelemetryBatch['samples'];
  /** for each telemetry batch, how many event copies had arrived before it */
  telemetryAfter: number[];
  health: GatewayHealth[];
  stats(): { received: number; duplicates: number; connects: number };
  setAcking(on: boolean): void;
  /** destroys one client's socket (a link cut the client notices) */
  cut(clientId: string): void;
  /** the next `n` gateway CONNECTs get CONNACK 3, server unavailable (as the cloud broker answers without its db) */
  refuseConnects(n: number): void;
  close(): Promise<void>;
}

export async function aCloud(): Promise<StandInCloud> {
  const broker: LocalBroker = await startLocalBroker({ port: 0 });
  const url = broker.url;
  const stored = new Map<string, Map<number, GatewayEvent>>();
  const arrivals = new Map<string, number[]>();
  const telemetry: TelemetryBatch['samples'] = [];
  const health: GatewayHealth[] = [];
  const telemetryAfter: number[] = [];
  let received = 0;
  let duplicates = 0;
  let acking = true;
  let connects = 0;
  broker.broker.on('client', (c) => {
    if (c.id !== 'ingest') connects++;
  });
  let refusing = 0;
  const admit = broker.broker.authenticate.bind(broker.broker);
  broker.broker.authenticate = (client, username, password, done) => {
    if (client.id === 'ingest' || refusing <= 0) return admit(client, username, password, done);
    refusing--;
    done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as never, false);
  };
  const ingest = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'ingest', reconnectPeriod: 50 });
  await ingest.subscribeAsync(['estate/v1/gw/+/events', 'estate/v1/gw/+/telemetry', 'estate/v1/gw/+/health'], {
    qos: 1,
  });
  const table = <T>(m: Map<string, T>, id: string, make: () => T): T => {
    const t = m.get(id) ?? make();
    m.set(id, t);
    return t;
  };
  ingest.on('message', (topic, payload) => {
    const gatewayId = topic.split('/')[3] as string;
    if (topic.endsWith('/telemetry')) {
      const d = decodeAs('telemetryBatch', payload);
      if (d.ok) telemetry.push(...d.value.samples);
      telemetryAfter.push(received);
      return;
    }
    if (topic.endsWith('/health')) {
      const d = decodeAs('gatewayHealth', payload);
      if (d.ok) health.push(d.value);
      return;
    }
    const d = decodeAs('eventBatch', payload);
    if (!d.ok) return;
    const mine = table(stored, gatewayId, () => new Map<number, GatewayEvent>());
    const order = table(arrivals, gatewayId, () => [] as number[]);
    for (const e of d.value.events) {
      received++;
      order.push(e.seq);
      if (mine.has(e.seq)) duplicates++;
      else mine.set(e.seq, e);
    }
    let contiguous = 0;
    while (mine.has(contiguous + 1)) contiguous++;
    if (acking)
      ingest.publish(
        topicFor('eventAck', { gatewayId }),
        encode('eventAck', { ts: Date.now(), ackedSeq: contiguous }),
        { qos: 1 },
        () => {},
      );
  });
  return {
    url,
    stored: (id) => table(stored, id, () => new Map<number, GatewayEvent>()),
    arrivals: (id) => table(arrivals, id, () => [] as number[]),
    telemetry,
    telemetryAfter,
    health,
    stats: () => ({ received, duplicates, connects }),
    setAcking: (on) => {
      acking = on;
    },
    cut: (clientId) =>
      (broker.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients[
        clientId
      ]?.conn.destroy(),
    refuseConnects: (n) => {
      refusing = n;
    },
    close: async () => {
      await ingest.endAsync(true);
      await broker.close();
    },
  };
}

export const until = async (cond: () => boolean, ms = 15_000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
