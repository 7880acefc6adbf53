// The estate the dispatch bench decides in: technicians with skills, shifts, base buildings and (some) fresh
// locations, open orders held by them (their workload) and a history of closed orders, written to the cloud's
// database in bulk. Generated from one seed, so every run and both databases see the same estate.
import { randomUUID } from 'node:crypto';
import { type Candidate, type CloudDeps, seedDemo } from '@estate/cloud';

import { prng } from './random.js';

export const CATEGORIES = ['plumbing', 'electrical', 'door_access', 'lift', 'charger', 'structure', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];
const SKILLS = ['plumbing', 'electrical', 'door_access', 'lift', 'charger', 'structure', 'general'];
const OPEN_HELD = ['assigned', 'accepted', 'in_progress'] as const;
const CLOSED = ['completed', 'rated', 'rated', 'cancelled'] as const;

/** 10:00 in Shanghai: day shifts are on, night shifts off, as at a busy hour. */
export const BENCH_EPOCH = Date.parse('2026-06-01T02:00:00Z');
const H = 3_600_000;
const SLICE = 2_000;
const CENTRE = { latE6: 31_230_400, lngE6: 121_473_700 };

export interface DispatchEstateSpec {
  technicians: number;
  openOrders: number;
  closedOrders: number;
  households: number;
  seed: number;
}

type Point = NonNullable<Candidate['position']>;

