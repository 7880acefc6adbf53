// The embedded cloud broker's policy, over real MQTT connections: who may connect, a gateway confined to its own
// topics (publishing under another gateway's id is refused and stores nothing), the per-route and transport size
// limits — and after all of it, the broker still serves the well-behaved.
import { Socket } from 'node:net';
import { encode, topicFor } from '@estate/protocols';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudBroker, startCloudBroker } from '../src/ingest/broker.js';
import { SERVICE_USER } from '../src/ingest/broker-auth.js';
import { type Ingest, startIngest } from '../src/ingest/ingest.js';
import {
  accessEvent,
  ackListener,
  aGateway,
  asGateway,
  batchOf,
  connect,
  type IngestCloud,
  ingestCloud,
  sendBatch,
  sendRaw,
  storedSeqs,
  waitFor,
} from './ingest-helpers.js';

let c: IngestCloud;
let broker: CloudBroker;
let ingest: Ingest;
beforeAll(async () => {
  c = await ingestCloud();
  broker = await startCloudBroker(c.deps, { host: '127.0.0.1', port: 0 });
  ingest = await startIngest(c.deps, {
    url: broker.url,
    username: SERVICE_USER,
    password: c.deps.config.mqttServiceSecret,
  });
  await ingest.ready;
}, 120_000); // PGlite's migrations alone take most of a minute on a loaded 2-core machine
afterAll(async () => {
  await ingest?.close();
  await broker?.close();
  await c?.close();
});

/** The CONNACK return code of a refused connection. */
const refusal = (o: mqtt.IClientOptions) =>
  connect(broker.url, o).then(
    async (client) => {
      await client.endAsync(true);
      return 0;
    },
    (err: { code?: number }) => err.code,
  );

/** Resolves when the broker drops the connection. */
const dropped = (client: mqtt.MqttClient) => new Promise<void>((resolve) => client.stream.once('close', resolve));

describe('who may connect', () => {
  it('an active gateway with its secret, and the cloud service user; nobody else', async () => {
    const g = await aGateway(c.deps, c.estateA);
    const pending = await aGateway(c.deps, c.estateA, 'pending');
    const before = broker.counters().refused;
    expect(await refusal({ clientId: g.id, username: g.id, password: g.secret })).toBe(0);
    expect(await refusal({ clientId: g.id, username: g.id, password: 'x'.repeat(43) })).toBe(4);
    expect(await refusal({ clientId: 'gw-unknown-1', username: 'gw-unknown-1', password: g.secret })).toBe(4);
    expect(await refusal({ clientId: g.id, username: g.id })).toBe(4);
    expect(await refusal({ clientId: pending.id, username: pending.id, password: pending.secret })).toBe(5);
    // someone else's client id would take over that gateway's session
    expect(await refusal({ clientId: 'gw-other', username: g.id, password: g.secret })).toBe(2);
    const service = { username: SERVICE_USER, clientId: `${SERVICE_USER}:t` };
    expect(await refusal({ ...service, password: c.deps.config.mqttServiceSecret })).toBe(0);
    expect(await refusal({ ...service, password: g.secret })).toBe(4);
    const after = broker.counters().refused;
    expect(after.badPassword - before.badPassword).toBe(2);
    expect(after.unknownGateway - before.unknownGateway).toBe(1);
    expect(after.missingCredentials - before.missingCredentials).toBe(1);
    expect(after.notActive - before.notActive).toBe(1);
    expect(after.clientIdMismatch - before.clientIdMismatch).toBe(1);
  });

  it('refuses a Will on another gateway’s topic at connect', async () => {
    const [g, victim] = [await aGateway(c.deps, c.estateA), await aGateway(c.deps, c.estateB)];
    const will = {
      topic: topicFor('gatewayPresence', { gatewayId: victim.id }),
      payload: encode('gatewayPresence', { online: false, ts: Date.now() }),
      qos: 1 as const,
      retain: true,
    };
    expect(await refusal({ clientId: g.id, username: g.id, password: g.secret, will })).toBe(5);
  });
});

describe('a gateway stays on its own topics', () => {
  it('publishing events under another gateway’s id closes the connection and stores nothing', async () => {
    const [g, victim] = [await aGateway(c.deps, c.estateA), await aGateway(c.deps, c.estateA)];
    const client = await asGateway(broker.url, g);
    const before = broker.counters().aclDenials.publishForeign;
    const closed = dropped(client);
    // the payload says victim too: only the broker's ACL can tell this apart from the real one
    // not awaited: no PUBACK comes, the broker closes the connection instead (MQTT 3.1.1 has no negative ack)
    void sendBatch(client, victim.id, [1, 2, 3]).catch(() => undefined);
    await closed;
    expect(broker.counters().aclDenials.publishForeign - before).toBe(1);
    client.end(true);
    // the real victim still delivers, and only its own events are stored
    const real = await asGateway(broker.url, victim);
    const acks = await ackListener(real, victim.id);
    await sendBatch(real, victim.id, [1]);
    await waitFor(
      'ack',
      () => Math.max(-1, ...acks.map((a) => a.ackedSeq)),
      (s) => s === 1,
    );
    expect(await storedSeqs(c.deps, victim.id)).toEqual([1]);
    await real.endAsync();
  });

  it('may not subscribe to another gateway’s acks, nor to wildcards', async () => {
    const [g, victim] = [await aGateway(c.deps, c.estateA), await aGateway(c.deps, c.estateA)];
    const client = await asGateway(broker.url, g);
    const before = broker.counters().aclDenials;
    const granted = await client.subscribeAsync(topicFor('eventAck', { gatewayId: g.id }), { qos: 1 });
    expect(granted.map((x) => x.qos)).toEqual([1]);
    // a SUBACK of 0x80 (failure) for each; the connection stays up
    await expect(client.subscribeAsync(topicFor('eventAck', { gatewayId: victim.id }))).rejects.toThrow();
    await expect(client.subscribeAsync('estate/v1/gw/#')).rejects.toThrow();
    const after = broker.counters().aclDenials;
    // a wildcard over every gateway reaches into the others' topics: foreign too
    expect(after.subscribeForeign - before.subscribeForeign).toBe(2);
    expect(client.connected).toBe(true);
    await client.endAsync();
  });
});

describe('size limits', () => {
  it('refuses an event batch over its 512 KiB limit; nothing is stored', async () => {
    const g = await aGateway(c.deps, c.estateA);
    const client = await asGateway(broker.url, g);
    const big = { ...batchOf(g.id, [accessEvent(1)]), pad: 'x'.repeat(600 * 1024) };
    const closed = dropped(client);
    void sendRaw(client, g.id, JSON.stringify(big)).catch(() => undefined);
    await closed;
    expect(broker.counters().oversizedPayloads).toBeGreaterThan(0);
    expect(await storedSeqs(c.deps, g.id)).toEqual([]);
    client.end(true);
  });

  it('drops a connection announcing a packet over the transport limit before its body arrives', async () => {
    const before = broker.counters().oversizedPackets;
    const socket = new Socket();
    await new Promise<void>((resolve) => socket.connect(broker.port, '127.0.0.1', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // CONNECT with remaining length 0x0fffffff (256 MiB): only the five header bytes are sent
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    await closed;
    expect(broker.counters().oversizedPackets - before).toBe(1);
    // and the broker still serves everyone else
    const g = await aGateway(c.deps, c.estateA);
    const client = await asGateway(broker.url, g);
    await client.endAsync();
  });
});
