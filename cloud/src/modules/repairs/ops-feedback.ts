import { authorize, estateFilter } from '../../core/authz.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { change } from '../../core/tx.js';
import { figures } from './repository.js';
import type { Acting, RepairScope } from './scope.js';
import { complaintView } from './views.js';

export function feedbackOps(scope: RepairScope) {
  const { prisma, clock, inScopeOrder, householdAccounts, supervisors, move, detail } = scope;
  return {
    async rate(actor: Acting, id: string, input: { rating: number; comment?: string | undefined }) {
      const o = await inScopeOrder(actor, id, 'repair:rate');
      if (o.status === 'rated' || o.rating !== null) throw new AppError('ALREADY_RATED');
      if (o.status !== 'completed') throw new AppError('ILLEGAL_TRANSITION', `a ${o.status} order cannot be rated yet`);
      await change(prisma, actor, (tx, audit) =>
        move(tx, audit, actor, o, 'rated', null, { rating: input.rating, ratingComment: input.comment ?? null }),
      );
      return detail(actor, id);
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
  };
}
