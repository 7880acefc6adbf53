// The FAQ assistant: staff keep the entries (per estate, or for every estate when estateId is null); residents
// ask in their own words and get the best entries with a confidence, and an offer to open a repair order when
// the question is about a fault.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authorize, estateFilter } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { ErrorResponses, IdParams, Text, Uuid } from '../../core/schemas.js';
import { change } from '../../core/tx.js';
import type { FaqEntry } from '../../generated/prisma/client.js';
import { Bm25Index, faultCategory } from './retrieval.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Category = Type.Union(
  ['plumbing', 'electrical', 'door_access', 'lift', 'charger', 'structure', 'other'].map((c) => Type.Literal(c)),
);
const EntryBody = Type.Object(
  {
    estateId: Type.Optional(Nullable(Uuid)),
    question: Text(200),
    answer: Text(2000),
    keywords: Type.Optional(Text(200, 0)),
    repairCategory: Type.Optional(Nullable(Category)),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    question: Type.Optional(Text(200)),
    answer: Type.Optional(Text(2000)),
    keywords: Type.Optional(Text(200, 0)),
    repairCategory: Type.Optional(Nullable(Category)),
  },
  { additionalProperties: false, minProperties: 1 },
);
const Entry = Type.Object({
  id: Uuid,
  estateId: Nullable(Uuid),
  question: Type.String(),
  answer: Type.String(),
  keywords: Type.String(),
  repairCategory: Nullable(Type.String()),
});
const AskBody = Type.Object({ question: Text(200) }, { additionalProperties: false });
const Answer = Type.Object({
  answer: Nullable(Type.String()),
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  matches: Type.Array(
    Type.Object({ id: Uuid, question: Type.String(), answer: Type.String(), confidence: Type.Number() }),
  ),
  offerRepair: Nullable(
    Type.Object({
      category: Type.String(),
      prompt: Type.String(),
      method: Type.Literal('POST'),
      url: Type.Literal('/api/repairs'),
    }),
  ),
});

/** Below this the assistant says it does not know rather than guess. */
export const MIN_CONFIDENCE = 0.35;

const view = (e: FaqEntry) => ({
  id: e.id,
  estateId: e.estateId,
  question: e.question,
  answer: e.answer,
  keywords: e.keywords,
  repairCategory: e.repairCategory,
});

const faq: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['faq'];

  const entriesFor = (estateId: string | null) =>
    prisma.faqEntry.findMany({
      where: { retiredAt: null, OR: [{ estateId: null }, ...(estateId ? [{ estateId }] : [])] },
      orderBy: { createdAt: 'asc' },
    });

  async function editable(id: string, p: ReturnType<typeof actorOf>['principal']) {
    const e = await prisma.faqEntry.findUnique({ where: { id } });
    if (!e || e.retiredAt) throw notFound('FAQ entry');
    // Entries for every estate are the admin's; an estate's own entries its staff's.
    if (e.estateId === null ? p.role !== 'admin' : false)
      throw new AppError('FORBIDDEN', 'only an admin edits FAQ entries shared by every estate');
    authorize(p, 'faq:manage', e.estateId ? { estateId: e.estateId } : undefined, 'FAQ entry');
    return e;
  }

  app.post(
    '/faq',
    { schema: { tags, body: EntryBody, response: { 201: Entry, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const p = actor.principal;
      authorize(p, 'faq:manage');
      const estateId =
        request.body.estateId === null && p.role === 'admin'
          ? null
          : (estateFilter(p, request.body.estateId ?? undefined) ?? null);
      const e = await change(prisma, actor, async (tx, audit) => {
        const created = await tx.faqEntry.create({
          data: {
            estateId,
            question: request.body.question,
            answer: request.body.answer,
            keywords: request.body.keywords ?? '',
            repairCategory: request.body.repairCategory ?? null,
            createdBy: p.accountId,
          },
        });
        await audit({
          action: 'faq.create',
          entity: 'faq_entry',
          entityId: created.id,
          estateId,
          after: view(created),
        });
        return created;
      });
      return reply.status(201).send(view(e));
    },
  );

  app.patch(
    '/faq/:id',
    { schema: { tags, params: IdParams, body: PatchBody, response: { 200: Entry, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const e = await editable(request.params.id, actor.principal);
      const after = await change(prisma, actor, async (tx, audit) => {
        const updated = await tx.faqEntry.update({ where: { id: e.id }, data: request.body });
        await audit({
          action: 'faq.update',
          entity: 'faq_entry',
          entityId: e.id,
          estateId: e.estateId,
          before: view(e),
          after: view(updated),
        });
        return updated;
      });
      return view(after);
    },
  );

  app.post(
    '/faq/:id/retire',
    { schema: { tags, params: IdParams, response: { 200: Entry, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const e = await editable(request.params.id, actor.principal);
      const after = await change(prisma, actor, async (tx, audit) => {
        const updated = await tx.faqEntry.update({ where: { id: e.id }, data: { retiredAt: new Date() } });
        await audit({
          action: 'faq.retire',
          entity: 'faq_entry',
          entityId: e.id,
          estateId: e.estateId,
          before: view(e),
        });
        return updated;
      });
      return view(after);
    },
  );

  app.get(
    '/faq',
    {
      schema: {
        tags,
        querystring: Type.Object({ estateId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Type.Array(Entry), ...ErrorResponses },
      },
    },
    async (request) => {
      const { principal: p } = actorOf(request);
      authorize(p, 'faq:ask');
      return (await entriesFor(estateFilter(p, request.query.estateId) ?? null)).map(view);
    },
  );

  app.post(
    '/faq/ask',
    { schema: { tags, body: AskBody, response: { 200: Answer, ...ErrorResponses } } },
    async (request) => {
      const { principal: p } = actorOf(request);
      authorize(p, 'faq:ask');
      const entries = await entriesFor(p.estateId);
      const byId = new Map(entries.map((e) => [e.id, e]));
      // Questions are weighted double: they are what residents' wording resembles most.
      const index = new Bm25Index(
        entries.map((e) => ({ id: e.id, text: `${e.question} ${e.question} ${e.keywords} ${e.answer}` })),
      );
      const hits = index.search(request.body.question, 3);
      const matches = hits.flatMap((h) => {
        const e = byId.get(h.id);
        return e ? [{ id: e.id, question: e.question, answer: e.answer, confidence: h.confidence }] : [];
      });
      const best = hits[0];
      const confident = best && best.confidence >= MIN_CONFIDENCE ? best : undefined;
      const bestEntry = confident ? byId.get(confident.id) : undefined;
      const category = (confident ? bestEntry?.repairCategory : null) ?? faultCategory(request.body.question);
      return {
        answer: bestEntry?.answer ?? null,
        confidence: best?.confidence ?? 0,
        matches,
        offerRepair:
          category && p.role === 'resident'
            ? {
                category,
                prompt: '这听起来需要维修。要为您提交报修工单吗？',
                method: 'POST' as const,
                url: '/api/repairs' as const,
              }
            : null,
      };
    },
  );
};
export default faq;
