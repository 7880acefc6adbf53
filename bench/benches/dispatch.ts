import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Acting, type Candidate, chooseTechnician, loadConfig, openDeps, repairService } from '@estate/cloud';
import { resolveServer, throwawayDatabase } from '../lib/api-db.js';
import { type Bench, defineBench } from '../lib/bench.js';
import { BENCH_EPOCH, CATEGORIES, type DispatchEstate, seedDispatchEstate } from '../lib/dispatch-estate.js';
import { emit, progress } from '../lib/io.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { prng } from '../lib/random.js';
import { RssSampler } from '../lib/rss.js';
import { summarise } from '../lib/stats.js';

const OPTIONS = {
  n: { kind: 'int', default: 500, min: 1, max: 100_000, help: 'measured decisions' },
  warmup: { kind: 'int', default: 100, min: 0, max: 100_000, help: 'decisions first, not measured' },
  orders: { kind: 'int', default: 1_000, min: 1, max: 200_000, help: 'open orders in the estate (kept constant)' },
  technicians: { kind: 'int', default: 200, min: 1, max: 20_000, help: 'technicians in the estate' },
  closed: { kind: 'int', default: 10_000, min: 0, max: 1_000_000, help: 'closed orders of the past (history)' },
  households: { kind: 'int', default: 2_000, min: 1, max: 100_000, help: 'households (units to report from)' },
  db: {
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'pglite', 'postgresql'] as const,
    help: 'database: auto = PostgreSQL when --database-url or DATABASE_URL is given, else PGlite in memory (as the cloud)',
  },
  'database-url': {
    kind: 'text',
    default: '',
    pattern: /^postgres(ql)?:\/\//,
    help: 'postgres:// URL of the server (default $DATABASE_URL; with --db postgresql and neither, the local one from cloud/scripts/ci-postgres.sh); the bench works in a throwaway database there',
  },
} satisfies OptionSpecs;
type Options = OptionValues<typeof OPTIONS>;

const SEED = 8;
/** Estate-local minute the in-memory choice decides at, as the service's clock (BENCH_EPOCH) says. */
const MINUTE_OF_DAY = 600;

type Incoming = { category: (typeof CATEGORIES)[number]; unit: DispatchEstate['units'][number] };

/** Where the cloud's database lives for this run, and how to throw it away afterwards. */
async function database(o: Options): Promise<{ kind: 'pglite' | 'postgresql'; url?: string; drop(): Promise<void> }> {
  const given = o['database-url'] || process.env.DATABASE_URL || undefined;
  const kind = o.db === 'auto' ? (given ? 'postgresql' : 'pglite') : o.db;
  if (kind === 'pglite') return { kind, drop: async () => undefined };
  const db = await throwawayDatabase(resolveServer(given), 'estate_bench_dispatch');
  progress(`dispatch: PostgreSQL, throwaway database ${db.name}`);
  return { kind, url: db.url, drop: db.drop };
}

/** The service's whole decision per new order: submit → candidates + workload query, choice, assignment, audit. */
async function timeService(o: Options, estate: DispatchEstate, incoming: readonly Incoming[], deps: Deps) {
  const started = performance.now();
  // The bench's clock starts at 10:00 local and runs in real time, so shifts and location freshness are as seeded.
  const repairs = repairService(deps, () => new Date(BENCH_EPOCH + (performance.now() - started)));
  const actor: Acting = {
    principal: {
      accountId: estate.staffAccountId,
      sessionId: randomUUID(),
      role: 'staff',
      estateId: estate.estateId,
      personId: null,
      householdId: null,
    },
    requestId: null,
    ip: null,
  };
  const open = estate.open.map((x) => x.id);
  const samples: number[] = [];
  let assigned = 0;
  for (const [i, order] of incoming.entries()) {
    const t0 = performance.now();
    const made = await repairs.submit(actor, {
      category: order.category,
      description: '水管漏水(基准测试)',
      place: { kind: 'unit', unitId: order.unit.id },
    });
    const t1 = performance.now();
    if (i >= o.warmup) {
      samples.push(t1 - t0);
      if (made.status === 'assigned') assigned++;
    }
    // Untimed: the oldest open order is finished, so the estate keeps exactly --orders open ones.
    open.push(made.id);
    const done = open.shift();
    await deps.driver.query(
      `UPDATE repair_orders SET status = 'completed', completed_at = now(), updated_at = now() WHERE id = $1`,
      [done],
    );
  }
  return { samples, assigned };
}

