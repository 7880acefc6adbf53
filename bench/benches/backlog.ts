import { performance } from 'node:perf_hooks';
import { type EventLog, startLocalBroker, Uplink } from '@estate/edge';
import { decodeAs, encode, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { type Bench, defineBench } from '../lib/bench.js';
import { type BenchDoor, BenchEstate } from '../lib/estate.js';
import { emit, progress, sleep } from '../lib/io.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { RssSampler } from '../lib/rss.js';
import { roundMs, summarise } from '../lib/stats.js';

const OPTIONS = {
  events: { kind: 'int', default: 500_000, min: 1_000, max: 5_000_000, help: 'events in the offline backlog' },
  hours: { kind: 'int', default: 24, min: 1, max: 720, help: 'the outage the backlog spans (event timestamps)' },
  batch: { kind: 'int', default: 500, min: 10, max: 500, help: 'events per EventBatch' },
  window: { kind: 'int', default: 8, min: 1, max: 64, help: 'batches sent ahead of the cloud ack' },
  gap: { kind: 'int', default: 100, min: 0, max: 60_000, help: 'pause between measured decisions, ms' },
  baseline: { kind: 'int', default: 100, min: 0, max: 10_000, help: 'decisions measured before the drain (idle link)' },
} satisfies OptionSpecs;

type Options = OptionValues<typeof OPTIONS>;
const GATEWAY = 'gw-bench-backlog';
const DECISION_TIMEOUT_MS = 5_000;

/** Fills the log as a day offline would: committed events, 5,000 per transaction (setup, not timed). */
function fillBacklog(log: EventLog, n: number, hours: number): void {
  const start = Date.now() - hours * 3_600_000;
  const step = (hours * 3_600_000) / n;
  for (let done = 0; done < n; ) {
    const upTo = Math.min(n, done + 5_000);
    log.atomically(() => {
      for (let i = done; i < upTo; i++)
        log.append({
          ts: Math.round(start + i * step),
          priority: 'high',
          type: 'access_decision',
          doorId: 'b1-main',
          deviceId: 'reader-b1',
          method: i % 2 ? 'qr' : 'face',
          granted: i % 5 !== 0,
          reason: i % 5 !== 0 ? 'granted' : 'not_permitted',
          personId: `p-${i % 4_000}`,
          latencyMs: 40,
        });
    });
    done = upTo;
    if (done % 100_000 === 0) progress(`backlog_drain: ${done}/${n} events in the log`);
  }
}

/**
 * Stand-in for the cloud ingest (cloud/src/ingest was not on main when this bench was written): validates each
 * batch with the contract's schema, keeps which seqs it holds, acks the contiguous watermark — the real rule.
 */
async function standInCloud(events: number) {
  const broker = await startLocalBroker({ port: 0 });
  const ingest = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'ingest-bench' });
  const held = new Uint8Array(events + 100_000);
  let watermark = 0;
  let copies = 0;
  await ingest.subscribeAsync(topicFor('eventBatch', { gatewayId: GATEWAY }), { qos: 1 });
  ingest.on('message', (_topic, payload) => {
    const d = decodeAs('eventBatch', payload);
    if (!d.ok) return;
    for (const e of d.value.events) {
      copies++;
      held[e.seq] = 1;
    }
    while (held[watermark + 1]) watermark++;
    const ack = encode('eventAck', { ts: Date.now(), ackedSeq: watermark });
    ingest.publish(topicFor('eventAck', { gatewayId: GATEWAY }), ack, { qos: 1 }, () => {});
  });
  return {
    url: broker.url,
    copies: () => copies,
    close: async () => {
      await ingest.endAsync(true);
      await broker.close();
    },
  };
}

/** One visitor QR scan → the unlock command at the door stub, in ms. */
async function decide(estate: BenchEstate, d: BenchDoor, i: number): Promise<number> {
  const pass = estate.pass(`v-drain-${i}`);
  const t0 = performance.now();
  const unlocked = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no unlock within ${DECISION_TIMEOUT_MS} ms`)),
      DECISION_TIMEOUT_MS,
    );
    const on = (w: { name: string; message: unknown }) => {
      if (w.name !== 'doorCommand') return;
      clearTimeout(timer);
      d.door.off('received', on);
      resolve(performance.now());
    };
    d.door.on('received', on);
  });
  const fb = await d.reader.scanQr(pass, DECISION_TIMEOUT_MS);
  if (!fb.granted) throw new Error(`decision ${i}: refused (${fb.reason})`);
  return (await unlocked) - t0;
}

async function run(o: Options): Promise<void> {
  const rss = new RssSampler().start();
  const estate = await BenchEstate.start({ doors: 1, members: 10 });
  const door = estate.doors[0] as BenchDoor;
  const log = estate.gateway.parts.log;
  let cloud: Awaited<ReturnType<typeof standInCloud>> | undefined;
  let uplink: Uplink | undefined;
  try {
    progress(`backlog_drain: writing ${o.events} events (${o.hours} h offline) into the gateway log…`);
    fillBacklog(log, o.events, o.hours);
    let i = 0;
    const idle: number[] = [];
    for (; i < o.baseline; i++) {
      idle.push(await decide(estate, door, i));
      await sleep(o.gap);
    }
    cloud = await standInCloud(o.events);
    uplink = new Uplink({ url: cloud.url, gatewayId: GATEWAY, log, batchSize: o.batch, window: o.window });
    progress('backlog_drain: link up, draining while a door decides every gap ms…');
    const t0 = performance.now();
    await uplink.start();
    const during: number[] = [];
    let last = 0;
    while (log.ackedSeq < o.events) {
      during.push(await decide(estate, door, i++));
      if (log.ackedSeq - last >= 50_000) {
        last = log.ackedSeq;
        progress(`backlog_drain: ${last}/${o.events} acked after ${Math.round((performance.now() - t0) / 1000)} s`);
      }
      await sleep(o.gap);
    }
    const seconds = (performance.now() - t0) / 1000;
    await sleep(500); // the decisions made during the drain, on the live lane, are acked too
    const common = { bench: 'backlog_drain', events: o.events, hours: o.hours, batch: o.batch, window: o.window };
    emit({
      ...common,
      stage: 'drain',
      seconds: roundMs(seconds),
      events_per_s: Math.round(o.events / seconds),
      copies_received: cloud.copies(),
      backlog_left: log.backlog().events,
      ingest: 'stand-in',
      rss_mb: Math.round(rss.peakMb()),
    });
    if (idle.length) emit({ ...common, stage: 'qr_to_relay_idle', ...summarise(idle) });
    emit({ ...common, stage: 'qr_to_relay_during_drain', ...summarise(during) });
  } finally {
    await uplink?.stop();
    await cloud?.close();
    await estate.close();
    rss.stop();
  }
}

export const backlogBenches: readonly Bench[] = [
  defineBench({
    name: 'backlog_drain',
    summary:
      'a 24 h offline backlog (500,000 events) drained to a cloud broker + ingest, with QR decisions at a door during the drain',
    options: OPTIONS,
    run,
  }),
];
