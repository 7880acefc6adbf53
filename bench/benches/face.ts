import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { FacePipeline, photosByPerson } from '@estate/models';
import { type Bench, defineBench } from '../lib/bench.js';
import { type FaceDoor, FaceEstate, type LivenessMode } from '../lib/face-estate.js';
import { FaceApiPeer, PEER_DETECTORS, type PeerDetector } from '../lib/face-peer.js';
import { enrolCast, readPhoto } from '../lib/face-people.js';
import { PhaseRss } from '../lib/face-rss.js';
import { type Approach, approaches, cameraFrames, fullGc, WalkTracker } from '../lib/face-walks.js';
import { emit, progress, sleep } from '../lib/io.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { roundMs, summarise } from '../lib/stats.js';

/** The issue asks for at least this many decisions per figure. */
const MIN_DECISIONS = 300;

const load1 = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;

const PEER_OPTIONS = {
  rounds: {
    kind: 'int',
    default: 5,
    min: 1,
    max: 1_000,
    help: 'measured passes over the photos, ours and the peer interleaved photo by photo (one more pass warms up)',
  },
  photos: {
    kind: 'choice',
    default: 'camera',
    choices: ['camera', 'all'] as const,
    help: 'camera: the frames face_to_relay sends; all: every single-face photo of a person (28)',
  },
} satisfies OptionSpecs;

const RELAY_OPTIONS = {
  gallery: {
    kind: 'int',
    default: 10_000,
    min: 10,
    max: 200_000,
    help: 'templates in the gallery: the enrolled residents, padded with random unit vectors',
  },
  n: { kind: 'int', default: 300, min: 1, max: 100_000, help: 'measured decisions' },
  warmup: { kind: 'int', default: 20, min: 0, max: 10_000, help: 'decisions first, not measured' },
  doors: {
    kind: 'int',
    default: 4,
    min: 1,
    max: 32,
    help: 'doors, each with a camera, used in turn (a resident let in is not decided again at that door for the pulse)',
  },
  gap: { kind: 'int', default: 100, min: 0, max: 60_000, help: 'pause between decisions, ms' },
  liveness: {
    kind: 'choice',
    default: 'multi-frame',
    choices: ['multi-frame', 'always-live'] as const,
    help: 'multi-frame: the shipped check, 2 frames per decision; always-live: 1 frame (model-only figure)',
  },
  'skip-peer': { kind: 'flag', help: 'do not run face_vs_faceapi afterwards' },
  'gc-after-boot': {
    kind: 'flag',
    help: 'diagnostic: force a full GC once the gateway has booted, to show the RSS it settles at',
  },
  ...PEER_OPTIONS,
} satisfies OptionSpecs;

type RelayOptions = OptionValues<typeof RELAY_OPTIONS>;
type PeerOptions = OptionValues<typeof PEER_OPTIONS>;

