// Repair orders (报修工单): submission, the status machine, dispatch, ratings, complaints and figures.
// Every change goes through `change()` so the order, its transition row and its audit row commit together; a
// transition updates `WHERE status = <from>`, so two people acting at once cannot both move the same order.
import { createHash, randomUUID } from 'node:crypto';
import { recordAudit } from '../../core/audit.js';
import { authorize, estateFilter, inScope, type Principal } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { type Audit, change, type Tx } from '../../core/tx.js';
import type { RepairOrder } from '../../generated/prisma/client.js';
import { CATEGORIES, type Category, NEXT, OPEN, type Status } from './categories.js';
import { type Choice, chooseTechnician, describe, distanceM, localMinute } from './dispatch.js';
import { checkPhoto, MAX_PHOTOS } from './photos.js';
import { candidatesOf, figures, positionOf } from './repository.js';

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
const TARGET: Record<WorkAction, Status> = {
  accept: 'accepted',
  start: 'in_progress',
  complete: 'completed',
  cancel: 'cancelled',
  reopen: 'reopened',
};
const STAMP: Partial<Record<Status, keyof RepairOrder>> = {
  assigned: 'assignedAt',
  accepted: 'acceptedAt',
  in_progress: 'startedAt',
  completed: 'completedAt',
  rated: 'ratedAt',
  cancelled: 'cancelledAt',
  reopened: 'reopenedAt',
};

const iso = (d: Date | null) => d?.toISOString() ?? null;

type Loaded = RepairOrder & { technician: { id: string; name: string; accountId: string } | null };

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
const auditable = (o: RepairOrder) => ({
  status: o.status,
  category: o.category,
  technicianId: o.technicianId,
  rating: o.rating,
  alarmCount: o.alarmCount,
});

const actorId = (a: Actor) => a.principal?.accountId ?? (a.system ? `system:${a.system}` : 'unknown');
const minutes = (n: number) => n * 60_000;

