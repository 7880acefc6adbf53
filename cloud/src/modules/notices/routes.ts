// Notices (公告): staff publish to an estate, a building or a unit, now or scheduled, optionally expiring;
// residents see the ones meant for them while they are live, and reading one leaves a receipt. A planned
// maintenance order produces its outage notice (one per order).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authorize, estateFilter, type Principal } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { DateTime, ErrorResponses, IdParams, Text, Uuid } from '../../core/schemas.js';
import { change, type Tx } from '../../core/tx.js';
import type { Notice as NoticeRow, PrismaClient } from '../../generated/prisma/client.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Kind = Type.Union(
  ['general', 'water_outage', 'power_outage', 'maintenance', 'event'].map((k) => Type.Literal(k)),
);
const Target = Type.Union([
  Type.Object({ kind: Type.Literal('estate') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('building'), id: Uuid }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('unit'), id: Uuid }, { additionalProperties: false }),
]);
const PublishBody = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    title: Text(100),
    body: Text(5000),
    kind: Kind,
    target: Target,
    publishAt: Type.Optional(DateTime),
    expiresAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);
const Notice = Type.Object({
  id: Uuid,
  estateId: Uuid,
  title: Type.String(),
  body: Type.String(),
  kind: Type.String(),
  target: Type.Object({ kind: Type.String(), id: Nullable(Uuid) }),
  publishAt: DateTime,
  expiresAt: Nullable(DateTime),
  repairOrderId: Nullable(Uuid),
  withdrawn: Type.Boolean(),
  read: Type.Boolean(),
});
const Receipts = Type.Object({
  noticeId: Uuid,
  audience: Type.Integer(),
  read: Type.Integer(),
  readers: Type.Array(Type.Object({ accountId: Uuid, readAt: DateTime })),
});

const view = (n: NoticeRow, read = false) => ({
  id: n.id,
  estateId: n.estateId,
  title: n.title,
  body: n.body,
  kind: n.kind,
  target: { kind: n.targetKind, id: n.targetId },
  publishAt: n.publishAt.toISOString(),
  expiresAt: n.expiresAt?.toISOString() ?? null,
  repairOrderId: n.repairOrderId,
  withdrawn: n.withdrawnAt !== null,
  read,
});

/** Where a resident lives: the targets a notice may name to reach them. */
async function residentTargets(prisma: PrismaClient, p: Principal) {
  const h = p.householdId
    ? await prisma.household.findUnique({ where: { id: p.householdId }, include: { unit: true } })
    : null;
  return h ? { unitId: h.unitId, buildingId: h.unit.buildingId } : null;
}

const isLive = (n: NoticeRow, now: Date) => !n.withdrawnAt && n.publishAt <= now && (!n.expiresAt || n.expiresAt > now);