async function faceToRelay(o: RelayOptions): Promise<void> {
  const name = 'face_to_relay';
  if (o.n < MIN_DECISIONS) progress(`${name}: note: --n ${o.n} is below the ${MIN_DECISIONS} decisions a figure needs`);
  // the process's peak RSS is the largest of its phases' peaks: setup, gallery sync, gateway boot, decisions
  const setupRss = new PhaseRss();
  progress(`${name}: loading the face models and enrolling the residents…`);
  const pipeline = await FacePipeline.create();
  try {
    const cast = await enrolCast(pipeline);
    const walks = await approaches(pipeline, cast);
    const walkers = [...new Set(walks.map((w) => w.resident.label))];
    progress(
      `${name}: ${cast.residents.length} residents enrolled (${cast.residents.map((r) => r.label).join(', ')}); ` +
        `${walks.length} live two-frame approaches by ${walkers.join(', ')}`,
    );
    progress(`${name}: starting broker, gateway (gallery ${o.gallery}) and ${o.doors * 2} device stubs…`);
    const setupMb = setupRss.end();
    const estate = await FaceEstate.start({
      pipeline,
      residents: cast.residents,
      gallery: o.gallery,
      doors: o.doors,
      liveness: o.liveness as LivenessMode,
      progress: (m) => progress(`${name}: ${m}`),
    });
    if (o['gc-after-boot']) {
      fullGc();
      const m = process.memoryUsage();
      const mb = (b: number) => Math.round(b / 2 ** 20);
      progress(
        `${name}: after a full GC: rss ${mb(m.rss)} MB = V8 heap ${mb(m.heapTotal)} (used ${mb(m.heapUsed)}), ` +
          `array buffers ${mb(m.arrayBuffers)}, other external ${mb(m.external - m.arrayBuffers)}, native rest`,
      );
    }
    const decisionsRss = new PhaseRss();
    let decisionsMb = 0;
    const totals: number[] = [];
    const analyse: number[] = [];
    const search: number[] = [];
    const other: number[] = [];
    /** multi-frame: from the approach's first frame to the relay (two analyses and a search each) */
    const approach: number[] = [];
    let wrong = 0;
    try {
      const tracker = new WalkTracker(estate);
      const total = o.warmup + o.n;
      const every = Math.max(1, Math.round(total / 10));
      for (let i = 0; i < total; i++) {
        const door = estate.doors[i % estate.doors.length] as FaceDoor;
        const walk = walks[i % walks.length] as Approach;
        const multiFrame = o.liveness === 'multi-frame';
        const r = await tracker.walkUp(door, walk, multiFrame, `decision ${i + 1}`);
        if (!r.right) wrong++;
        if (i >= o.warmup) {
          totals.push(r.ms);
          analyse.push(r.analyseMs);
          if (multiFrame) search.push(r.firstSearchMs);
          search.push(r.searchMs);
          other.push(r.ms - r.analyseMs - r.searchMs);
          if (multiFrame) approach.push(r.approachMs);
        }
        if ((i + 1) % every === 0) progress(`${name}: ${i + 1}/${total} decisions (${o.warmup} warm-up)`);
        if (o.gap > 0) await sleep(o.gap);
      }
      if (estate.invalid.length > 0) throw new Error(`the gateway refused messages: ${estate.invalid.join('; ')}`);
      if (wrong > 0) throw new Error(`${wrong} decision(s) were not a grant to the resident who walked up`);
      if ([...totals, ...analyse, ...search].some((s) => !Number.isFinite(s))) {
        throw new Error('a decision is missing a timestamp (stub event or gateway wrapper)');
      }
    } finally {
      decisionsMb = decisionsRss.end();
      await estate.close();
    }
    const peak = Math.max(setupMb, estate.syncRssMb, estate.bootRssMb, decisionsMb);
    const common = {
      bench: name,
      gallery: o.gallery,
      liveness: o.liveness,
      ...(o['gc-after-boot'] ? { gc_after_boot: true } : {}),
    };
    emit({ ...common, doors: o.doors, ...summarise(totals), rss_mb: peak, load1: load1() });
    emit({ ...common, stage: 'analyse', ...summarise(analyse) });
    emit({ ...common, stage: 'gallery_search', ...summarise(search) });
    emit({ ...common, stage: 'mqtt_log_relay', ...summarise(other) });
    if (approach.length > 0) emit({ ...common, stage: 'first_frame_to_relay', ...summarise(approach) });
    emit({ ...common, stage: 'setup', rss_mb: setupMb });
    emit({ ...common, stage: 'gallery_sync', seconds: roundMs(estate.syncSeconds), rss_mb: estate.syncRssMb });
    emit({ ...common, stage: 'gateway_boot', seconds: roundMs(estate.bootSeconds), rss_mb: estate.bootRssMb });
    emit({ ...common, stage: 'decisions', rss_mb: decisionsMb });
    if (!o['skip-peer']) await compare(pipeline, o, o.photos === 'camera' ? cameraFrames(walks) : undefined);
  } finally {
    await pipeline.close();
  }
}

/**
 * Ours (FacePipeline.analyse: decode, detect, landmarks, align, embed) against
 * face-api (decode, detect, landmarks, descriptor) on the same photos, one
 * thread each, interleaved photo by photo so a busy moment of the machine hits
 * both alike. One line per face-api detector; ratio = their p50 ÷ our p50.
 */
