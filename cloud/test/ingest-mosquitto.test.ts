// Ingest against a real Mosquitto (127.0.0.1:1883, anonymous, no ACLs — the broker is shared with other tests, so
// gateway ids and the $share group are unique per run). Two cloud ingest instances in one $share group split one
// gateway's stream, and every event is still stored exactly once with the watermark at the end. Without a broker
// ACL, the ingest's own checks are what stand: a payload naming another gateway, an unknown gateway, an oversized
// batch are ignored.
//
// Where Mosquitto is not running these tests are skipped — visibly — except under CI (.ci/run starts it), where a
// missing broker must fail them rather than let them pass unrun.
import { randomBytes } from 'node:crypto';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ingest, startIngest } from '../src/ingest/ingest.js';
import {
  accessEvent,
  ackListener,
  aGateway,
  batchOf,
  connect,
  type IngestCloud,
  ingestCloud,
  MOSQUITTO_URL,
  reachable,
  sendBatch,
  sendRaw,
  seqs,
  storedSeqs,
  waitFor,
  watermark,
} from './ingest-helpers.js';

const up = await reachable(1883);
const required = process.env.CI === 'true';

describe.runIf(up || required)('ingest on Mosquitto with $share', () => {
  let c: IngestCloud;
  const instances: Ingest[] = [];
  let publisher: mqtt.MqttClient;
  const group = `estate-ingest-t${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    c = await ingestCloud();
    for (let i = 0; i < 2; i++) {
      // Mosquitto here allows anonymous clients: the credentials are those a production broker would check
      const ingest = await startIngest(c.deps, {
        url: MOSQUITTO_URL,
        username: 'estate-cloud',
        password: c.deps.config.mqttServiceSecret,
        shared: true,
        shareGroup: group,
      });
      instances.push(ingest);
      await ingest.ready;
    }
    publisher = await connect(MOSQUITTO_URL, { clientId: `gw-pub-${randomBytes(4).toString('hex')}` });
  }, 120_000);
  afterAll(async () => {
    await publisher?.endAsync(true);
    for (const i of instances) await i.close();
    await c?.close();
  });

  it('two instances split one stream; every event stored exactly once, duplicates and reordering included', async () => {
    const g = await aGateway(c.deps, c.estateA);
    const acks = await ackListener(publisher, g.id);
    const BATCHES = 40;
    const SIZE = 25;
    const order = Array.from({ length: BATCHES }, (_, i) => i);
    // out of order: pairs swapped, and every fifth batch sent twice
    for (let i = 0; i + 1 < order.length; i += 2)
      [order[i], order[i + 1]] = [order[i + 1] as number, order[i] as number];
    const sends = order.flatMap((b) => (b % 5 === 0 ? [b, b] : [b]));
    for (const b of sends) await sendBatch(publisher, g.id, seqs(b * SIZE + 1, (b + 1) * SIZE));
    const total = BATCHES * SIZE;
    await waitFor(
      'watermark at the end',
      () => watermark(c.deps, g.id),
      (w) => w === total,
      20_000,
    );
    await waitFor(
      'final ack',
      () => Math.max(-1, ...acks.map((a) => a.ackedSeq)),
      (s) => s === total,
    );
    expect(await storedSeqs(c.deps, g.id)).toEqual(seqs(1, total));
    const split = instances.map((i) => i.counters().batches);
    expect(split.every((n) => n > 0)).toBe(true);
    expect(split.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(sends.length);
    const stored = instances.reduce((a, i) => a + i.counters().stored, 0);
    expect(stored).toBe(total);
  }, 60_000);

  it('without a broker ACL: a payload naming another gateway, an unknown gateway and an oversized batch store nothing', async () => {
    const [g, victim] = [await aGateway(c.deps, c.estateA), await aGateway(c.deps, c.estateA)];
    const sum = (k: 'gatewayMismatch' | 'unknownGateway') => instances.reduce((a, i) => a + i.counters()[k], 0);
    const tooLarge = () => instances.reduce((a, i) => a + (i.counters().malformed.TOO_LARGE ?? 0), 0);
    const before = { mismatch: sum('gatewayMismatch'), unknown: sum('unknownGateway'), large: tooLarge() };
    await sendBatch(publisher, victim.id, [1, 2], g.id); // on g's topic, claiming to be victim
    await sendBatch(publisher, `gw-nobody-${randomBytes(3).toString('hex')}`, [1]);
    const big = { ...batchOf(g.id, [accessEvent(1)]), pad: 'x'.repeat(600 * 1024) };
    await sendRaw(publisher, g.id, JSON.stringify(big));
    await waitFor(
      'all three counted',
      () => [
        sum('gatewayMismatch') - before.mismatch,
        sum('unknownGateway') - before.unknown,
        tooLarge() - before.large,
      ],
      (d) => d.every((n) => n >= 1),
    );
    expect(await storedSeqs(c.deps, g.id)).toEqual([]);
    expect(await storedSeqs(c.deps, victim.id)).toEqual([]);
  });
});
