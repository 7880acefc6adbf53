// Admin-only search of the audit log, newest first, keyset-paginated on id.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorize } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { DateTime, ErrorResponses, Page, PageQuery, Uuid } from '../../core/schemas.js';
import { verifyAuditChain } from './verify.js';

const Token = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' });
const Query = Type.Object(
  {
    entity: Type.Optional(Token),
    entityId: Type.Optional(Token),
    actorId: Type.Optional(Token),
    action: Type.Optional(Token),
    estateId: Type.Optional(Uuid),
    outcome: Type.Optional(Type.Union([Type.Literal('allowed'), Type.Literal('denied')])),
    from: Type.Optional(DateTime),
    to: Type.Optional(DateTime),
    ...PageQuery,
  },
  { additionalProperties: false },
);
const Entry = Type.Object({
  id: Type.String(),
  at: DateTime,
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorRole: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  entity: Type.String(),
  entityId: Type.Union([Type.String(), Type.Null()]),
  estateId: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  requestId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String(),
});

const audit: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['audit'];
  app.get(
    '/audit',
    { schema: { tags, querystring: Query, response: { 200: Page(Entry), ...ErrorResponses } } },
    async (request) => {
      authorize(actorOf(request).principal, 'audit:read');
      const q = request.query;
      const limit = q.limit ?? 50;
      const after = decodeCursor(q.cursor, 1);
      const rows = await prisma.auditEntry.findMany({
        where: {
          ...(q.entity ? { entity: q.entity } : {}),
          ...(q.entityId ? { entityId: q.entityId } : {}),
          ...(q.actorId ? { actorId: q.actorId } : {}),
          ...(q.action ? { action: q.action } : {}),
          ...(q.estateId ? { estateId: q.estateId } : {}),
          ...(q.outcome ? { outcome: q.outcome } : {}),
          at: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) },
          ...(after ? { id: { lt: BigInt(/^\d{1,19}$/.test(String(after[0])) ? String(after[0]) : '0') } } : {}),
        },
        orderBy: { id: 'desc' },
        take: limit + 1,
      });
      const page = pageOf(rows, limit, (r) => [r.id.toString()]);
      return {
        items: page.items.map((r) => ({ ...r, id: r.id.toString(), at: r.at.toISOString(), prevHash: undefined })),
        nextCursor: page.nextCursor,
      };
    },
  );
  app.get(
    '/audit/verify',
    {
      schema: {
        tags,
        response: {
          200: Type.Object({ ok: Type.Boolean(), rows: Type.Integer(), lastHash: Type.String() }),
          ...ErrorResponses,
        },
      },
    },
    async (request) => {
      authorize(actorOf(request).principal, 'audit:read');
      return verifyAuditChain(prisma);
    },
  );
};
export default audit;
