import { performance } from 'node:perf_hooks';
import { cpuAccount } from '../lib/api-host.js';
import { type LoadResult, PLACEMENTS, type Post, startLoad } from '../lib/api-load.js';
import type { Bench } from '../lib/bench.js';
import {
  type BillingCloud,
  DATABASE_URL_OPTION,
  postJson,
  startBillingCloud,
  takeDatabaseUrl,
} from '../lib/billing-cloud.js';
import { PERIOD, seedEstate, seedOrders } from '../lib/billing-seed.js';
import { checkCredits } from '../lib/billing-verify.js';
import { wechatPlatform } from '../lib/billing-wechat.js';
import { emit, progress } from '../lib/io.js';
import { type OptionSpecs, parseOptions } from '../lib/options.js';
import { RssSampler } from '../lib/rss.js';

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const since = (t0: number) => (performance.now() - t0) / 1000;

interface RunAnswer {
  billsCreated: number;
  totalFen: number;
  householdsConsidered: number;
}

const PGLITE = { pglite: { kind: 'flag', help: 'embedded PGlite in the data folder instead of PostgreSQL' } } as const;

/** Runs the PERIOD bill run through the API route (the service function behind it) and times it. */
async function billRun(c: BillingCloud, estateId: string): Promise<RunAnswer & { seconds: number }> {
  const t0 = performance.now();
  const r = await postJson<RunAnswer>(c, `/api/billing/estates/${estateId}/runs`, { period: PERIOD });
  return { ...r, seconds: since(t0) };
}

/** Starts the cloud, runs `body`, closes the cloud and drops its database whatever happens. */
async function withCloud<T>(
  name: string,
  how: Parameters<typeof startBillingCloud>[1],
  body: (c: BillingCloud, rss: RssSampler) => Promise<T>,
): Promise<T> {
  const rss = new RssSampler().start();
  const c = await startBillingCloud(name, how);
  try {
    return await body(c, rss);
  } finally {
    await c.close();
    rss.stop();
  }
}

// — bill_run —

const BILL_RUN_OPTIONS = {
  households: { kind: 'int', default: 100_000, min: 10, max: 1_000_000, help: 'households in the estate' },
  ...PGLITE,
} satisfies OptionSpecs;