async function compare(
  pipeline: FacePipeline,
  o: PeerOptions,
  cameraFrames: readonly Buffer[] | undefined,
): Promise<void> {
  const name = 'face_vs_faceapi';
  const photos = cameraFrames ?? [...photosByPerson().values()].flat().map(readPhoto);
  progress(`${name}: loading @vladmandic/face-api on tfjs-backend-wasm (weights and wasm from node_modules)…`);
  const peer = await FaceApiPeer.create();
  const { info } = peer;
  progress(
    `${name}: face-api ${info.faceapi}, tfjs ${info.tfjs}, backend ${info.backend}, SIMD ${info.simd}, ` +
      `multithread support ${info.multithread}, threads ${info.threads}`,
  );
  const ours: number[] = [];
  const theirs = new Map<PeerDetector, number[]>(PEER_DETECTORS.map((d) => [d, []]));
  const found = new Map<PeerDetector, number>(PEER_DETECTORS.map((d) => [d, 0]));
  let oursFound = 0;
  for (let round = -1; round < o.rounds; round++) {
    const measured = round >= 0;
    for (const [k, bytes] of photos.entries()) {
      // alternate who goes first, so neither always runs right after the other's allocations
      const order = (k + round) % 2 === 0;
      const runOurs = async () => {
        const started = performance.now();
        const a = await pipeline.analyse(bytes);
        const ms = performance.now() - started;
        if (measured) {
          ours.push(ms);
          if (a.ok && round === 0) oursFound++;
        }
      };
      const runTheirs = async () => {
        for (const detector of PEER_DETECTORS) {
          const r = await peer.analyse(bytes, detector);
          if (!measured) continue;
          theirs.get(detector)?.push(r.ms);
          if (r.found && round === 0) found.set(detector, (found.get(detector) ?? 0) + 1);
        }
      };
      if (order) {
        await runOurs();
        await runTheirs();
      } else {
        await runTheirs();
        await runOurs();
      }
    }
    if (measured) progress(`${name}: round ${round + 1}/${o.rounds} (${photos.length} photos)`);
  }
  progress(
    `${name}: tfjs tensors alive after the run: ${peer.tensors()} (the loaded weights; constant when nothing leaks)`,
  );
  const us = summarise(ours);
  for (const detector of PEER_DETECTORS) {
    const them = summarise(theirs.get(detector) ?? []);
    emit({
      bench: name,
      photos: o.photos,
      images: photos.length,
      detector,
      n: us.n,
      ours_p50_ms: us.p50_ms,
      ours_p95_ms: us.p95_ms,
      peer_p50_ms: them.p50_ms,
      peer_p95_ms: them.p95_ms,
      ratio: Math.round((them.p50_ms / us.p50_ms) * 10) / 10,
      ours_found: oursFound,
      peer_found: found.get(detector) ?? 0,
      ours_threads: 1,
      peer_backend: info.backend,
      peer_simd: info.simd,
      peer_threads: info.threads,
      load1: load1(),
    });
  }
}

export const faceBenches: Bench[] = [
  defineBench({
    name: 'face_to_relay',
    summary:
      'walk-through face: camera stub publishes the deciding frame -> door stub receives the unlock command, ' +
      'gallery of --gallery templates; then face_vs_faceapi on the same frames',
    options: RELAY_OPTIONS,
    run: faceToRelay,
  }),
  defineBench({
    name: 'face_vs_faceapi',
    summary:
      'per-photo time of our pipeline vs @vladmandic/face-api on tfjs-backend-wasm (decode + detect + landmarks + descriptor)',
    options: PEER_OPTIONS,
    run: async (o) => {
      const pipeline = await FacePipeline.create();
      try {
        const frames =
          o.photos === 'camera' ? cameraFrames(await approaches(pipeline, await enrolCast(pipeline))) : undefined;
        await compare(pipeline, o, frames);
      } finally {
        await pipeline.close();
      }
    },
  }),
];
