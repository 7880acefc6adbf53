import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_DRAIN_RATE, type EventLog, Uplink } from '@estate/edge';
import { FacePipeline } from '@estate/models';
import { type BacklogCloud, childCloud, inlineCloud } from '../lib/backlog-cloud.js';
import { type Bench, defineBench } from '../lib/bench.js';
import { type BenchDoor, BenchEstate } from '../lib/estate.js';
import { type FaceDoor, FaceEstate } from '../lib/face-estate.js';
import { enrolCast } from '../lib/face-people.js';
import { type Approach, approaches, WalkTracker } from '../lib/face-walks.js';
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
  decide: {
    kind: 'choice',
    default: 'face',
    choices: ['face', 'qr'],
    help: "the decisions timed during the drain: face walk-ups (two camera frames, the issue's measure) or visitor QR scans",
  },
  gallery: {
    kind: 'int',
    default: 10_000,
    min: 10,
    max: 200_000,
    help: 'face templates in the gallery (--decide face)',
  },
  'drain-rate': {
    kind: 'int',
    default: DEFAULT_DRAIN_RATE,
    min: 0,
    max: 1_000_000,
    help: "the uplink's backlog pace, events/s (its default; 0 = as fast as the cloud acks, as before)",
  },
  'no-yield': {
    kind: 'flag',
    help: 'the uplink does not hold the backlog while a face is being decided (as before the busy hook)',
  },
  cloud: {
    kind: 'choice',
    default: 'process',
    choices: ['process', 'inline'],
    help: 'cloud broker + ingest in a child process (as on a real estate: another machine) or in the gateway process',
  },
  'database-url': {
    kind: 'text',
    default: '',
    pattern: /^postgres(ql)?:\/\//,
    help: 'PostgreSQL server (else DATABASE_URL, else the local one); the bench works in a throwaway database on it',
  },
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