async function benchBillRun(argv: readonly string[]): Promise<void> {
  const name = 'bill_run';
  const { url, rest } = takeDatabaseUrl(name, argv);
  const o = parseOptions(name, BILL_RUN_OPTIONS, rest);
  const problems = await withCloud(name, { databaseUrl: url, pglite: o.pglite }, async (c, rss) => {
    progress(`${name}: seeding ${o.households} households in bulk SQL (not timed)…`);
    const t0 = performance.now();
    const estate = await seedEstate(c.cloud, 'BENCH-BILL', o.households);
    const seedSeconds = since(t0);
    progress(
      `${name}: seeded in ${round(seedSeconds)} s; bill run ${PERIOD} through POST /api/billing/estates/:id/runs…`,
    );
    const cpu = cpuAccount();
    const first = await billRun(c, estate.estateId);
    const shares = cpu(undefined);
    progress(`${name}: ${first.billsCreated} bills in ${round(first.seconds, 2)} s; running it again…`);
    const second = await billRun(c, estate.estateId);
    const [counts] = await c.cloud.deps.prisma.$queryRawUnsafe<{ bills: bigint; items: bigint; events: bigint }[]>(
      `SELECT (SELECT count(*) FROM bills WHERE estate_id = $1::uuid AND period = $2) AS bills,
              (SELECT count(*) FROM bill_items i JOIN bills b ON b.id = i.bill_id WHERE b.estate_id = $1::uuid) AS items,
              (SELECT count(*) FROM outbox_events WHERE topic = 'bill.issued') AS events`,
      estate.estateId,
      PERIOD,
    );
    const bills = Number(counts?.bills);
    const problems: string[] = [];
    if (first.billsCreated !== estate.billable || bills !== estate.billable)
      problems.push(
        `expected ${estate.billable} bills, the run reported ${first.billsCreated}, the database holds ${bills}`,
      );
    if (second.billsCreated !== 0) problems.push(`the second run created ${second.billsCreated} bills`);
    emit({
      bench: name,
      households: o.households,
      store: c.store,
      seconds: round(first.seconds, 2),
      bills_per_s: Math.round(first.billsCreated / first.seconds),
      bills_created: first.billsCreated,
      bill_items: Number(counts?.items),
      outbox_events: Number(counts?.events),
      total_yuan: Math.round(first.totalFen / 100),
      second_run_seconds: round(second.seconds, 2),
      second_run_bills_created: second.billsCreated,
      seed_seconds: round(seedSeconds),
      rss_mb: rss.peakMb(),
      ...shares,
      ...(problems.length ? { failed: problems.join('; ') } : {}),
    });
    return problems;
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
}

// — payment_callback —

const CALLBACK_OPTIONS = {
  rate: {
    kind: 'int',
    default: 200,
    min: 1,
    max: 5_000,
    help: 'notifications per second (open loop, fixed arrival rate)',
  },
  seconds: { kind: 'int', default: 30, min: 1, max: 240, help: 'seconds of the measured phase' },
  warmup: { kind: 'int', default: 5, min: 0, max: 30, help: 'seconds of unmeasured notifications first' },
  'duplicate-pct': {
    kind: 'int',
    default: 5,
    min: 0,
    max: 50,
    help: 'share of the sends that repeat an earlier one, %',
  },
  connections: { kind: 'int', default: 64, min: 1, max: 1_000, help: 'most keep-alive connections the sender opens' },
  loadgen: { kind: 'choice', default: 'child', choices: PLACEMENTS, help: 'where the sender runs' },
  ...PGLITE,
} satisfies OptionSpecs;

/**
 * The sends of one phase: one notification per order, and `pct` % more that repeat one already sent — half of
 * them right behind it (racing it for the order's row lock), half a second later (a provider's retry).
 */
function withDuplicates(originals: readonly Post[], pct: number, rate: number): { posts: Post[]; duplicates: number } {
  const slots = originals.map((p) => [p]);
  const every = pct > 0 ? Math.round(100 / pct) : Number.POSITIVE_INFINITY;
  let duplicates = 0;
  for (let i = 0; i < originals.length; i += every) {
    const later = duplicates % 2 === 0 ? 1 : Math.max(1, Math.round(rate / 2));
    slots[Math.min(i + later, slots.length - 1)]?.push(originals[i] as Post);
    duplicates++;
  }
  return { posts: slots.flat(), duplicates };
}

/** Sends answered with anything but 2xx, or not at all: a provider would retry each of them. */
const failedSends = (r: LoadResult) => r.errors + Object.values(r.other).reduce((s, k) => s + k, 0);

async function benchPaymentCallback(argv: readonly string[]): Promise<void> {
  const name = 'payment_callback';
  const { url, rest } = takeDatabaseUrl(name, argv);
  const o = parseOptions(name, CALLBACK_OPTIONS, rest);
  const wechat = wechatPlatform();
  const how = { databaseUrl: url, pglite: o.pglite, prepare: (dir: string) => wechat.configure(dir) };
  const problems = await withCloud(name, how, async (c, rss) => {
    // Duplicates count toward the rate: the orders are the sends left once they are taken out.
    const measuredOrders = Math.round((o.rate * o.seconds * 100) / (100 + o['duplicate-pct']));
    const warmOrders = Math.round((o.rate * o.warmup * 100) / (100 + o['duplicate-pct']));
    progress(
      `${name}: seeding ${measuredOrders + warmOrders} households, their ${PERIOD} bills and one WeChat Pay order each…`,
    );
    const estate = await seedEstate(c.cloud, 'BENCH-PAY', measuredOrders + warmOrders);
    await billRun(c, estate.estateId);
    const orders = await seedOrders(c.cloud, estate.estateId, 'PBENCH');
    progress(`${name}: signing ${orders.length} notifications…`);
    const all = orders.map((order, i) =>
      wechat.notification({ ...order, txn: `420000${String(i + 1).padStart(22, '0')}` }),
    );
    const send = (originals: Post[], seconds: number) => {
      const { posts, duplicates } = withDuplicates(originals, o['duplicate-pct'], o.rate);
      const spec = { origin: c.cloud.url, paths: [], headers: {}, seconds, connections: o.connections };
      return {
        duplicates,
        run: () => startLoad({ ...spec, rate: { perSecond: o.rate, pacer: 'steady' }, posts }, o.loadgen),
      };
    };
    const warm = send(all.slice(0, warmOrders), o.warmup);
    let warmFailed = 0;
    if (warmOrders > 0) {
      progress(`${name}: warm-up, ${o.warmup} s at ${o.rate}/s (not measured)`);
      warmFailed = failedSends(await warm.run());
    }
    const phase = send(all.slice(warmOrders), o.seconds);
    progress(`${name}: ${o.seconds} s at ${o.rate}/s, open loop, ${phase.duplicates} duplicates among them`);
    const elu = performance.eventLoopUtilization();
    const cpu = cpuAccount();
    const ownCpu = process.cpuUsage();
    const r = await phase.run();
    const used = process.cpuUsage(ownCpu);
    const shares = cpu(o.loadgen === 'child' ? r.processCpuMs : undefined);
    const serverElu = round(performance.eventLoopUtilization(elu).utilization, 2);
    const check = await checkCredits(c.cloud, estate.estateId, 'PBENCH');
    const refused = failedSends(r) - r.errors;
    const problems = [...check.problems];
    if (warmFailed > 0) problems.push(`${warmFailed} warm-up notifications failed (not 2xx)`);
    const sentDuplicates = (warmOrders > 0 ? warm.duplicates : 0) + phase.duplicates;
    if (check.loggedDuplicates !== sentDuplicates)
      problems.push(`${sentDuplicates} duplicates sent, ${check.loggedDuplicates} logged as duplicates`);
    if (r.errors + refused > 0) problems.push(`${r.errors} connection errors, ${JSON.stringify(r.other)} non-2xx`);
    const lat = r.latency;
    emit({
      bench: name,
      rate_per_s: o.rate,
      store: c.store,
      n: r.ok + refused + r.errors,
      achieved_per_s: round((r.ok + refused) / r.seconds),
      ...(lat ? { p50_ms: lat.p50_ms, p95_ms: lat.p95_ms, p99_ms: lat.p99_ms, max_ms: lat.max_ms } : {}),
      errors: r.errors + refused,
      duplicates_sent: phase.duplicates,
      duplicates_credited: check.duplicatesCredited,
      uncredited: check.uncredited,
      // CPU the cloud's process spent per notification answered: comparable across runs on a busy machine,
      // where the latencies mostly tell how little of the CPU the server got.
      server_cpu_ms_per_req: round((used.user + used.system) / 1000 / Math.max(1, r.ok + refused), 2),
      server_elu: serverElu,
      loader_elu: r.loaderElu,
      ...shares,
      rss_mb: rss.peakMb(),
      ...(problems.length ? { failed: problems.join('; ') } : {}),
    });
    return problems;
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
}

export const billingBenches: Bench[] = [
  {
    name: 'bill_run',
    summary: `bill run for ${PERIOD} over 100,000 households (property by area, parking, water by reading, one-off charges) through POST /api/billing/estates/:id/runs on PostgreSQL (seconds, bills_per_s), then again (must create 0)`,
    options: { ...DATABASE_URL_OPTION, ...BILL_RUN_OPTIONS },
    main: benchBillRun,
  },
  {
    name: 'payment_callback',
    summary:
      'signed WeChat Pay v3 notifications POSTed open loop at a fixed rate to /api/billing/notify/wechat, each paying a distinct pending order, 5 % duplicates; p50/p95/p99 from scheduled send; every order checked credited once',
    options: { ...DATABASE_URL_OPTION, ...CALLBACK_OPTIONS },
    main: benchPaymentCallback,
  },
];