export interface DispatchEstate {
  estateId: string;
  staffAccountId: string;
  /** Units with their building, where new orders are reported. */
  units: { id: string; buildingId: string }[];
  /** Where each building stands. */
  buildingAt: Map<string, Point>;
  /** What dispatch knows of each technician, openOrders = the seeded workload. */
  technicians: Candidate[];
  /** Open orders oldest first, and the index (into `technicians`) of the one holding each, or -1. */
  open: { id: string; holder: number }[];
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const jitter = (rnd: () => number, e6: number) => Math.round((rnd() - 0.5) * e6);

/** Seeds the estate (households via the demo seeder, the rest in bulk) and returns what the bench needs of it. */
export async function seedDispatchEstate(deps: CloudDeps, spec: DispatchEstateSpec): Promise<DispatchEstate> {
  const { prisma } = deps;
  const rnd = prng(spec.seed);
  const seeded = await seedDemo(deps, { estates: 1, households: spec.households, seed: spec.seed, billing: false });
  const estateId = seeded.estates[0]?.id;
  if (!estateId) throw new Error('the demo seeder made no estate');
  const staff = await prisma.account.findFirstOrThrow({ where: { estateId, role: 'staff' }, select: { id: true } });
  const buildings = await prisma.building.findMany({ where: { estateId }, orderBy: { name: 'asc' } });
  const units = await prisma.unit.findMany({ where: { estateId }, select: { id: true, buildingId: true } });

  // Buildings on a ~80 m grid, eight to a row.
  const positions = buildings.map((b, i) => ({
    buildingId: b.id,
    estateId,
    latE6: CENTRE.latE6 + (i % 8) * 720,
    lngE6: CENTRE.lngE6 + Math.floor(i / 8) * 850,
  }));
  await prisma.buildingPosition.createMany({ data: positions });

  const techs = Array.from({ length: spec.technicians }, (_, i) => {
    const base = pick(rnd, positions);
    const shift = rnd();
    // 70 % day shift, 15 % night shift (off at 10:00), 15 % round the clock.
    const [shiftStartMin, shiftEndMin] = shift < 0.7 ? [480, 1080] : shift < 0.85 ? [1080, 480] : [0, 0];
    // 60 % reported a location within the hour, 20 % hours ago (stale: the base building counts), 20 % never.
    const located = rnd();
    const fix =
      located < 0.8
        ? {
            latE6: base.latE6 + jitter(rnd, 4_000),
            lngE6: base.lngE6 + jitter(rnd, 4_000),
            locatedAt: new Date(BENCH_EPOCH - (located < 0.6 ? rnd() * H : 3 * H + rnd() * H)),
          }
        : null;
    return {
      id: randomUUID(),
      accountId: randomUUID(),
      name: `技师${i}`,
      skills: [...new Set([SKILLS[i % SKILLS.length] as string, SKILLS[(i * 3 + 1) % SKILLS.length] as string])],
      onDuty: rnd() > 0.1,
      shiftStartMin: shiftStartMin as number,
      shiftEndMin: shiftEndMin as number,
      base,
      fix,
      fresh: located < 0.6,
    };
  });
  await prisma.account.createMany({
    // Nobody logs in as these: '!' is no hash any password matches.
    data: techs.map((t, i) => ({
      id: t.accountId,
      login: `bench.tech.${i}`,
      role: 'technician',
      estateId,
      passwordHash: '!',
    })),
  });
  await prisma.technician.createMany({
    data: techs.map(({ base, fix, fresh: _, ...t }) => ({
      ...t,
      estateId,
      baseBuildingId: base.buildingId,
      latE6: fix?.latE6 ?? null,
      lngE6: fix?.lngE6 ?? null,
      locatedAt: fix?.locatedAt ?? null,
    })),
  });
  // What candidatesOf (cloud repairs/repository.ts) makes of them: a fresh location, else the base building.
  const technicians: Candidate[] = techs.map((t) => ({
    id: t.id,
    name: t.name,
    skills: t.skills,
    onDuty: t.onDuty,
    shiftStartMin: t.shiftStartMin,
    shiftEndMin: t.shiftEndMin,
    position:
      t.fresh && t.fix ? { latE6: t.fix.latE6, lngE6: t.fix.lngE6 } : { latE6: t.base.latE6, lngE6: t.base.lngE6 },
    openOrders: 0,
  }));

  // The closed history first, then the open orders (the newest): 15 % of these wait unassigned.
  const orders = Array.from({ length: spec.closedOrders + spec.openOrders }, (_, k) => {
    const isOpen = k >= spec.closedOrders;
    const holder = isOpen && rnd() < 0.15 ? -1 : Math.floor(rnd() * spec.technicians);
    const status = holder < 0 ? 'pending' : isOpen ? pick(rnd, OPEN_HELD) : pick(rnd, CLOSED);
    const createdAt = new Date(BENCH_EPOCH - (isOpen ? rnd() * 48 * H : (2 + rnd() * 360) * 24 * H));
    const unit = pick(rnd, units);
    return {
      isOpen,
      holder,
      row: {
        id: randomUUID(),
        estateId,
        unitId: unit.id,
        buildingId: unit.buildingId,
        category: pick(rnd, CATEGORIES),
        description: '报修(基准测试)',
        source: 'resident',
        status,
        technicianId: techs[holder]?.id ?? null,
        createdBy: staff.id,
        acceptDueAt: new Date(createdAt.getTime() + H / 2),
        completeDueAt: new Date(createdAt.getTime() + 24 * H),
        assignedAt: holder < 0 ? null : createdAt,
        completedAt: status === 'completed' || status === 'rated' ? new Date(createdAt.getTime() + 5 * H) : null,
        rating: status === 'rated' ? 1 + Math.floor(rnd() * 5) : null,
        createdAt,
        updatedAt: createdAt,
      },
    };
  });
  // In slices: one statement of 10,000+ rows is a needlessly large bind list.
  for (let s = 0; s < orders.length; s += SLICE) {
    const slice = orders.slice(s, s + SLICE);
    await prisma.repairOrder.createMany({ data: slice.map((o) => o.row) });
    await prisma.repairAssignment.createMany({
      data: slice.flatMap(({ row }) =>
        row.technicianId
          ? [
              {
                orderId: row.id,
                technicianId: row.technicianId,
                mode: 'auto',
                reason: 'seeded by the dispatch bench',
                openOrders: 0,
                assignedBy: 'bench',
                assignedAt: row.createdAt,
              },
            ]
          : [],
      ),
    });
  }
  const open = orders
    .filter((o) => o.isOpen)
    .sort((a, b) => a.row.createdAt.getTime() - b.row.createdAt.getTime())
    .map((o) => ({ id: o.row.id, holder: o.holder }));
  for (const o of open) {
    const t = technicians[o.holder];
    if (t) t.openOrders++;
  }
  const buildingAt = new Map(positions.map((p) => [p.buildingId, { latE6: p.latE6, lngE6: p.lngE6 }]));
  return { estateId, staffAccountId: staff.id, units, buildingAt, technicians, open };
}
