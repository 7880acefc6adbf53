import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { apiSession, generateDemo, type RunningCloud, readMigrations, startCloud } from '@estate/cloud';
import {
  type BenchServer,
  markSeeded,
  prepareBenchDatabase,
  release,
  resolveServer,
  seedMarker,
} from '../lib/api-db.js';
import { startHello } from '../lib/api-hello.js';
import { type CpuShares, cpuAccount } from '../lib/api-host.js';
import { type LoadResult, type LoadSpec, PLACEMENTS, type Placement, startLoad } from '../lib/api-load.js';
import { queryMix, SEED } from '../lib/api-queries.js';
import type { Bench } from '../lib/bench.js';
import { emit, progress, type ResultLine } from '../lib/io.js';
import { type OptionSpecs, type OptionValues, parseOptions, UsageError } from '../lib/options.js';
import { RssSampler } from '../lib/rss.js';

const NAME = 'api_owner_search';

const OPTIONS = {
  rate: { kind: 'int', default: 500, min: 1, max: 100_000, help: 'requests per second of the fixed-rate phase' },
  seconds: { kind: 'int', default: 15, min: 1, max: 3_600, help: 'seconds of each measured phase' },
  warmup: { kind: 'int', default: 5, min: 0, max: 600, help: 'seconds of unmeasured load per route first' },
  connections: {
    kind: 'int',
    default: 64,
    min: 1,
    max: 1_000,
    help: 'keep-alive connections at saturation (and the most the fixed-rate phase may open)',
  },
  loadgen: {
    kind: 'choice',
    default: 'child',
    choices: PLACEMENTS,
    help: 'where the load generator runs: a child process, a worker thread, or the server thread itself',
  },
  pacer: {
    kind: 'choice',
    default: 'steady',
    choices: ['steady', 'autocannon'] as const,
    help: "fixed-rate phase: requests started on schedule, or autocannon's overallRate (bursty; see BENCHMARKS.md)",
  },
  log: {
    kind: 'choice',
    default: 'info',
    choices: ['info', 'silent'] as const,
    help: "the cloud's request log: as configured by default (info, written to /dev/null) or off",
  },
  breakdown: {
    kind: 'flag',
    help: "also saturate the cloud's /health (its plugins alone) and /api/auth/me (authentication alone)",
  },
  fresh: { kind: 'flag', help: `drop and reseed the bench database even when it holds the seed already` },
  'compare-loadgen': {
    kind: 'flag',
    help: 'instead of the phases: hello-world and owner-search saturation with the load generator in each place',
  },
} satisfies OptionSpecs;
type Options = OptionValues<typeof OPTIONS>;

/** Shown by --help; parsed apart, because the option parser knows numbers, choices and flags only. */
const DATABASE_URL_HELP = {
  'database-url': {
    kind: 'flag',
    help: 'URL (postgres://…) of the server to use; default $DATABASE_URL, else the local one from cloud/scripts/ci-postgres.sh. The bench works in its own database estate_bench_api there, seeded once and reused',
  },
} satisfies OptionSpecs;

/** The cloud's per-IP limit (600/min by default) would refuse almost all of the load: raised for the bench. */
const RATE_LIMIT_PER_MIN = 1_000_000_000;
const STAFF_LOGIN = 'staff.e01';
const SEARCH_MIX = 2_000;

// Fixed secrets for the bench database only, so a reused database still opens its sealed fields and blind
// indexes without any file kept between runs. Never used outside this bench.
const BENCH_SECRETS = {
  ESTATE_CLOUD_JWT_SECRET: 'estate-bench-api-owner-search-jwt-secret-not-for-use',
  ESTATE_CLOUD_DATA_KEYS: `bench1:${Buffer.alloc(32, 0x42).toString('base64')}`,
  ESTATE_CLOUD_BLIND_INDEX_KEY: 'estate-bench-api-owner-search-blind-index-not-for-use',
  ESTATE_CLOUD_MQTT_SERVICE_SECRET: 'estate-bench-api-owner-search-mqtt-service-not-for-use',
};

