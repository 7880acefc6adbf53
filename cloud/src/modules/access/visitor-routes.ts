// Visitor routes: registration by the host, decisions and today's list for staff, and the public share page
// (GET /v/:token, no login) that shows the pass as a QR code while the visit is valid.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { actorOf } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { DateOnly, DateTime, ErrorResponses, IdParams, MainlandPhone, Text } from '../../core/schemas.js';
import { hashToken } from '../../core/tokens.js';
import { estateInScope } from './common.js';
import { tokenAad, visitorService, visitorView } from './visitors.js';

const WireId = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });
const Params = Type.Object({ id: WireId }, { additionalProperties: false });
const RegisterBody = Type.Object(
  {
    name: Text(60),
    phone: MainlandPhone,
    purpose: Text(200),
    validFrom: DateTime,
    validTo: DateTime,
    doors: Type.Array(WireId, { minItems: 1, maxItems: 64, uniqueItems: true }),
    maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  },
  { additionalProperties: false },
);
const Visitor = Type.Object({
  id: Type.String(),
  estateId: Type.String(),
  householdId: Type.String(),
  hostPersonId: Type.String(),
  name: Type.String(),
  phoneMasked: Type.String(),
  purpose: Type.String(),
  validFrom: DateTime,
  validTo: DateTime,
  doors: Type.Array(Type.String()),
  maxUses: Type.Integer(),
  status: Type.String(),
  decisionNote: Type.Union([Type.String(), Type.Null()]),
});
const WithLink = Type.Composite([Visitor, Type.Object({ shareUrl: Type.Union([Type.String(), Type.Null()]) })]);
const Expected = Type.Composite([
  Visitor,
  Type.Object({ uses: Type.Integer(), refused: Type.Integer(), arrivedAt: Type.Union([DateTime, Type.Null()]) }),
]);

const originOf = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const visitorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const s = visitorService(app.deps);
  const { prisma } = app.deps;
  const tags = ['access'];
  const err = ErrorResponses;
  app.post(
    '/persons/:id/visitors',
    { schema: { tags, params: IdParams, body: RegisterBody, response: { 201: WithLink, ...err } } },
    async (req, reply) =>
      reply.status(201).send(await s.register(actorOf(req), req.params.id, req.body, originOf(req))),
  );
  app.get(
    '/persons/:id/visitors',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Visitor), ...err } } },
    async (req) => s.listForHousehold(actorOf(req), req.params.id),
  );
  for (const approve of [true, false]) {
    app.post(
      `/visitors/:id/${approve ? 'approve' : 'reject'}`,
      {
        schema: {
          tags,
          params: Params,
          body: Type.Optional(Type.Object({ note: Type.Optional(Text(200)) }, { additionalProperties: false })),
          response: { 200: WithLink, ...err },
        },
      },
      async (req) => s.decide(actorOf(req), req.params.id, approve, req.body?.note, originOf(req)),
    );
  }
  app.post(
    '/visitors/:id/cancel',
    { schema: { tags, params: Params, response: { 200: Visitor, ...err } } },
    async (req) => s.cancel(actorOf(req), req.params.id),
  );
  app.post(
    '/visitors/:id/share',
    { schema: { tags, params: Params, response: { 200: Type.Object({ shareUrl: Type.String() }), ...err } } },
    async (req) => s.reshare(actorOf(req), req.params.id, originOf(req)),
  );

  // Staff: who is expected on a day (estate local date, default today) and who actually came, from the gateways'
  // access decisions that name the pass as their credential.
  app.get(
    '/estates/:id/visitors',
    {
      schema: {
        tags,
        params: IdParams,
        querystring: Type.Object({ date: Type.Optional(DateOnly) }, { additionalProperties: false }),
        response: { 200: Type.Array(Expected), ...err },
      },
    },
    async (req) => {
      const estateId = req.params.id;
      estateInScope(actorOf(req), estateId, 'visitor:list');
      const [day] = await prisma.$queryRaw<{ start: Date; end: Date }[]>`
        SELECT (d::timestamp AT TIME ZONE e.timezone) AS start, ((d + 1)::timestamp AT TIME ZONE e.timezone) AS "end"
        FROM estates e, (SELECT coalesce(${req.query.date ?? null}::date,
          (now() AT TIME ZONE (SELECT timezone FROM estates WHERE id = ${estateId}::uuid))::date) AS d) x
        WHERE e.id = ${estateId}::uuid`;
      if (!day) throw new AppError('NOT_FOUND', 'Estate not found');
      const rows = await prisma.visitorPass.findMany({
        where: {
          estateId,
          status: { in: ['pending', 'approved'] },
          validFrom: { lt: day.end },
          validTo: { gt: day.start },
        },
        orderBy: [{ validFrom: 'asc' }, { id: 'asc' }],
        take: 500,
      });
      const ids = rows.map((r) => r.id);
      const came = ids.length
        ? await prisma.$queryRaw<{ pass_id: string; uses: number; refused: number; first_at: Date | null }[]>`
            SELECT body->>'credentialId' AS pass_id,
                   (count(*) FILTER (WHERE granted))::int AS uses,
                   (count(*) FILTER (WHERE NOT granted))::int AS refused,
                   min(ts) FILTER (WHERE granted) AS first_at
            FROM gateway_events
            WHERE estate_id = ${estateId}::uuid AND type = 'access_decision' AND method = 'qr'
              AND body->>'credentialId' = ANY(${ids}::text[])
            GROUP BY 1`
        : [];
      return rows.map((r) => {
        const c = came.find((x) => x.pass_id === r.id);
        return {
          ...visitorView(r),
          uses: c?.uses ?? 0,
          refused: c?.refused ?? 0,
          arrivedAt: c?.first_at?.toISOString() ?? null,
        };
      });
    },
  );
};

/** The share page: public, found only by its unguessable token, gone once the visit is over or cancelled. */
export const visitorPage: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma, keyRing } = app.deps;
  app.get(
    '/v/:token',
    {
      config: { public: true },
      schema: { hide: true, params: Type.Object({ token: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }) }) },
    },
    async (req, reply) => {
      reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .type('text/html; charset=utf-8');
      const v = await prisma.visitorPass.findUnique({ where: { shareHash: hashToken(req.params.token) } });
      const page = (title: string, body: string) =>
        `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>${html(title)}</title></head><body style="font-family:sans-serif;text-align:center">${body}</body></html>`;
      if (v?.status !== 'approved' || !v.tokenEnc || !v.shareExpiresAt || v.shareExpiresAt.getTime() < Date.now()) {
        return reply.status(404).send(page('Pass not available', '<h1>This pass is not available</h1>'));
      }
      const token = keyRing.open(v.tokenEnc, tokenAad(v.id));
      const svg = await QRCode.toString(token, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      const doors = await prisma.accessDoor.findMany({
        where: { id: { in: v.doors as string[] } },
        select: { name: true },
      });
      const when = `${v.validFrom.toISOString()} – ${v.validTo.toISOString()}`;
      return reply.send(
        page(
          'Visitor pass',
          `<h1>${html(v.visitorName)}</h1><div style="max-width:320px;margin:auto">${svg}</div>` +
            `<p>${html(when)} (UTC)</p><p>${doors.map((d) => html(d.name)).join(', ')}</p>` +
            `<p>Uses: ${v.maxUses}</p>`,
        ),
      );
    },
  );
};
export default visitorRoutes;
