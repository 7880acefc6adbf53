// Messages: residents and staff comment on notices and events; staff moderate by hiding a comment with a
// reason (kept, never deleted, so a moderation decision can be reviewed). Residents see that a comment was
// hidden and why, not what it said.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authorize, type Principal } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { DateTime, ErrorResponses, IdParams, Text, Uuid } from '../../core/schemas.js';
import { change } from '../../core/tx.js';
import type { Comment as CommentRow } from '../../generated/prisma/client.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const CommentSchema = Type.Object({
  id: Uuid,
  subject: Type.Object({ kind: Type.String(), id: Uuid }),
  authorId: Uuid,
  body: Nullable(Type.String()),
  hidden: Nullable(Type.Object({ reason: Type.String(), at: DateTime })),
  createdAt: DateTime,
});
const Body = Type.Object({ body: Text(1000) }, { additionalProperties: false });
const HideBody = Type.Object({ reason: Text(200) }, { additionalProperties: false });
type Kind = 'notice' | 'event';

const view = (c: CommentRow, p: Principal) => {
  const moderator = p.role === 'staff' || p.role === 'admin';
  return {
    id: c.id,
    subject: { kind: c.subjectKind, id: c.subjectId },
    authorId: c.authorId,
    body: c.hiddenAt && !moderator ? null : c.body,
    hidden: c.hiddenAt ? { reason: c.hiddenReason ?? '', at: c.hiddenAt.toISOString() } : null,
    createdAt: c.createdAt.toISOString(),
  };
};

const messages: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['messages'];

  async function subjectEstate(kind: Kind, id: string): Promise<string> {
    const row =
      kind === 'notice'
        ? await prisma.notice.findUnique({ where: { id }, select: { estateId: true, withdrawnAt: true } })
        : await prisma.communityEvent.findUnique({ where: { id }, select: { estateId: true, cancelledAt: true } });
    if (!row) throw notFound(kind === 'notice' ? 'Notice' : 'Event');
    return row.estateId;
  }

  for (const kind of ['notice', 'event'] as const) {
    const base = kind === 'notice' ? '/notices/:id/comments' : '/events/:id/comments';
    app.post(
      base,
      { schema: { tags, params: IdParams, body: Body, response: { 201: CommentSchema, ...ErrorResponses } } },
      async (request, reply) => {
        const actor = actorOf(request);
        const estateId = await subjectEstate(kind, request.params.id);
        authorize(actor.principal, 'comment:write', { estateId, householdId: actor.principal.householdId }, 'Subject');
        const c = await change(prisma, actor, async (tx, audit) => {
          const created = await tx.comment.create({
            data: {
              estateId,
              subjectKind: kind,
              subjectId: request.params.id,
              authorId: actor.principal.accountId,
              body: request.body.body,
            },
          });
          await audit({
            action: 'comment.create',
            entity: 'comment',
            entityId: created.id,
            estateId,
            after: { subject: `${kind}:${request.params.id}`, body: created.body },
          });
          return created;
        });
        return reply.status(201).send(view(c, actor.principal));
      },
    );
    app.get(
      base,
      { schema: { tags, params: IdParams, response: { 200: Type.Array(CommentSchema), ...ErrorResponses } } },
      async (request) => {
        const { principal: p } = actorOf(request);
        const estateId = await subjectEstate(kind, request.params.id);
        authorize(
          p,
          kind === 'notice' ? 'notice:read' : 'event:read',
          { estateId, householdId: p.householdId },
          'Subject',
        );
        const rows = await prisma.comment.findMany({
          where: { subjectKind: kind, subjectId: request.params.id },
          orderBy: { createdAt: 'asc' },
          take: 200,
        });
        return rows.map((c) => view(c, p));
      },
    );
  }

  app.post(
    '/comments/:id/hide',
    { schema: { tags, params: IdParams, body: HideBody, response: { 200: CommentSchema, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      authorize(actor.principal, 'comment:moderate');
      const c = await prisma.comment.findUnique({ where: { id: request.params.id } });
      if (!c) throw notFound('Comment');
      authorize(actor.principal, 'comment:moderate', { estateId: c.estateId }, 'Comment');
      if (c.hiddenAt) throw new AppError('CONFLICT', 'the comment is already hidden');
      const after = await change(prisma, actor, async (tx, audit) => {
        const updated = await tx.comment.update({
          where: { id: c.id },
          data: { hiddenAt: new Date(), hiddenBy: actor.principal.accountId, hiddenReason: request.body.reason },
        });
        await audit({
          action: 'comment.hide',
          entity: 'comment',
          entityId: c.id,
          estateId: c.estateId,
          before: { hidden: false },
          after: { hidden: true, reason: request.body.reason },
        });
        return updated;
      });
      return view(after, actor.principal);
    },
  );
};
export default messages;