type Route = 'owner_search' | 'household_detail' | 'hello' | 'cloud_health' | 'auth_me';

interface Target {
  route: Route;
  origin: string;
  paths: readonly string[];
  headers: Record<string, string>;
}

function takeDatabaseUrl(argv: readonly string[]): { url: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--database-url') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new UsageError(`${NAME}: --database-url needs a value (postgres://…)`);
      url = value;
      i++;
    } else if (arg.startsWith('--database-url=')) url = arg.slice('--database-url='.length);
    else rest.push(arg);
  }
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url))
    throw new UsageError(`${NAME}: --database-url must be a postgres:// URL, got '${url}'`);
  return { url, rest };
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The cloud on the bench database, seeded on first use; returns it with a staff access token of estate E01. */
async function cloudOnBenchDatabase(
  server: BenchServer,
  marker: string,
  o: Options,
  dataDir: string,
): Promise<{ cloud: RunningCloud; token: string }> {
  const prepared = await prepareBenchDatabase(server, marker, o.fresh);
  progress(
    prepared === 'reuse'
      ? `${NAME}: reusing database estate_bench_api (seeded by an earlier run: its COMMENT matches this seed)`
      : `${NAME}: seeding database estate_bench_api with ${SEED.households} households in ${SEED.estates} estates (once; later runs reuse it)…`,
  );
  const t0 = performance.now();
  const cloud = await startCloud({
    overrides: {
      NODE_ENV: 'production',
      DATABASE_URL: server.benchUrl,
      ESTATE_CLOUD_HOST: '127.0.0.1',
      ESTATE_CLOUD_PORT: '0',
      ESTATE_CLOUD_DATA_DIR: dataDir,
      ESTATE_CLOUD_LOG_LEVEL: o.log,
      ESTATE_CLOUD_RATE_LIMIT: String(RATE_LIMIT_PER_MIN),
      // one login serves the whole run, however long --seconds makes it
      ESTATE_CLOUD_ACCESS_TTL_S: String(24 * 3600),
      ...BENCH_SECRETS,
    },
    seed: prepared === 'seed' ? { ...SEED } : false,
    // The cloud's own logger settings (app.ts), written to /dev/null: stdout carries only results.
    logger:
      o.log === 'info'
        ? { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'], file: '/dev/null' }
        : false,
  });
  try {
    if (prepared === 'seed') {
      await markSeeded(server, marker);
      progress(`${NAME}: seeded in ${round((performance.now() - t0) / 1000)} s`);
    }
    const households = await cloud.deps.prisma.household.count();
    if (households < SEED.households) throw new Error(`the bench database holds ${households} households; try --fresh`);
    // A known password for the demo staff account of E01, whichever run created it.
    const password = `bench-${Date.now()}`;
    await cloud.deps.prisma.account.update({
      where: { login: STAFF_LOGIN },
      data: { passwordHash: await cloud.deps.passwords.hash(password) },
    });
    return { cloud, token: (await apiSession(cloud.url, STAFF_LOGIN, password)).token };
  } catch (e) {
    await cloud.close();
    throw e;
  }
}

/**
 * Asks every search once, one after the other, checking each answer: a warm-up that also tells how many of
 * the questions find someone.
 */
async function checkSearches(origin: string, paths: readonly string[], headers: Record<string, string>) {
  let hits = 0;
  for (const path of paths) {
    const page = await json<{ items: unknown[] }>(await fetch(`${origin}${path}`, { headers }), `GET ${path}`);
    if (page.items.length > 0) hits++;
  }
  return hits / paths.length;
}

async function checkHouseholds(origin: string, paths: readonly string[], headers: Record<string, string>) {
  for (const path of paths.slice(0, 20)) {
    const h = await json<{ id: string; members: unknown[] }>(
      await fetch(`${origin}${path}`, { headers }),
      `GET ${path}`,
    );
    if (!path.endsWith(h.id) || h.members.length === 0) throw new Error(`GET ${path}: unexpected answer`);
  }
}

interface Measured {
  result: LoadResult;
  serverElu: number;
  cpu: CpuShares | undefined;
}

async function measure(t: Target, o: Options, where: Placement, rate?: number, seconds = o.seconds): Promise<Measured> {
  const spec: LoadSpec = {
    origin: t.origin,
    paths: t.paths,
    headers: t.headers,
    seconds,
    connections: o.connections,
    ...(rate !== undefined ? { rate: { perSecond: rate, pacer: o.pacer } } : {}),
  };
  const elu = performance.eventLoopUtilization();
  const cpu = cpuAccount();
  const result = await startLoad(spec, where);
  return {
    result,
    serverElu: round(performance.eventLoopUtilization(elu).utilization, 2),
    cpu: cpu(where === 'child' ? result.processCpuMs : undefined),
  };
}

/** Every answer must have been a 2xx: a figure made of refusals or errors would mean nothing. */
function failures(r: LoadResult): string | undefined {
  const other = Object.entries(r.other);
  if (other.length === 0 && r.errors === 0) return undefined;
  const codes = other.map(([code, n]) => `${n}× HTTP ${code}`);
  if (r.errors > 0) codes.push(`${r.errors} connection errors/timeouts`);
  return codes.join(', ');
}

function line(
  t: Target,
  phase: 'rate' | 'saturation',
  m: Measured,
  extra: Record<string, string | number>,
): ResultLine {
  const r = m.result;
  const lat = r.latency;
  const problems = failures(r);
  return {
    bench: NAME,
    route: t.route,
    phase,
    ...extra,
    req_per_s: round(r.ok / r.seconds),
    n: r.ok,
    ...(lat ? { p50_ms: lat.p50_ms, p95_ms: lat.p95_ms, p99_ms: lat.p99_ms, max_ms: lat.max_ms } : {}),
    ...(problems ? { failed: problems } : {}),
    server_elu: m.serverElu,
    loader_elu: r.loaderElu,
    ...m.cpu,
  };
}

/** What the run needs of the demo data, computed from the generator and then let go (it is large). */
function plan() {
  const estates = generateDemo({ ...SEED });
  const estate = estates[0];
  if (!estate) throw new Error('the generator made no estate');
  // The seed's ids and the migrations' checksums: a changed generator or schema means seeding again.
  const marker = seedMarker(SEED, [
    ...estates.flatMap((e) => e.households.map((h) => h.id)),
    ...readMigrations().map((m) => `${m.name}:${m.checksum}`),
  ]);
  return { marker, code: estate.code, mix: queryMix(estate, SEARCH_MIX) };
}

async function run(o: Options, databaseUrl: string | undefined): Promise<void> {
  const rss = new RssSampler().start();
  const { marker, code, mix } = plan();
  const server = resolveServer(databaseUrl);
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-bench-api-'));
  let cloud: RunningCloud | undefined;
  let hello: Awaited<ReturnType<typeof startHello>> | undefined;
  const problems: string[] = [];
  try {
    const started = await cloudOnBenchDatabase(server, marker, o, dataDir);
    cloud = started.cloud;
    hello = await startHello();
    const auth = { authorization: `Bearer ${started.token}` };
    const search: Target = { route: 'owner_search', origin: cloud.url, paths: mix.search, headers: auth };
    const detail: Target = { route: 'household_detail', origin: cloud.url, paths: mix.household, headers: auth };
    const peer: Target = { route: 'hello', origin: hello.origin, paths: ['/'], headers: {} };
    progress(
      `${NAME}: ${mix.search.length} searches (${Object.entries(mix.kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}), ${mix.household.length} households of ${code}, as ${STAFF_LOGIN}; ` +
        `rate limit raised to ${RATE_LIMIT_PER_MIN}/min per IP for the bench; log ${o.log}; load generator: ${o.loadgen}`,
    );
    await checkHouseholds(cloud.url, mix.household, auth);
    const hitShare = round(await checkSearches(cloud.url, mix.search, auth), 2);
    progress(`${NAME}: every search answered; ${Math.round(hitShare * 100)} % of them find someone`);

    const report = (t: Target, phase: 'rate' | 'saturation', m: Measured, extra: Record<string, string | number>) => {
      const l: ResultLine = { ...line(t, phase, m, extra), rss_mb: rss.peakMb() };
      emit(l);
      if (typeof l.failed === 'string') problems.push(`${t.route} ${phase}: ${l.failed}`);
      return l;
    };
    const warm = async (targets: Target[], where: Placement) => {
      if (o.warmup === 0) return;
      for (const t of targets) {
        progress(`${NAME}: warm-up ${t.route}, ${o.warmup} s at saturation`);
        await measure(t, o, where, undefined, o.warmup);
      }
    };
    const saturate = async (t: Target, where: Placement, peerRate?: number) => {
      progress(`${NAME}: ${t.route} at saturation, load generator: ${where}, ${o.seconds} s`);
      const m = await measure(t, o, where);
      const rate = m.result.ok / m.result.seconds;
      const versus: Record<string, string | number> =
        peerRate === undefined
          ? {}
          : { peer: 'fastify_hello', peer_req_per_s: peerRate, ratio: round(rate / peerRate, 3) };
      return report(t, 'saturation', m, { connections: o.connections, loadgen: where, ...versus });
    };

    if (o['compare-loadgen']) {
      for (const where of PLACEMENTS) {
        await warm([peer, search], where);
        for (const t of [peer, search]) await saturate(t, where);
      }
      return;
    }

    await warm([peer, search, detail], o.loadgen);
    for (const t of [search, detail]) {
      progress(`${NAME}: ${t.route} at ${o.rate} req/s (${o.pacer}), ${o.seconds} s`);
      report(t, 'rate', await measure(t, o, o.loadgen, o.rate), {
        target_req_per_s: o.rate,
        pacer: o.pacer,
        connections: o.connections,
        loadgen: o.loadgen,
        ...(t === search ? { hit_share: hitShare } : {}),
      });
    }
    const peerRate = Number((await saturate(peer, o.loadgen)).req_per_s);
    if (o.breakdown) {
      // The same server without the DB route's own work: its plugin stack alone (/health: helmet, request log,
      // request id; no authentication, no rate limit), then authentication alone (/api/auth/me: JWT + session).
      await saturate(
        { route: 'cloud_health', origin: cloud.url, paths: ['/health'], headers: {} },
        o.loadgen,
        peerRate,
      );
      await saturate(
        { route: 'auth_me', origin: cloud.url, paths: ['/api/auth/me'], headers: auth },
        o.loadgen,
        peerRate,
      );
    }
    for (const t of [search, detail]) await saturate(t, o.loadgen, peerRate);
  } finally {
    await hello?.app.close();
    await cloud?.close();
    await release(server).catch((e: unknown) => progress(`${NAME}: could not drop ${server.throwaway}: ${String(e)}`));
    rmSync(dataDir, { recursive: true, force: true });
    rss.stop();
  }
  if (problems.length > 0) throw new Error(`answers that were not 2xx: ${problems.join('; ')}`);
}

export const apiBenches: Bench[] = [
  {
    name: NAME,
    summary:
      'cloud API on PostgreSQL with 8,000 households, as staff: owner search and household detail at a fixed rate (p50/p95/p99) and at saturation (req/s), against a Fastify hello-world (ratio)',
    options: { ...DATABASE_URL_HELP, ...OPTIONS },
    main: async (argv) => {
      const { url, rest } = takeDatabaseUrl(argv);
      await run(parseOptions(NAME, OPTIONS, rest), url);
    },
  },
];