/** The in-memory part alone, as the bench measured it before: workload from the open orders, then the choice. */
function timeChoiceOnly(o: Options, estate: DispatchEstate, incoming: readonly Incoming[]) {
  const techs = estate.technicians;
  const holders = estate.open.map((x) => x.holder);
  const index = new Map(techs.map((t, k) => [t.id, k]));
  const samples: number[] = [];
  let assigned = 0;
  for (const [i, order] of incoming.entries()) {
    const t0 = performance.now();
    const workload = new Array<number>(techs.length).fill(0);
    for (const h of holders) if (h >= 0) workload[h] = (workload[h] ?? 0) + 1;
    const candidates: Candidate[] = techs.map((t, k) => ({ ...t, openOrders: workload[k] ?? 0 }));
    const at = estate.buildingAt.get(order.unit.buildingId) ?? null;
    const choice = chooseTechnician({ category: order.category, at, minuteOfDay: MINUTE_OF_DAY }, candidates);
    const t1 = performance.now();
    holders.push(choice ? (index.get(choice.technicianId) ?? -1) : -1);
    holders.shift();
    if (i >= o.warmup) {
      samples.push(t1 - t0);
      if (choice) assigned++;
    }
  }
  return { samples, assigned };
}

type Deps = Awaited<ReturnType<typeof openDeps>>['deps'];

async function run(o: Options): Promise<void> {
  const rss = new RssSampler().start();
  const db = await database(o);
  const dataDir = mkdtempSync(join(tmpdir(), 'estate-bench-dispatch-'));
  try {
    const config = loadConfig({
      NODE_ENV: 'development',
      ESTATE_CLOUD_DATA_DIR: dataDir,
      ESTATE_CLOUD_LOG_LEVEL: 'silent',
      ESTATE_CLOUD_ARGON2_MEMORY_KIB: '1024',
      ...(db.url ? { DATABASE_URL: db.url } : {}),
    });
    const { deps, db: opened } = await openDeps(config, { inMemory: true });
    try {
      progress(
        `dispatch: seeding ${o.technicians} technicians, ${o.orders} open and ${o.closed} closed orders, ${o.households} households (${db.kind})…`,
      );
      const s0 = performance.now();
      const estate = await seedDispatchEstate(deps, {
        technicians: o.technicians,
        openOrders: o.orders,
        closedOrders: o.closed,
        households: o.households,
        seed: SEED,
      });
      if (db.kind === 'postgresql') await deps.driver.exec('ANALYZE');
      const seedS = (performance.now() - s0) / 1000;
      const rnd = prng(SEED + 1);
      const incoming: Incoming[] = Array.from({ length: o.warmup + o.n }, () => ({
        category: CATEGORIES[Math.floor(rnd() * CATEGORIES.length)] as Incoming['category'],
        unit: estate.units[Math.floor(rnd() * estate.units.length)] as Incoming['unit'],
      }));
      progress(`dispatch: seeded in ${seedS.toFixed(1)} s; ${o.warmup} + ${o.n} orders submitted one by one…`);
      const service = await timeService(o, estate, incoming, deps);
      if (service.assigned === 0) throw new Error('no order was ever assigned; the bench estate is wrong');
      const choice = timeChoiceOnly(o, estate, incoming);
      rss.stop();
      const common = { bench: 'dispatch', db: db.kind, technicians: o.technicians, open_orders: o.orders };
      emit({
        ...common,
        measure: 'service',
        closed_orders: o.closed,
        ...summarise(service.samples),
        assigned_ratio: Math.round((service.assigned / o.n) * 1000) / 1000,
        seed_s: Math.round(seedS * 10) / 10,
        rss_mb: rss.peakMb(),
      });
      emit({
        ...common,
        measure: 'choice_only',
        ...summarise(choice.samples),
        assigned_ratio: Math.round((choice.assigned / o.n) * 1000) / 1000,
      });
    } finally {
      await opened.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
}

export const dispatchBenches: Bench[] = [
  defineBench({
    name: 'dispatch',
    summary:
      "repair dispatch as the cloud runs it: a staff member's new order through the repairs service (candidates and workload from the database, choice, assignment, audit); and the in-memory choice alone",
    options: OPTIONS,
    run,
  }),
];
