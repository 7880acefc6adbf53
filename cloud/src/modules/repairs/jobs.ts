// The repairs job, run every minute by the plugin (and by tests with a moved clock): offer orders nobody
// accepted in time to the next technician, dispatch orders still waiting for one, and escalate to the estate's
// supervisors (staff) every order past its accept or complete deadline — once per deadline.
import { systemActor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { requestNotification } from '../../core/notify.js';
import { change } from '../../core/tx.js';
import { CATEGORIES, type Category, OPEN } from './categories.js';
import { repairService } from './service.js';

export interface JobResult {
  reassigned: number;
  dispatched: number;
  escalated: number;
}

const BATCH = 200;

export async function runRepairJobs(deps: CloudDeps, now: Date = new Date()): Promise<JobResult> {
  const { prisma } = deps;
  const service = repairService(deps, () => now);
  const { assignTo, autoChoice, previouslyAssigned, supervisors } = service.internal;
  const actor = systemActor('repairs');
  const result: JobResult = { reassigned: 0, dispatched: 0, escalated: 0 };

  // 1. Not accepted within the category's window: the next best technician, never one who already had it.
  const assigned = await prisma.repairOrder.findMany({
    where: { status: 'assigned' },
    take: BATCH,
    orderBy: { assignedAt: 'asc' },
  });
  for (const o of assigned) {
    const windowMs = CATEGORIES[o.category as Category].reassignMin * 60_000;
    if (!o.assignedAt || now.getTime() - o.assignedAt.getTime() < windowMs) continue;
    const moved = await change(prisma, actor, async (tx, audit) => {
      const choice = await autoChoice(tx, o, await previouslyAssigned(tx, o.id));
      if (!choice) return false;
      const why = `not accepted within ${CATEGORIES[o.category as Category].reassignMin} min`;
      await assignTo(tx, audit, actor, o, { ...choice, reason: `${why}; ${choice.reason}` }, 'auto', why);
      return true;
    }).catch(() => false); // someone acted on the order meanwhile: it is no longer ours to move
    if (moved) result.reassigned++;
  }

  // 2. Still waiting for a technician (none was free when it came in).
  const waiting = await prisma.repairOrder.findMany({
    where: { status: { in: ['pending', 'reopened'] } },
    take: BATCH,
    orderBy: { createdAt: 'asc' },
  });
  for (const o of waiting) {
    const done = await change(prisma, actor, async (tx, audit) => {
      const choice = await autoChoice(tx, o);
      if (!choice) return false;
      await assignTo(tx, audit, actor, o, choice, 'auto', 'dispatched by job');
      return true;
    }).catch(() => false);
    if (done) result.dispatched++;
  }

  // 3. Escalation, once per deadline.
  const late = await prisma.repairOrder.findMany({
    where: {
      OR: [
        { status: { in: ['pending', 'assigned', 'reopened'] }, acceptDueAt: { lt: now }, acceptEscalatedAt: null },
        { status: { in: [...OPEN] }, completeDueAt: { lt: now }, completeEscalatedAt: null },
      ],
    },
    take: BATCH,
  });
  for (const o of late) {
    const kind =
      o.acceptEscalatedAt === null && ['pending', 'assigned', 'reopened'].includes(o.status) && o.acceptDueAt < now
        ? 'accept'
        : 'complete';
    const field = kind === 'accept' ? 'acceptEscalatedAt' : 'completeEscalatedAt';
    const escalated = await change(prisma, actor, async (tx, audit) => {
      const { count } = await tx.repairOrder.updateMany({
        where: { id: o.id, [field]: null, status: o.status },
        data: { [field]: now },
      });
      if (count !== 1) return false;
      const dueAt = kind === 'accept' ? o.acceptDueAt : o.completeDueAt;
      await audit({
        action: 'repair.escalate',
        entity: 'repair_order',
        entityId: o.id,
        estateId: o.estateId,
        after: { sla: kind, dueAt, status: o.status, technicianId: o.technicianId },
      });
      await requestNotification(tx, o.id, {
        kind: 'repair.escalated',
        estateId: o.estateId,
        accountIds: await supervisors(tx, o.estateId),
        title: kind === 'accept' ? '工单超时未接单' : '工单超时未完成',
        body: `${CATEGORIES[o.category as Category].label}: ${o.description.slice(0, 60)} (期限 ${dueAt.toISOString()})`,
        channels: ['push', 'sms'],
      });
      return true;
    });
    if (escalated) result.escalated++;
  }
  return result;
}
