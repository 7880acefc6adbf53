// `npm run bench -- NAME [--key value]`: runs one benchmark. stdout carries only
// its JSON result lines (DESIGN.md "Quality bars"); progress and errors go to stderr.
import type { Bench } from './lib/bench.js';
import { keepStdoutForResults, progress } from './lib/io.js';
import { describeOptions, UsageError } from './lib/options.js';

type Loader = () => Promise<readonly Bench[]>;

const relay: Loader = () => import('./benches/relay.js').then((m) => m.relayBenches);
const api: Loader = () => import('./benches/api.js').then((m) => m.apiBenches);
const face: Loader = () => import('./benches/face.js').then((m) => m.faceBenches);
const accuracy: Loader = () => import('./benches/accuracy.js').then((m) => m.accuracyBenches);
const dispatch: Loader = () => import('./benches/dispatch.js').then((m) => m.dispatchBenches);
const billing: Loader = () => import('./benches/billing.js').then((m) => m.billingBenches);
const backlog: Loader = () => import('./benches/backlog.js').then((m) => m.backlogBenches);
const sync: Loader = () => import('./benches/sync.js').then((m) => m.syncBenches);
const ingest: Loader = () => import('./benches/ingest.js').then((m) => m.ingestBenches);

/**
 * Every bench, by name, and the module it lives in. A module is imported only
 * when one of its benches runs, so one bench's dependencies (onnxruntime, the
 * cloud's database …) never count in another's rss_mb or start-up. Adding a
 * bench: export it from its module and name it here (--help warns about any
 * exported bench missing from this table).
 */
const CATALOGUE: Readonly<Record<string, Loader>> = {
  qr_to_relay: relay,
  ble_to_relay: relay,
  pin_to_relay: relay,
  api_owner_search: api,
  face_to_relay: face,
  face_vs_faceapi: face,
  accuracy,
  dispatch,
  bill_run: billing,
  payment_callback: billing,
  backlog_drain: backlog,
  gallery_sync: sync,
  ingest_events: ingest,
};

const NAMES = Object.keys(CATALOGUE);

async function usage(): Promise<string> {
  const modules = await Promise.all([...new Set(Object.values(CATALOGUE))].map((load) => load()));
  const benches = modules.flat();
  const lines = ['usage: npm run bench -- NAME [--key value …]', '', 'benches:'];
  for (const b of benches) lines.push(`  ${b.name}`, `      ${b.summary}`, ...describeOptions(b.options), '');
  for (const b of benches)
    if (!(b.name in CATALOGUE)) lines.push(`warning: ${b.name} is missing from CATALOGUE in bench/run.ts`);
  lines.push('Prints one JSON line per result on stdout; progress on stderr. See BENCHMARKS.md.');
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    progress(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(CATALOGUE, name) ? CATALOGUE[name] : undefined;
  if (!load) {
    const hint = name.startsWith('-') ? 'the bench name comes first' : `unknown bench '${name}'`;
    progress(`${hint}. Available: ${NAMES.join(', ')} (options: npm run bench -- --help)`);
    return 2;
  }
  const bench = (await load()).find((b) => b.name === name);
  if (!bench) {
    progress(`bench/run.ts names '${name}', but its module does not export it`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    progress(`${bench.name}: ${bench.summary}\n${describeOptions(bench.options).join('\n')}`);
    return 0;
  }
  keepStdoutForResults();
  try {
    await bench.main(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      progress(e.message);
      return 2;
    }
    progress(`${bench.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

// Exit explicitly: a library timer left behind must not keep a finished bench alive.
process.exit(await main(process.argv.slice(2)));
