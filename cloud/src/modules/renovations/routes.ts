// Renovation filings (装修备案): a household files, staff approve or reject, and mark approved works completed.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorize, estateFilter } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { DateOnly, DateTime, ErrorResponses, IdParams, Page, PageQuery, Text, Uuid } from '../../core/schemas.js';
import { change } from '../../core/tx.js';

const Status = Type.Union(['submitted', 'approved', 'rejected', 'completed'].map((s) => Type.Literal(s)));
type Status = 'submitted' | 'approved' | 'rejected' | 'completed';
/** Which decisions each state allows. */
const NEXT: Record<Status, Status[]> = {
  submitted: ['approved', 'rejected'],
  approved: ['completed'],
  rejected: [],
  completed: [],
};

const FileBody = Type.Object(
  { description: Text(500), startsOn: DateOnly, endsOn: DateOnly },
  { additionalProperties: false },
);
const DecisionBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('completed')]),
    note: Type.Optional(Text(500)),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  { estateId: Type.Optional(Uuid), status: Type.Optional(Status), ...PageQuery },
  { additionalProperties: false },
);
const Renovation = Type.Object({
  id: Uuid,
  estateId: Uuid,
  householdId: Uuid,
  description: Type.String(),
  startsOn: DateOnly,
  endsOn: DateOnly,
  status: Status,
  decisionNote: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
});

interface Row {
  id: string;
  estateId: string;
  householdId: string;
  description: string;
  startsOn: Date;
  endsOn: Date;
  status: string;
  decisionNote: string | null;
  createdAt: Date;
}
const view = (r: Row) => ({
  id: r.id,
  estateId: r.estateId,
  householdId: r.householdId,
  description: r.description,
  startsOn: r.startsOn.toISOString().slice(0, 10),
  endsOn: r.endsOn.toISOString().slice(0, 10),
  status: r.status as Status,
  decisionNote: r.decisionNote,
  createdAt: r.createdAt.toISOString(),
});

const renovations: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['renovations'];
  app.post(
    '/households/:id/renovations',
    { schema: { tags, params: IdParams, body: FileBody, response: { 201: Renovation, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const h = await prisma.household.findUnique({ where: { id: request.params.id } });
      if (!h) throw notFound('Household');
      authorize(actor.principal, 'renovation:file', { estateId: h.estateId, householdId: h.id }, 'Household');
      const { description, startsOn, endsOn } = request.body;
      if (endsOn < startsOn) throw new AppError('VALIDATION', 'endsOn is before startsOn', '/body/endsOn');
      const r = await change(prisma, actor, async (tx, audit) => {
        const created = await tx.renovation.create({
          data: {
            estateId: h.estateId,
            householdId: h.id,
            description,
            startsOn: new Date(startsOn),
            endsOn: new Date(endsOn),
          },
        });
        await audit({
          action: 'renovation.file',
          entity: 'renovation',
          entityId: created.id,
          estateId: h.estateId,
          after: view(created),
        });
        return created;
      });
      return reply.status(201).send(view(r));
    },
  );
  app.get(
    '/renovations',
    { schema: { tags, querystring: ListQuery, response: { 200: Page(Renovation), ...ErrorResponses } } },
    async (request) => {
      const { principal } = actorOf(request);
      authorize(principal, 'renovation:list');
      const estateId = estateFilter(principal, request.query.estateId);
      const limit = request.query.limit ?? 20;
      const after = decodeCursor(request.query.cursor, 1);
      const rows = await prisma.renovation.findMany({
        where: {
          ...(estateId ? { estateId } : {}),
          ...(request.query.status ? { status: request.query.status } : {}),
          ...(after ? { id: { lt: String(after[0]) } } : {}),
        },
        orderBy: { id: 'desc' },
        take: limit + 1,
      });
      const page = pageOf(rows, limit, (r) => [r.id]);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );
  app.post(
    '/renovations/:id/decision',
    { schema: { tags, params: IdParams, body: DecisionBody, response: { 200: Renovation, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const r = await prisma.renovation.findUnique({ where: { id: request.params.id } });
      if (!r) throw notFound('Renovation');
      authorize(
        actor.principal,
        'renovation:decide',
        { estateId: r.estateId, householdId: r.householdId },
        'Renovation',
      );
      const { decision, note } = request.body;
      if (!NEXT[r.status as Status].includes(decision)) {
        throw new AppError('CONFLICT', `a ${r.status} filing cannot become ${decision}`, '/body/decision');
      }
      return change(prisma, actor, async (tx, audit) => {
        const updated = await tx.renovation.update({
          where: { id: r.id },
          data: {
            status: decision,
            decisionNote: note ?? null,
            decidedBy: actor.principal.accountId,
            decidedAt: new Date(),
          },
        });
        await audit({
          action: 'renovation.decide',
          entity: 'renovation',
          entityId: r.id,
          estateId: r.estateId,
          before: view(r),
          after: view(updated),
        });
        return view(updated);
      });
    },
  );
};
export default renovations;
