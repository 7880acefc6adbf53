import { performance } from 'node:perf_hooks';
import { type Candidate, chooseTechnician } from '@estate/cloud';
import { type Bench, defineBench } from '../lib/bench.js';
import { emit, progress } from '../lib/io.js';
import type { OptionSpecs, OptionValues } from '../lib/options.js';
import { RssSampler } from '../lib/rss.js';
import { summarise } from '../lib/stats.js';

const OPTIONS = {
  n: { kind: 'int', default: 1_000, min: 1, max: 1_000_000, help: 'measured decisions' },
  warmup: { kind: 'int', default: 100, min: 0, max: 100_000, help: 'decisions first, not measured' },
  orders: { kind: 'int', default: 1_000, min: 1, max: 1_000_000, help: 'open orders in the estate' },
  technicians: { kind: 'int', default: 200, min: 1, max: 100_000, help: 'technicians in the estate' },
} satisfies OptionSpecs;
type Options = OptionValues<typeof OPTIONS>;

const CATEGORIES = ['plumbing', 'electrical', 'door_access', 'lift', 'charger', 'structure', 'other'] as const;
const SKILLS = ['plumbing', 'electrical', 'door_access', 'lift', 'charger', 'structure', 'general'];

/** Deterministic pseudo-random numbers, so runs are comparable. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

async function run(o: Options): Promise<void> {
  const rss = new RssSampler().start();
  const rnd = lcg(8);
  const point = () => ({
    latE6: 31_220_000 + Math.floor(rnd() * 20_000),
    lngE6: 121_460_000 + Math.floor(rnd() * 20_000),
  });
  const techs = Array.from({ length: o.technicians }, (_, i) => ({
    id: `t-${String(i).padStart(5, '0')}`,
    name: `tech ${i}`,
    skills: [SKILLS[i % SKILLS.length] as string, SKILLS[(i * 3 + 1) % SKILLS.length] as string],
    onDuty: rnd() > 0.1,
    shiftStartMin: 0,
    shiftEndMin: 0,
    position: rnd() > 0.05 ? point() : null,
  }));
  // The open orders, each held by a technician (or none): the workload every decision must account for.
  const open = Array.from({ length: o.orders }, () => (rnd() > 0.2 ? Math.floor(rnd() * o.technicians) : -1));
  const incoming = Array.from({ length: o.warmup + o.n }, () => ({
    category: CATEGORIES[Math.floor(rnd() * CATEGORIES.length)] as (typeof CATEGORIES)[number],
    at: point(),
  }));
  progress(`dispatch: ${o.technicians} technicians, ${o.orders} open orders, ${o.warmup + o.n} decisions`);
  const samples: number[] = [];
  let assigned = 0;
  for (let i = 0; i < incoming.length; i++) {
    const order = incoming[i] as (typeof incoming)[number];
    const t0 = performance.now();
    // What the service does per decision after its one candidate query: workload per technician from the
    // open orders, then the choice.
    const workload = new Array<number>(o.technicians).fill(0);
    for (const holder of open) if (holder >= 0) workload[holder] = (workload[holder] ?? 0) + 1;
    const candidates: Candidate[] = techs.map((t, k) => ({ ...t, openOrders: workload[k] ?? 0 }));
    const choice = chooseTechnician({ category: order.category, at: order.at, minuteOfDay: 600 }, candidates);
    const t1 = performance.now();
    if (choice) {
      assigned++;
      open[i % open.length] = Number(choice.technicianId.slice(2));
    }
    if (i >= o.warmup) samples.push(t1 - t0);
  }
  rss.stop();
  if (assigned === 0) throw new Error('no order was ever assigned; the bench estate is wrong');
  emit({
    bench: 'dispatch',
    orders: o.orders,
    technicians: o.technicians,
    ...summarise(samples),
    rss_mb: rss.peakMb(),
  });
}

export const dispatchBenches: Bench[] = [
  defineBench({
    name: 'dispatch',
    summary: 'repair dispatch decision (workload from the open orders + choice) in memory, after the candidate query',
    options: OPTIONS,
    run,
  }),
];