/** Accounts of the residents a notice reaches. */
async function audience(db: PrismaClient | Tx, n: Pick<NoticeRow, 'estateId' | 'targetKind' | 'targetId'>) {
  const household =
    n.targetKind === 'unit'
      ? { unitId: n.targetId ?? '' }
      : n.targetKind === 'building'
        ? { unit: { buildingId: n.targetId ?? '' } }
        : { estateId: n.estateId };
  const rows = await db.account.findMany({
    where: { role: 'resident', disabledAt: null, person: { household: { ...household, status: 'active' } } },
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

const notices: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['notices'];

  async function create(
    actor: ReturnType<typeof actorOf>,
    estateId: string,
    input: {
      title: string;
      body: string;
      kind: string;
      target: { kind: string; id?: string };
      publishAt?: string | undefined;
      expiresAt?: string | undefined;
    },
    repairOrderId: string | null = null,
  ) {
    const now = new Date();
    const publishAt = input.publishAt ? new Date(input.publishAt) : now;
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt <= publishAt)
      throw new AppError('VALIDATION', 'expiresAt is not after publishAt', '/body/expiresAt');
    const targetId = input.target.kind === 'estate' ? null : (input.target.id ?? null);
    if (input.target.kind === 'building') {
      const b = await prisma.building.findUnique({ where: { id: targetId ?? '' } });
      if (!b || b.estateId !== estateId) throw notFound('Building');
    } else if (input.target.kind === 'unit') {
      const u = await prisma.unit.findUnique({ where: { id: targetId ?? '' } });
      if (!u || u.estateId !== estateId) throw notFound('Unit');
    }
    return change(prisma, actor, async (tx, audit) => {
      const n = await tx.notice.create({
        data: {
          estateId,
          title: input.title,
          body: input.body,
          kind: input.kind,
          targetKind: input.target.kind,
          targetId,
          publishAt,
          expiresAt,
          repairOrderId,
          createdBy: actor.principal.accountId,
        },
      });
      await audit({ action: 'notice.publish', entity: 'notice', entityId: n.id, estateId, after: view(n) });
      // Scheduled notices are announced when they go live by whoever reads them then; only immediate ones push.
      if (publishAt <= now) {
        await requestNotification(tx, n.id, {
          kind: 'notice.published',
          estateId,
          accountIds: await audience(tx, n),
          title: n.title,
          body: n.body.slice(0, 80),
        });
      }
      return view(n);
    });
  }

  async function visible(p: Principal, id: string) {
    const n = await prisma.notice.findUnique({ where: { id } });
    if (!n) throw notFound('Notice');
    authorize(p, 'notice:read', { estateId: n.estateId, householdId: p.householdId }, 'Notice');
    if (p.role === 'resident') {
      const where = await residentTargets(prisma, p);
      const reaches =
        n.targetKind === 'estate' ||
        (n.targetKind === 'building' && n.targetId === where?.buildingId) ||
        (n.targetKind === 'unit' && n.targetId === where?.unitId);
      if (!reaches || !isLive(n, new Date())) throw notFound('Notice');
    }
    return n;
  }

  app.post(
    '/notices',
    { schema: { tags, body: PublishBody, response: { 201: Notice, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      authorize(actor.principal, 'notice:publish');
      const estateId = estateFilter(actor.principal, request.body.estateId);
      if (!estateId) throw new AppError('VALIDATION', 'estateId is required', '/body/estateId');
      return reply.status(201).send(await create(actor, estateId, request.body));
    },
  );

  app.get(
    '/notices',
    {
      schema: {
        tags,
        querystring: Type.Object({ estateId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Type.Array(Notice), ...ErrorResponses },
      },
    },
    async (request) => {
      const { principal: p } = actorOf(request);
      authorize(p, 'notice:read');
      const estateId = estateFilter(p, request.query.estateId);
      const now = new Date();
      let where: Record<string, unknown> = estateId ? { estateId } : {};
      if (p.role === 'resident') {
        const t = await residentTargets(prisma, p);
        where = {
          ...where,
          withdrawnAt: null,
          publishAt: { lte: now },
          AND: [
            { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
            {
              OR: [
                { targetKind: 'estate' },
                { targetKind: 'building', targetId: t?.buildingId ?? '00000000-0000-0000-0000-000000000000' },
                { targetKind: 'unit', targetId: t?.unitId ?? '00000000-0000-0000-0000-000000000000' },
              ],
            },
          ],
        };
      }
      const rows = await prisma.notice.findMany({
        where,
        include: { reads: { where: { accountId: p.accountId }, select: { accountId: true } } },
        orderBy: { publishAt: 'desc' },
        take: 100,
      });
      return rows.map((n) => view(n, n.reads.length > 0));
    },
  );

  app.post(
    '/notices/:id/read',
    { schema: { tags, params: IdParams, response: { 200: Notice, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const n = await visible(actor.principal, request.params.id);
      const seen = await prisma.noticeRead.findUnique({
        where: { noticeId_accountId: { noticeId: n.id, accountId: actor.principal.accountId } },
      });
      if (!seen) {
        await change(prisma, actor, async (tx, audit) => {
          await tx.noticeRead.create({ data: { noticeId: n.id, accountId: actor.principal.accountId } });
          await audit({ action: 'notice.read', entity: 'notice', entityId: n.id, estateId: n.estateId });
        });
      }
      return view(n, true);
    },
  );

  app.get(
    '/notices/:id/receipts',
    { schema: { tags, params: IdParams, response: { 200: Receipts, ...ErrorResponses } } },
    async (request) => {
      const { principal: p } = actorOf(request);
      const n = await prisma.notice.findUnique({ where: { id: request.params.id } });
      if (!n) throw notFound('Notice');
      authorize(p, 'notice:publish', { estateId: n.estateId }, 'Notice');
      const reads = await prisma.noticeRead.findMany({ where: { noticeId: n.id }, orderBy: { readAt: 'asc' } });
      return {
        noticeId: n.id,
        audience: (await audience(prisma, n)).length,
        read: reads.length,
        readers: reads.map((r) => ({ accountId: r.accountId, readAt: r.readAt.toISOString() })),
      };
    },
  );

  app.post(
    '/notices/:id/withdraw',
    { schema: { tags, params: IdParams, response: { 200: Notice, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const n = await prisma.notice.findUnique({ where: { id: request.params.id } });
      if (!n) throw notFound('Notice');
      authorize(actor.principal, 'notice:publish', { estateId: n.estateId }, 'Notice');
      if (n.withdrawnAt) throw new AppError('CONFLICT', 'the notice is already withdrawn');
      return change(prisma, actor, async (tx, audit) => {
        const after = await tx.notice.update({ where: { id: n.id }, data: { withdrawnAt: new Date() } });
        await audit({
          action: 'notice.withdraw',
          entity: 'notice',
          entityId: n.id,
          estateId: n.estateId,
          before: view(n),
          after: view(after),
        });
        return view(after);
      });
    },
  );

  // A planned-maintenance order announces its outage: water for plumbing, power for electrical work.
  app.post(
    '/repairs/:id/outage-notice',
    { schema: { tags, params: IdParams, response: { 201: Notice, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const o = await prisma.repairOrder.findUnique({ where: { id: request.params.id } });
      if (!o) throw notFound('Repair order');
      authorize(actor.principal, 'notice:publish', { estateId: o.estateId }, 'Repair order');
      if (o.source !== 'planned' || !o.plannedStartsAt || !o.plannedEndsAt) {
        throw new AppError('CONFLICT', 'only a planned-maintenance order has an outage window');
      }
      if (await prisma.notice.findFirst({ where: { repairOrderId: o.id } })) {
        throw new AppError('CONFLICT', 'the order already has its notice');
      }
      const kind =
        o.category === 'plumbing' ? 'water_outage' : o.category === 'electrical' ? 'power_outage' : 'maintenance';
      const what = kind === 'water_outage' ? '停水' : kind === 'power_outage' ? '停电' : '设施维护';
      const { timezone } = await prisma.estate.findUniqueOrThrow({ where: { id: o.estateId } });
      const fmt = (d: Date) => d.toLocaleString('zh-CN', { timeZone: timezone, hour12: false });
      const notice = await create(
        actor,
        o.estateId,
        {
          title: `${what}通知`,
          body: `因${o.description}，${fmt(o.plannedStartsAt)} 至 ${fmt(o.plannedEndsAt)} ${what}${o.commonArea ? `（${o.commonArea}）` : ''}。给您带来不便，敬请谅解。`,
          kind,
          target: o.buildingId ? { kind: 'building', id: o.buildingId } : { kind: 'estate' },
          expiresAt: o.plannedEndsAt > new Date() ? o.plannedEndsAt.toISOString() : undefined,
        },
        o.id,
      );
      return reply.status(201).send(notice);
    },
  );
};
export default notices;
