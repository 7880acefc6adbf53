// Access events as the gateways reported them (gateway_events, stored by the ingest): a search for staff across
// every gateway of the estate, a person's own history (the resident sees only their own), and counts per door and
// hour for dashboards. Only the decision fields leave here; a face record carries its score, never an image.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { DateTime, ErrorResponses, IdParams, Page, PageQuery, Uuid } from '../../core/schemas.js';
import { Prisma } from '../../generated/prisma/client.js';
import { estateInScope, personInScope } from './common.js';

const Method = Type.Union(
  ['face', 'ble', 'qr', 'pin', 'remote', 'exit_button', 'fire_release'].map((m) => Type.Literal(m)),
);
const Filters = {
  doorId: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' })),
  method: Type.Optional(Method),
  granted: Type.Optional(Type.Boolean()),
  from: Type.Optional(DateTime),
  to: Type.Optional(DateTime),
};
const SearchQuery = Type.Object(
  { ...Filters, personId: Type.Optional(Uuid), ...PageQuery },
  { additionalProperties: false },
);
const HistoryQuery = Type.Object({ ...Filters, ...PageQuery }, { additionalProperties: false });
const CountQuery = Type.Object(
  { from: DateTime, to: DateTime, doorId: Filters.doorId },
  { additionalProperties: false },
);
const Event = Type.Object({
  gatewayId: Type.String(),
  seq: Type.Integer(),
  ts: DateTime,
  doorId: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  personId: Type.Union([Type.String(), Type.Null()]),
  method: Type.Union([Type.String(), Type.Null()]),
  granted: Type.Union([Type.Boolean(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  credentialId: Type.Union([Type.String(), Type.Null()]),
  score: Type.Union([Type.Number(), Type.Null()]),
});
const Count = Type.Object({ doorId: Type.String(), hour: DateTime, granted: Type.Integer(), denied: Type.Integer() });

interface EventRow {
  gateway_id: string;
  seq: bigint;
  ts: Date;
  door_id: string | null;
  device_id: string | null;
  person_id: string | null;
  method: string | null;
  granted: boolean | null;
  reason: string | null;
  credential_id: string | null;
  score: number | null;
}
const view = (r: EventRow) => ({
  gatewayId: r.gateway_id,
  seq: Number(r.seq),
  ts: r.ts.toISOString(),
  doorId: r.door_id,
  deviceId: r.device_id,
  personId: r.person_id,
  method: r.method,
  granted: r.granted,
  reason: r.reason,
  credentialId: r.credential_id,
  score: r.score,
});

type Query = Static<typeof HistoryQuery> & { personId?: string | undefined };

/** Newest first, keyset on (ts, gateway, seq): page N costs what page 1 does. */
async function search(prisma: Prisma.TransactionClient, estateId: string, q: Query) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, 3) as [string, string, number] | undefined;
  const where = [Prisma.sql`estate_id = ${estateId}::uuid`, Prisma.sql`type = 'access_decision'`];
  if (q.doorId) where.push(Prisma.sql`door_id = ${q.doorId}`);
  if (q.personId) where.push(Prisma.sql`person_id = ${q.personId}`);
  if (q.method) where.push(Prisma.sql`method = ${q.method}`);
  if (q.granted !== undefined) where.push(Prisma.sql`granted = ${q.granted}`);
  if (q.from) where.push(Prisma.sql`ts >= ${new Date(q.from)}`);
  if (q.to) where.push(Prisma.sql`ts < ${new Date(q.to)}`);
  if (after) {
    where.push(
      Prisma.sql`(ts, gateway_id, seq) < (${new Date(after[0])}::timestamptz, ${after[1]}, ${after[2]}::bigint)`,
    );
  }
  const rows = await prisma.$queryRaw<EventRow[]>`
    SELECT gateway_id, seq, ts, door_id, device_id, person_id, method, granted,
           body->>'reason' AS reason, body->>'credentialId' AS credential_id, (body->>'score')::float8 AS score
    FROM gateway_events WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY ts DESC, gateway_id DESC, seq DESC LIMIT ${limit + 1}`;
  const page = pageOf(rows, limit, (r) => [r.ts.toISOString(), r.gateway_id, Number(r.seq)]);
  return { items: page.items.map(view), nextCursor: page.nextCursor };
}

const accessEventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['access'];
  app.get(
    '/estates/:id/access-events',
    { schema: { tags, params: IdParams, querystring: SearchQuery, response: { 200: Page(Event), ...ErrorResponses } } },
    async (req) => {
      estateInScope(actorOf(req), req.params.id, 'access_event:search');
      return search(prisma, req.params.id, req.query);
    },
  );
  app.get(
    '/persons/:id/access-events',
    {
      schema: { tags, params: IdParams, querystring: HistoryQuery, response: { 200: Page(Event), ...ErrorResponses } },
    },
    async (req) => {
      const person = await personInScope(prisma, actorOf(req), req.params.id, 'access_event:person');
      return search(prisma, person.estateId, { ...req.query, personId: person.id });
    },
  );
  app.get(
    '/estates/:id/access-events/counts',
    {
      schema: {
        tags,
        params: IdParams,
        querystring: CountQuery,
        response: { 200: Type.Array(Count), ...ErrorResponses },
      },
    },
    async (req) => {
      estateInScope(actorOf(req), req.params.id, 'access_event:search');
      const from = new Date(req.query.from);
      const to = new Date(req.query.to);
      if (!(to > from) || to.getTime() - from.getTime() > 31 * 86_400_000) {
        throw new AppError('BAD_REQUEST', 'the range must be positive and at most 31 days', '/querystring/to');
      }
      const door = req.query.doorId ? Prisma.sql`AND door_id = ${req.query.doorId}` : Prisma.empty;
      const rows = await prisma.$queryRaw<{ door_id: string; hour: Date; granted: number; denied: number }[]>`
        SELECT door_id, date_trunc('hour', ts) AS hour,
               (count(*) FILTER (WHERE granted))::int AS granted, (count(*) FILTER (WHERE NOT granted))::int AS denied
        FROM gateway_events
        WHERE estate_id = ${req.params.id}::uuid AND type = 'access_decision' AND door_id IS NOT NULL
          AND ts >= ${from} AND ts < ${to} ${door}
        GROUP BY 1, 2 ORDER BY 2, 1`;
      return rows.map((r) => ({ doorId: r.door_id, hour: r.hour.toISOString(), granted: r.granted, denied: r.denied }));
    },
  );
};
export default accessEventRoutes;
