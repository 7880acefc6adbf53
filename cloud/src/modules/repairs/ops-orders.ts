// Repair orders: submission, listing, the status machine and (re)assignment.
// Repair orders (报修工单): submission, the status machine, dispatch, ratings, complaints and figures.
// Every change goes through `change()` so the order, its transition row and its audit row commit together; a
// transition updates `WHERE status = <from>`, so two people acting at once cannot both move the same order.
import { randomUUID } from 'node:crypto';
import { type AuditEvent, appendAudits } from '../../core/audit.js';
import { authorize, estateFilter } from '../../core/authz.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { change } from '../../core/tx.js';
import { CATEGORIES, type Category, OPEN } from './categories.js';
import { describe, distanceM } from './dispatch.js';
import { checkPhoto, MAX_PHOTOS } from './photos.js';
import { positionOf } from './repository.js';
import {
  type Acting,
  actorId,
  auditable,
  type Loaded,
  minutes,
  orderView,
  type RepairScope,
  type SubmitInput,
  TARGET,
  type WorkAction,
} from './scope.js';

export function orderOps(scope: RepairScope) {
  const {
    prisma,
    clock,
    inScopeOrder,
    householdAccounts,
    move,
    assignTo,
    autoChoice,
    resolvePlace,
    storePhotos,
    detail,
  } = scope;
  return {
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
      // The order as the transaction leaves it, so the answer need not read it again.
      let known: Loaded | undefined;
      try {
        await prisma.$transaction(async (tx) => {
          // The submission's and the assignment's audit rows are appended together, in order, at the end.
          const events: AuditEvent[] = [];
          const audit = async (event: AuditEvent) => {
            events.push(event);
          };
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
          known = { ...o, technician: null };
          if (choice) {
            const after = await assignTo(tx, audit, actor, o, choice, 'auto', 'dispatched', true);
            const { accountId, name } = choice;
            known =
              accountId && name ? { ...after, technician: { id: choice.technicianId, name, accountId } } : undefined;
          }
          await appendAudits(tx, actor, events);
        });
      } catch (err) {
        await stored.undo();
        throw err;
      }
      return detail(actor, id, known);
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
      return detail(actor, id);
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
      return detail(actor, id);
    },
  };
}
