// What every repair operation shares: scoped loading, the status move, dispatch and photo storage.
// Operations live in ops-*.ts; service.ts puts them together.
// Repair orders (报修工单): submission, the status machine, dispatch, ratings, complaints and figures.
// Every change goes through `change()` so the order, its transition row and its audit row commit together; a
// transition updates `WHERE status = <from>`, so two people acting at once cannot both move the same order.
import { createHash, randomUUID } from 'node:crypto';
import { authorize, inScope, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import type { Audit, Tx } from '../../core/tx.js';
import type { RepairOrder } from '../../generated/prisma/client.js';
import { CATEGORIES, type Category, NEXT, type Status } from './categories.js';
import { type Choice, chooseTechnician, localMinute } from './dispatch.js';
import { dispatchContextOf } from './repository.js';

export type Acting = Actor & { principal: Principal };
export type Clock = () => Date;

export type Place =
  | { kind: 'unit'; unitId?: string | undefined }
  | { kind: 'common'; buildingId?: string | undefined; area: string };

export interface SubmitInput {
  category: Category;
  description: string;
  place: Place;
  photos?: { contentBase64: string }[] | undefined;
  /** Planned maintenance (staff only): the window the work will take. */
  planned?: { startsAt: string; endsAt: string } | undefined;
}

export type WorkAction = 'accept' | 'start' | 'complete' | 'cancel' | 'reopen';
export const TARGET: Record<WorkAction, Status> = {
  accept: 'accepted',
  start: 'in_progress',
  complete: 'completed',
  cancel: 'cancelled',
  reopen: 'reopened',
};
export const STAMP: Partial<Record<Status, keyof RepairOrder>> = {
  assigned: 'assignedAt',
  accepted: 'acceptedAt',
  in_progress: 'startedAt',
  completed: 'completedAt',
  rated: 'ratedAt',
  cancelled: 'cancelledAt',
  reopened: 'reopenedAt',
};

export const iso = (d: Date | null) => d?.toISOString() ?? null;

export type Loaded = RepairOrder & { technician: { id: string; name: string; accountId: string } | null };

export const orderView = (o: Loaded) => ({
  id: o.id,
  estateId: o.estateId,
  householdId: o.householdId,
  unitId: o.unitId,
  buildingId: o.buildingId,
  commonArea: o.commonArea,
  category: o.category,
  description: o.description,
  source: o.source,
  status: o.status,
  technician: o.technician ? { id: o.technician.id, name: o.technician.name } : null,
  acceptDueAt: o.acceptDueAt.toISOString(),
  completeDueAt: o.completeDueAt.toISOString(),
  assignedAt: iso(o.assignedAt),
  acceptedAt: iso(o.acceptedAt),
  startedAt: iso(o.startedAt),
  completedAt: iso(o.completedAt),
  ratedAt: iso(o.ratedAt),
  cancelledAt: iso(o.cancelledAt),
  reopenedAt: iso(o.reopenedAt),
  escalated: o.acceptEscalatedAt !== null || o.completeEscalatedAt !== null,
  rating: o.rating,
  ratingComment: o.ratingComment,
  deviceId: o.deviceId,
  alarmKind: o.alarmKind,
  alarmCount: o.alarmCount,
  plannedStartsAt: iso(o.plannedStartsAt),
  plannedEndsAt: iso(o.plannedEndsAt),
  createdAt: o.createdAt.toISOString(),
});

/** What the audit log keeps of an order. */
export const auditable = (o: RepairOrder) => ({
  status: o.status,
  category: o.category,
  technicianId: o.technicianId,
  rating: o.rating,
  alarmCount: o.alarmCount,
});

export const actorId = (a: Actor) => a.principal?.accountId ?? (a.system ? `system:${a.system}` : 'unknown');
export const minutes = (n: number) => n * 60_000;

export function repairScope(deps: CloudDeps, clock: Clock) {
  const { prisma, blobs, keyRing } = deps;

  async function load(id: string): Promise<Loaded | null> {
    return prisma.repairOrder.findUnique({
      where: { id },
      include: { technician: { select: { id: true, name: true, accountId: true } } },
    });
  }

  /** The order, if the caller may see it: residents their household's, others their estate's. */
  async function inScopeOrder(actor: Acting, id: string, action: Parameters<typeof authorize>[1]) {
    const o = await load(id);
    if (!o) throw notFound('Repair order');
    authorize(actor.principal, action, { estateId: o.estateId, householdId: o.householdId }, 'Repair order');
    return o;
  }

  async function householdAccounts(tx: Tx, householdId: string | null): Promise<string[]> {
    if (!householdId) return [];
    const rows = await tx.account.findMany({
      where: { person: { householdId }, disabledAt: null },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  async function supervisors(tx: Tx, estateId: string): Promise<string[]> {
    const rows = await tx.account.findMany({
      where: { estateId, role: 'staff', disabledAt: null },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  /**
   * Moves an order along the status machine. `data` carries what else changes with it. Throws ILLEGAL_TRANSITION
   * when the machine forbids it or when someone else moved the order first.
   */
  async function move(
    tx: Tx,
    audit: Audit,
    actor: Actor,
    o: RepairOrder,
    to: Status,
    note: string | null,
    data: Record<string, unknown> = {},
  ): Promise<RepairOrder> {
    const from = o.status as Status;
    if (!NEXT[from].includes(to)) {
      throw new AppError('ILLEGAL_TRANSITION', `an order that is ${from} cannot become ${to}`);
    }
    const at = clock();
    const stamp = STAMP[to];
    // The updated row comes back from the update itself (no second read).
    const [after] = await tx.repairOrder.updateManyAndReturn({
      where: { id: o.id, status: from },
      data: { ...data, status: to, ...(stamp ? { [stamp]: at } : {}), updatedAt: at },
    });
    if (!after) throw new AppError('ILLEGAL_TRANSITION', 'the order was changed by someone else; reload it');
    await tx.repairTransition.create({
      data: { orderId: o.id, fromStatus: from, toStatus: to, at, actorId: actorId(actor), note },
    });
    await audit({
      action: `repair.${to}`,
      entity: 'repair_order',
      entityId: o.id,
      estateId: o.estateId,
      before: auditable(o),
      after: { ...auditable(after), note },
    });
    return after;
  }

  /**
   * Assigns `o` to the chosen technician (auto) or the one staff named (override). `fresh`: the order was created
   * in this transaction, so it has no assignment to end.
   */
  async function assignTo(
    tx: Tx,
    audit: Audit,
    actor: Actor,
    o: RepairOrder,
    choice: Choice,
    mode: 'auto' | 'override',
    why: string,
    fresh = false,
  ): Promise<RepairOrder> {
    const at = clock();
    if (!fresh) {
      await tx.repairAssignment.updateMany({
        where: { orderId: o.id, endedAt: null },
        data: { endedAt: at, endedReason: why },
      });
    }
    await tx.repairAssignment.create({
      data: {
        orderId: o.id,
        technicianId: choice.technicianId,
        mode,
        reason: choice.reason,
        distanceM: choice.distanceM,
        openOrders: choice.openOrders,
        assignedBy: actorId(actor),
        assignedAt: at,
      },
    });
    const after = await move(tx, audit, actor, o, 'assigned', choice.reason, { technicianId: choice.technicianId });
    const accountId =
      choice.accountId ??
      (await tx.technician.findUniqueOrThrow({ where: { id: choice.technicianId }, select: { accountId: true } }))
        .accountId;
    await requestNotification(tx, o.id, {
      kind: 'repair.assigned',
      estateId: o.estateId,
      accountIds: [accountId],
      title: '新工单',
      body: `${CATEGORIES[o.category as Category].label}: ${o.description.slice(0, 60)} (${choice.reason})`,
    });
    return after;
  }

  /** Auto-dispatch: the best candidate, or null (the order then waits for the job or for staff). */
  async function autoChoice(tx: Tx, o: RepairOrder, exclude?: ReadonlySet<string>): Promise<Choice | null> {
    const now = clock();
    const { timezone, at, candidates } = await dispatchContextOf(tx, o.estateId, o.buildingId, now);
    return chooseTechnician(
      {
        category: o.category as Category,
        at,
        minuteOfDay: localMinute(now, timezone),
        ...(exclude ? { exclude } : {}),
      },
      candidates,
    );
  }

  async function previouslyAssigned(tx: Tx, orderId: string): Promise<Set<string>> {
    const rows = await tx.repairAssignment.findMany({ where: { orderId }, select: { technicianId: true } });
    return new Set(rows.map((r) => r.technicianId));
  }

  async function resolvePlace(actor: Acting, place: Place) {
    const p = actor.principal;
    if (place.kind === 'unit') {
      if (p.role === 'resident') {
        const h = p.householdId
          ? await prisma.household.findUnique({ where: { id: p.householdId }, include: { unit: true } })
          : null;
        if (h?.status !== 'active') throw new AppError('FORBIDDEN', 'the account has no active household');
        if (place.unitId && place.unitId !== h.unitId) throw notFound('Unit');
        const { unit } = h;
        return {
          estateId: h.estateId,
          householdId: h.id,
          unitId: unit.id,
          buildingId: unit.buildingId,
          commonArea: null,
        };
      }
      if (!place.unitId) throw new AppError('VALIDATION', 'unitId is required', '/body/place/unitId');
      const unit = await prisma.unit.findUnique({ where: { id: place.unitId } });
      if (!unit || !inScope(p, { estateId: unit.estateId })) throw notFound('Unit');
      const h = await prisma.household.findFirst({ where: { unitId: unit.id, status: 'active' } });
      return {
        estateId: unit.estateId,
        householdId: h?.id ?? null,
        unitId: unit.id,
        buildingId: unit.buildingId,
        commonArea: null,
      };
    }
    // Common area: a resident reports for the estate they live in; the order stays theirs to follow.
    const estateId = p.estateId;
    let buildingId: string | null = null;
    if (place.buildingId) {
      const b = await prisma.building.findUnique({ where: { id: place.buildingId } });
      if (!b || (p.role !== 'admin' && b.estateId !== estateId)) throw notFound('Building');
      buildingId = b.id;
      if (p.role === 'admin')
        return { estateId: b.estateId, householdId: null, unitId: null, buildingId, commonArea: place.area };
    }
    if (!estateId) throw new AppError('VALIDATION', 'an admin must name the building', '/body/place/buildingId');
    return {
      estateId,
      householdId: p.role === 'resident' ? p.householdId : null,
      unitId: null,
      buildingId,
      commonArea: place.area,
    };
  }

  async function storePhotos(orderId: string, estateId: string, photos: { bytes: Buffer; contentType: string }[]) {
    const stored: { id: string; storageKey: string; bytes: Buffer; contentType: string }[] = [];
    for (const ph of photos) {
      const id = randomUUID();
      const storageKey = `${estateId}/repairs/${id}.bin`;
      await blobs.put(storageKey, keyRing.sealBytes(ph.bytes, `repair-photo:${id}`));
      stored.push({ id, storageKey, bytes: ph.bytes, contentType: ph.contentType });
    }
    return {
      rows: stored.map((s) => ({
        id: s.id,
        orderId,
        estateId,
        contentType: s.contentType,
        sizeBytes: s.bytes.length,
        storageKey: s.storageKey,
        sha256: createHash('sha256').update(s.bytes).digest('hex'),
      })),
      undo: () => Promise.all(stored.map((s) => blobs.delete(s.storageKey))),
    };
  }

  /**
   * One order with its transitions, assignments and photos, as every operation answers. `known`: the order as the
   * caller's transaction just left it (with its technician), which then need not be read again.
   */
  async function detail(actor: Acting, id: string, known?: Loaded) {
    let o: Loaded;
    if (known) {
      o = known;
      authorize(actor.principal, 'repair:read', { estateId: o.estateId, householdId: o.householdId }, 'Repair order');
    } else o = await inScopeOrder(actor, id, 'repair:read');
    const [transitions, assignments, photos] = await Promise.all([
      prisma.repairTransition.findMany({ where: { orderId: id }, orderBy: { id: 'asc' } }),
      prisma.repairAssignment.findMany({ where: { orderId: id }, orderBy: { assignedAt: 'asc' } }),
      prisma.repairPhoto.findMany({ where: { orderId: id }, orderBy: { createdAt: 'asc' } }),
    ]);
    return {
      ...orderView(o),
      transitions: transitions.map((t) => ({
        from: t.fromStatus,
        to: t.toStatus,
        at: t.at.toISOString(),
        note: t.note,
      })),
      assignments: assignments.map((a) => ({
        technicianId: a.technicianId,
        mode: a.mode,
        reason: a.reason,
        assignedAt: a.assignedAt.toISOString(),
        endedAt: iso(a.endedAt),
        endedReason: a.endedReason,
      })),
      photos: photos.map((p) => ({ id: p.id, contentType: p.contentType, sizeBytes: p.sizeBytes })),
    };
  }

  return {
    prisma,
    blobs,
    keyRing,
    clock,
    load,
    inScopeOrder,
    householdAccounts,
    supervisors,
    move,
    assignTo,
    autoChoice,
    previouslyAssigned,
    resolvePlace,
    storePhotos,
    detail,
  };
}
export type RepairScope = ReturnType<typeof repairScope>;