/** One visitor QR scan → the unlock command at the door stub, in ms. */
async function scanQr(estate: BenchEstate, d: BenchDoor, i: number): Promise<number> {
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

/** The gateway whose log is drained, and one timed decision at its doors. */
interface Decider {
  log: EventLog;
  /** what the gateway's cloud connection passes the uplink as `busy` (connectToCloud): a face being decided */
  busy?: () => boolean;
  decide(i: number): Promise<number>;
  close(): Promise<void>;
}

async function qrDecider(): Promise<Decider> {
  const estate = await BenchEstate.start({ doors: 1, members: 10 });
  const door = estate.doors[0] as BenchDoor;
  return { log: estate.gateway.parts.log, decide: (i) => scanQr(estate, door, i), close: () => estate.close() };
}

/** As face_to_relay: enrolled residents among `gallery` templates, multi-frame liveness, doors used in turn. */
async function faceDecider(gallery: number, yieldToDecisions: boolean): Promise<Decider> {
  progress('backlog_drain: loading the face models, enrolling the residents, syncing the gallery…');
  const pipeline = await FacePipeline.create();
  try {
    const cast = await enrolCast(pipeline);
    const walks = await approaches(pipeline, cast);
    const estate = await FaceEstate.start({
      pipeline,
      residents: cast.residents,
      gallery,
      doors: 2,
      liveness: 'multi-frame',
    });
    const tracker = new WalkTracker(estate);
    const faces = estate.gateway.parts.faces;
    return {
      log: estate.gateway.parts.log,
      ...(faces && yieldToDecisions ? { busy: () => faces.pending > 0 } : {}),
      decide: async (i) => {
        const door = estate.doors[i % estate.doors.length] as FaceDoor;
        const r = await tracker.walkUp(door, walks[i % walks.length] as Approach, true, `decision ${i}`);
        if (!r.right) throw new Error(`decision ${i}: not a grant to the resident who walked up`);
        return r.ms;
      },
      close: async () => {
        await estate.close();
        await pipeline.close();
      },
    };
  } catch (e) {
    await pipeline.close();
    throw e;
  }
}

async function run(o: Options): Promise<void> {
  const rss = new RssSampler().start();
  const decider = o.decide === 'face' ? await faceDecider(o.gallery, !o['no-yield']) : await qrDecider();
  const { log } = decider;
  let cloud: BacklogCloud | undefined;
  let uplink: Uplink | undefined;
  try {
    progress(`backlog_drain: writing ${o.events} events (${o.hours} h offline) into the gateway log…`);
    fillBacklog(log, o.events, o.hours);
    let i = 0;
    const idle: number[] = [];
    for (; i < o.baseline; i++) {
      idle.push(await decider.decide(i));
      await sleep(o.gap);
    }
    cloud = await (o.cloud === 'inline' ? inlineCloud : childCloud)(o['database-url'] || undefined, GATEWAY);
    uplink = new Uplink({
      url: cloud.url,
      gatewayId: GATEWAY,
      username: GATEWAY,
      password: cloud.secret,
      log,
      ...(decider.busy ? { busy: decider.busy } : {}),
      drainRate: o['drain-rate'],
      batchSize: o.batch,
      window: o.window,
    });
    progress('backlog_drain: link up, draining while a door decides every gap ms…');
    const t0 = performance.now();
    await uplink.start();
    const during: number[] = [];
    let last = 0;
    while (log.ackedSeq < o.events) {
      during.push(await decider.decide(i++));
      if (log.ackedSeq - last >= 50_000) {
        last = log.ackedSeq;
        progress(`backlog_drain: ${last}/${o.events} acked after ${Math.round((performance.now() - t0) / 1000)} s`);
      }
      await sleep(o.gap);
    }
    const seconds = (performance.now() - t0) / 1000;
    // the decisions made during the drain (and the door's own events after them) are acked too
    await sleep(1_000);
    for (let t = 0; t < 100 && log.ackedSeq < log.lastSeq; t++) await sleep(100);
    const acked = log.ackedSeq;
    const stored = await cloud.stored();
    // an ack means stored: every seq up to it is in gateway_events, once (the key), with none missing below it
    if (stored.rows < acked || !stored.gapFree)
      throw new Error(`gateway_events holds ${stored.rows} rows (gap-free: ${stored.gapFree}), the log acked ${acked}`);
    const counters = await cloud.counters();
    const common = {
      bench: 'backlog_drain',
      events: o.events,
      hours: o.hours,
      batch: o.batch,
      window: o.window,
      cloud: o.cloud,
      drain_rate: o['drain-rate'],
      decide: o.decide,
      ...(o.decide === 'face' ? { yield_to_decisions: !o['no-yield'] } : {}),
      ...(o.decide === 'face' ? { gallery: o.gallery } : {}),
    };
    emit({
      ...common,
      stage: 'drain',
      seconds: roundMs(seconds),
      events_per_s: Math.round(o.events / seconds),
      stored: stored.rows,
      acked,
      copies_received: counters.stored + counters.duplicates,
      rejected: counters.rejected,
      backlog_left: log.backlog().events,
      ingest: `cloud/src/ingest + embedded broker, PostgreSQL (${o.cloud === 'inline' ? 'in the gateway process' : 'own process'})`,
      rss_mb: Math.round(rss.peakMb()),
      // other agents share the 2 cores: the 1-minute load average at the end of the drain, to read the figure by
      load_avg: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    });
    if (idle.length) emit({ ...common, stage: `${o.decide}_to_relay_idle`, ...summarise(idle) });
    emit({ ...common, stage: `${o.decide}_to_relay_during_drain`, ...summarise(during) });
  } finally {
    await uplink?.stop();
    await cloud?.close();
    await decider.close();
    rss.stop();
  }
}

export const backlogBenches: readonly Bench[] = [
  defineBench({
    name: 'backlog_drain',
    summary:
      'a 24 h offline backlog (500,000 events) drained into the cloud ingest on PostgreSQL through the embedded cloud broker (own process by default), with face (or QR) decisions at the doors during the drain',
    options: OPTIONS,
    run,
  }),
];