export function repairService(deps: CloudDeps, clock: Clock = () => new Date()) {
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
    const { count } = await tx.repairOrder.updateMany({
      where: { id: o.id, status: from },
      data: { ...data, status: to, ...(stamp ? { [stamp]: at } : {}), updatedAt: at },
    });
    if (count !== 1) throw new AppError('ILLEGAL_TRANSITION', 'the order was changed by someone else; reload it');
    await tx.repairTransition.create({
      data: { orderId: o.id, fromStatus: from, toStatus: to, at, actorId: actorId(actor), note },
    });
    const after = await tx.repairOrder.findUniqueOrThrow({ where: { id: o.id } });
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

  /** Assigns `o` to the chosen technician (auto) or the one staff named (override). */
  async function assignTo(
    tx: Tx,
    audit: Audit,
    actor: Actor,
    o: RepairOrder,
    choice: Choice,
    mode: 'auto' | 'override',
    why: string,
  ): Promise<RepairOrder> {
    const at = clock();
    await tx.repairAssignment.updateMany({
      where: { orderId: o.id, endedAt: null },
      data: { endedAt: at, endedReason: why },
    });
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
    const tech = await tx.technician.findUniqueOrThrow({ where: { id: choice.technicianId } });
    await requestNotification(tx, o.id, {
      kind: 'repair.assigned',
      estateId: o.estateId,
      accountIds: [tech.accountId],
      title: '新工单',
      body: `${CATEGORIES[o.category as Category].label}: ${o.description.slice(0, 60)} (${choice.reason})`,
    });
    return after;
  }

  /** Auto-dispatch: the best candidate, or null (the order then waits for the job or for staff). */
  async function autoChoice(tx: Tx, o: RepairOrder, exclude?: ReadonlySet<string>): Promise<Choice | null> {
    const estate = await tx.estate.findUniqueOrThrow({ where: { id: o.estateId }, select: { timezone: true } });
    const now = clock();
    const candidates = await candidatesOf(tx, o.estateId, now);
    return chooseTechnician(
      {
        category: o.category as Category,
        at: await positionOf(tx, o.buildingId),
        minuteOfDay: localMinute(now, estate.timezone),
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
        const h = p.householdId ? await prisma.household.findUnique({ where: { id: p.householdId } }) : null;
        if (h?.status !== 'active') throw new AppError('FORBIDDEN', 'the account has no active household');
        if (place.unitId && place.unitId !== h.unitId) throw notFound('Unit');
        const unit = await prisma.unit.findUniqueOrThrow({ where: { id: h.unitId } });
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

  return {
    load,

    async submit(actor: Acting, input: SubmitInput) {
      authorize(actor.principal, 'repair:submit');
      if (input.planned && actor.principal.role === 'resident') {
        throw new AppError('FORBIDDEN', 'only staff plan maintenance', '/body/planned');
      }
      if (input.planned && input.planned.endsAt <= input.planned.startsAt) {
        throw new AppError('VALIDATION', 'planned.endsAt is not after planned.startsAt', '/body/planned/endsAt');
      }
      // Check every photo before anything is written.
      const photos = (input.photos ?? []).map((ph, i) => checkPhoto(ph.contentBase64, `/body/photos/${i}`));
      if (photos.length > MAX_PHOTOS) throw new AppError('VALIDATION', `at most ${MAX_PHOTOS} photos`, '/body/photos');
      const place = await resolvePlace(actor, input.place);
      const id = randomUUID();
      const stored = await storePhotos(id, place.estateId, photos);
      const now = clock();
      const sla = CATEGORIES[input.category];
      try {
        await change(prisma, actor, async (tx, audit) => {
          const o = await tx.repairOrder.create({
            data: {
              id,
              ...place,
              category: input.category,
              description: input.description,
              source: input.planned ? 'planned' : actor.principal.role === 'resident' ? 'resident' : 'staff',
              createdBy: actor.principal.accountId,
              acceptDueAt: new Date(now.getTime() + minutes(sla.acceptMin)),
              completeDueAt: new Date(now.getTime() + minutes(sla.completeMin)),
              plannedStartsAt: input.planned ? new Date(input.planned.startsAt) : null,
              plannedEndsAt: input.planned ? new Date(input.planned.endsAt) : null,
              createdAt: now,
              updatedAt: now,
            },
          });
          if (stored.rows.length) await tx.repairPhoto.createMany({ data: stored.rows });
          await tx.repairTransition.create({
            data: { orderId: id, fromStatus: null, toStatus: 'pending', at: now, actorId: actorId(actor), note: null },
          });
          await audit({
            action: 'repair.submit',
            entity: 'repair_order',
            entityId: id,
            estateId: o.estateId,
            after: { ...auditable(o), place: input.place.kind, photos: stored.rows.length },
          });
          const choice = await autoChoice(tx, o);
          if (choice) await assignTo(tx, audit, actor, o, choice, 'auto', 'dispatched');
        });
      } catch (err) {
        await stored.undo();
        throw err;
      }
      return this.get(actor, id);
    },

    async get(actor: Acting, id: string) {
      const o = await inScopeOrder(actor, id, 'repair:read');
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
    },

    async list(
      actor: Acting,
      q: { estateId?: string; status?: string; mine?: boolean; limit?: number; cursor?: string },
    ) {
      const p = actor.principal;
      authorize(p, 'repair:read');
      const limit = q.limit ?? 20;
      const after = decodeCursor(q.cursor, 1);
      let scope: Record<string, unknown>;
      if (p.role === 'resident') scope = { householdId: p.householdId ?? '00000000-0000-0000-0000-000000000000' };
      else {
        const estateId = estateFilter(p, q.estateId);
        scope = estateId ? { estateId } : {};
        if (p.role === 'technician' && q.mine) {
          const t = await prisma.technician.findUnique({ where: { accountId: p.accountId } });
          scope = { ...scope, technicianId: t?.id ?? '00000000-0000-0000-0000-000000000000' };
        }
      }
      const rows = await prisma.repairOrder.findMany({
        where: {
          ...scope,
          ...(q.status ? { status: q.status } : {}),
          ...(after ? { id: { lt: String(after[0]) } } : {}),
        },
        include: { technician: { select: { id: true, name: true, accountId: true } } },
        orderBy: { id: 'desc' },
        take: limit + 1,
      });
      const page = pageOf(rows, limit, (r) => [r.id]);
      return { items: page.items.map(orderView), nextCursor: page.nextCursor };
    },

    async act(actor: Acting, id: string, action: WorkAction, note: string | null) {
      const p = actor.principal;
      const permission = action === 'cancel' ? 'repair:cancel' : action === 'reopen' ? 'repair:reopen' : 'repair:work';
      const o = await inScopeOrder(actor, id, permission);
      if (p.role === 'technician' && o.technician?.accountId !== p.accountId) throw new AppError('NOT_ASSIGNEE');
      if (p.role === 'resident' && action === 'cancel' && !['pending', 'assigned'].includes(o.status)) {
        throw new AppError('ILLEGAL_TRANSITION', 'a resident may cancel only before a technician accepts');
      }
      const to = TARGET[action];
      await change(prisma, actor, async (tx, audit) => {
        let data: Record<string, unknown> = {};
        if (to === 'reopened') {
          // A reopened order gets its service levels afresh: the clock restarts with the resident's complaint.
          const sla = CATEGORIES[o.category as Category];
          const now = clock();
          data = {
            acceptDueAt: new Date(now.getTime() + minutes(sla.acceptMin)),
            completeDueAt: new Date(now.getTime() + minutes(sla.completeMin)),
            acceptEscalatedAt: null,
            completeEscalatedAt: null,
          };
        }
        const after = await move(tx, audit, actor, o, to, note, data);
        if (to === 'completed') {
          await requestNotification(tx, o.id, {
            kind: 'repair.completed',
            estateId: o.estateId,
            accountIds: await householdAccounts(tx, o.householdId),
            title: '报修已完成',
            body: `${CATEGORIES[o.category as Category].label}: 请评价本次服务`,
          });
        }
        if (to === 'reopened') {
          const choice = await autoChoice(tx, after);
          if (choice) await assignTo(tx, audit, actor, after, choice, 'auto', 'reopened');
        }
      });
      return this.get(actor, id);
    },

    /** Staff dispatch: auto when no technician is named, override otherwise. */
    async assign(actor: Acting, id: string, input: { technicianId?: string | undefined; note?: string | undefined }) {
      const o = await inScopeOrder(actor, id, 'repair:dispatch');
      await change(prisma, actor, async (tx, audit) => {
        if (!input.technicianId) {
          const exclude = o.technicianId ? new Set([o.technicianId]) : undefined;
          const choice = await autoChoice(tx, o, exclude);
          if (!choice) throw new AppError('NO_TECHNICIAN');
          await assignTo(tx, audit, actor, o, choice, 'auto', input.note ?? 'redispatched by staff');
          return;
        }
        const t = await tx.technician.findUnique({ where: { id: input.technicianId } });
        if (!t || t.estateId !== o.estateId) throw notFound('Technician');
        const open = await tx.repairOrder.count({ where: { technicianId: t.id, status: { in: [...OPEN] } } });
        const at = await positionOf(tx, o.buildingId);
        const d = at && t.latE6 !== null && t.lngE6 !== null ? distanceM(at, { latE6: t.latE6, lngE6: t.lngE6 }) : null;
        const skill = CATEGORIES[o.category as Category].skill;
        const reason = `staff override${input.note ? ` (${input.note})` : ''}: ${describe({ distanceM: d, openOrders: open }, skill)}`;
        await assignTo(
          tx,
          audit,
          actor,
          o,
          { technicianId: t.id, distanceM: d, openOrders: open, reason },
          'override',
          'reassigned by staff',
        );
      });
      return this.get(actor, id);
    },

    async rate(actor: Acting, id: string, input: { rating: number; comment?: string | undefined }) {
      const o = await inScopeOrder(actor, id, 'repair:rate');
      if (o.status === 'rated' || o.rating !== null) throw new AppError('ALREADY_RATED');
      if (o.status !== 'completed') throw new AppError('ILLEGAL_TRANSITION', `a ${o.status} order cannot be rated yet`);
      await change(prisma, actor, (tx, audit) =>
        move(tx, audit, actor, o, 'rated', null, { rating: input.rating, ratingComment: input.comment ?? null }),
      );
      return this.get(actor, id);
    },

    async complain(actor: Acting, id: string, body: string) {
      const o = await inScopeOrder(actor, id, 'repair:complain');
      return change(prisma, actor, async (tx, audit) => {
        const c = await tx.repairComplaint.create({
          data: { orderId: o.id, estateId: o.estateId, householdId: o.householdId, body },
        });
        await audit({
          action: 'repair.complaint',
          entity: 'repair_complaint',
          entityId: c.id,
          estateId: o.estateId,
          after: { orderId: o.id, body },
        });
        await requestNotification(tx, c.id, {
          kind: 'repair.complaint',
          estateId: o.estateId,
          accountIds: await supervisors(tx, o.estateId),
          title: '新投诉',
          body: body.slice(0, 80),
        });
        return complaintView(c);
      });
    },

    async listComplaints(actor: Acting, q: { estateId?: string; status?: string }) {
      authorize(actor.principal, 'complaint:follow_up');
      const estateId = estateFilter(actor.principal, q.estateId);
      const rows = await prisma.repairComplaint.findMany({
        where: { ...(estateId ? { estateId } : {}), ...(q.status ? { status: q.status } : {}) },
        orderBy: { createdAt: 'desc' },
        take: 100,
      });
      return rows.map(complaintView);
    },

    async followUp(actor: Acting, complaintId: string, input: { followUp: string; resolved: boolean }) {
      const c = await prisma.repairComplaint.findUnique({ where: { id: complaintId } });
      if (!c) throw notFound('Complaint');
      authorize(actor.principal, 'complaint:follow_up', { estateId: c.estateId }, 'Complaint');
      if (c.status === 'resolved') throw new AppError('CONFLICT', 'the complaint is already resolved');
      return change(prisma, actor, async (tx, audit) => {
        const after = await tx.repairComplaint.update({
          where: { id: c.id },
          data: {
            followUp: input.followUp,
            status: input.resolved ? 'resolved' : 'open',
            followedUpBy: actor.principal.accountId,
            followedUpAt: clock(),
          },
        });
        await audit({
          action: 'repair.complaint_follow_up',
          entity: 'repair_complaint',
          entityId: c.id,
          estateId: c.estateId,
          before: complaintView(c),
          after: complaintView(after),
        });
        await requestNotification(tx, c.id, {
          kind: 'repair.complaint_follow_up',
          estateId: c.estateId,
          accountIds: await householdAccounts(tx, c.householdId),
          title: '投诉处理进展',
          body: input.followUp.slice(0, 80),
        });
        return complaintView(after);
      });
    },

    async stats(actor: Acting, q: { estateId?: string; from?: string; to?: string }) {
      authorize(actor.principal, 'repair:stats');
      const estateId = estateFilter(actor.principal, q.estateId);
      const to = q.to ? new Date(q.to) : clock();
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
      const rows = await figures(prisma, estateId, from, to);
      const techs = await prisma.technician.findMany({
        where: { id: { in: rows.flatMap((r) => (r.technician_id ? [r.technician_id] : [])) } },
        select: { id: true, name: true },
      });
      const names = new Map(techs.map((t) => [t.id, t.name]));
      const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);
      const fig = (r: (typeof rows)[number]) => ({
        orders: r.orders,
        completed: r.completed,
        avgMinutesToAccept: round(r.accept_min),
        avgMinutesToComplete: round(r.complete_min),
        avgRating: round(r.avg_rating),
        ratings: r.ratings,
        complaintRate: r.orders ? Math.round((r.complained / r.orders) * 1000) / 1000 : 0,
      });
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        estates: rows.filter((r) => !r.per_technician).map((r) => ({ estateId: r.estate_id, ...fig(r) })),
        technicians: rows
          .filter((r) => r.per_technician && r.technician_id)
          .map((r) => ({
            estateId: r.estate_id,
            technicianId: r.technician_id as string,
            name: names.get(r.technician_id as string) ?? '',
            ...fig(r),
          })),
      };
    },

    async addPhoto(actor: Acting, id: string, contentBase64: string) {
      const photo = checkPhoto(contentBase64, '/body/contentBase64');
      const o = await inScopeOrder(actor, id, 'repair:read');
      const p = actor.principal;
      if (p.role === 'technician' && o.technician?.accountId !== p.accountId) throw new AppError('NOT_ASSIGNEE');
      if (!OPEN.includes(o.status as Status) && o.status !== 'completed') {
        throw new AppError('ILLEGAL_TRANSITION', `photos cannot be added to a ${o.status} order`);
      }
      if ((await prisma.repairPhoto.count({ where: { orderId: id } })) >= MAX_PHOTOS * 3) {
        throw new AppError('CONFLICT', 'the order has as many photos as it may hold');
      }
      const stored = await storePhotos(o.id, o.estateId, [photo]);
      try {
        await change(prisma, actor, async (tx, audit) => {
          await tx.repairPhoto.createMany({ data: stored.rows });
          await audit({
            action: 'repair.photo_add',
            entity: 'repair_order',
            entityId: o.id,
            estateId: o.estateId,
            after: { photoId: stored.rows[0]?.id, contentType: photo.contentType, sizeBytes: photo.bytes.length },
          });
        });
      } catch (err) {
        await stored.undo();
        throw err;
      }
      return this.get(actor, id);
    },

    async readPhoto(actor: Acting, photoId: string) {
      const ph = await prisma.repairPhoto.findUnique({ where: { id: photoId } });
      if (!ph) throw notFound('Photo');
      await inScopeOrder(actor, ph.orderId, 'repair:read');
      const bytes = keyRing.openBytes(await blobs.get(ph.storageKey), `repair-photo:${ph.id}`);
      if (createHash('sha256').update(bytes).digest('hex') !== ph.sha256) throw new AppError('INTERNAL');
      await recordAudit(prisma, actor, {
        action: 'repair.photo_read',
        entity: 'repair_photo',
        entityId: ph.id,
        estateId: ph.estateId,
      });
      return { bytes, contentType: ph.contentType };
    },

    // Internals the jobs and the alarm listener share.
    internal: { move, assignTo, autoChoice, previouslyAssigned, supervisors },
  };
}
export type RepairService = ReturnType<typeof repairService>;

const complaintView = (c: {
  id: string;
  orderId: string;
  estateId: string;
  body: string;
  status: string;
  followUp: string | null;
  followedUpAt: Date | null;
  createdAt: Date;
}) => ({
  id: c.id,
  orderId: c.orderId,
  estateId: c.estateId,
  body: c.body,
  status: c.status,
  followUp: c.followUp,
  followedUpAt: iso(c.followedUpAt),
  createdAt: c.createdAt.toISOString(),
});
