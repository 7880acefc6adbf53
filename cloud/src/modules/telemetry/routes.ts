// Telemetry API: latest readings, per-minute / per-hour rollups of one series, gateway and device online state,
// and offline alarms — for the estate's admin and staff, and its technicians (read only). Residents are refused.
// The offline watch runs here too, as a scheduled job of the running API (core/schedule: started when the app is
// ready, stopped and awaited when it closes).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorize, estateFilter, type Principal } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { scheduleJob } from '../../core/schedule.js';
import { DateTime, ErrorResponses, Uuid } from '../../core/schemas.js';
import { fleetWatch } from '../../telemetry/fleet.js';
import { BUCKETS, telemetryQueries } from '../../telemetry/queries.js';
import { maintainPartitions, telemetryMode } from '../../telemetry/schema.js';

/** How often the offline watch runs; an offline gateway is noticed within offlineAfterS + this. */
export const FLEET_WATCH_INTERVAL_MS = 15_000;
/** Native partitions: days ahead are made and expired days dropped hourly (TimescaleDB runs its own policies). */
export const PARTITION_JOB_INTERVAL_MS = 3_600_000;

const WireId = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });
const Metric = Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,47}$' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const closed = { additionalProperties: false } as const;

const LatestQuery = Type.Object(
  { estateId: Type.Optional(Uuid), gatewayId: Type.Optional(WireId), deviceId: Type.Optional(WireId) },
  closed,
);
const Latest = Type.Object({
  gatewayId: Type.String(),
  deviceId: Type.String(),
  kind: Type.String(),
  metric: Type.String(),
  value: Type.Number(),
  ts: DateTime,
});
const RollupQuery = Type.Object(
  {
    gatewayId: WireId,
    deviceId: WireId,
    metric: Metric,
    bucket: Type.Union(Object.keys(BUCKETS).map((b) => Type.Literal(b))),
    from: DateTime,
    to: DateTime,
  },
  closed,
);
const Point = Type.Object({
  ts: DateTime,
  avg: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
  count: Type.Integer(),
});
const EstateQuery = Type.Object({ estateId: Type.Optional(Uuid) }, closed);
const State = Type.Object({
  gatewayId: Type.String(),
  name: Type.String(),
  status: Type.String(),
  online: Type.Boolean(),
  lastSeenAt: Nullable(DateTime),
  devices: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      kind: Type.String(),
      online: Type.Boolean(),
      lastSeenAt: Nullable(DateTime),
    }),
  ),
});
const AlarmQuery = Type.Object(
  { estateId: Type.Optional(Uuid), state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('all')])) },
  closed,
);
const Alarm = Type.Object({
  id: Type.String(),
  gatewayId: Type.String(),
  estateId: Type.String(),
  deviceId: Nullable(Type.String()),
  kind: Type.String(),
  reason: Type.String(),
  raisedAt: DateTime,
  clearedAt: Nullable(DateTime),
});

const telemetry: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma, driver } = app.deps;
  const queries = telemetryQueries(driver);
  const watch = fleetWatch(app.deps);
  const tags = ['telemetry'];
  scheduleJob(app, 'gateway offline watch', FLEET_WATCH_INTERVAL_MS, () => watch.tick());
  scheduleJob(app, 'telemetry partitions', PARTITION_JOB_INTERVAL_MS, async () => {
    if ((await telemetryMode(driver)) === 'native') {
      await maintainPartitions(driver, app.deps.config.telemetryRetentionDays);
    }
  });

  /** The estate a query is about: staff and technicians their own, admin the one named. */
  const estateOf = (p: Principal, requested: string | undefined) => {
    authorize(p, 'telemetry:read');
    const estateId = estateFilter(p, requested);
    if (!estateId) throw new AppError('BAD_REQUEST', 'estateId is required');
    return estateId;
  };
  /** A gateway inside the caller's scope (404 outside it, as for any object). */
  const gatewayOf = async (p: Principal, gatewayId: string) => {
    authorize(p, 'telemetry:read');
    const g = await prisma.gateway.findUnique({ where: { id: gatewayId }, select: { estateId: true } });
    if (!g) throw new AppError('NOT_FOUND', 'Gateway not found');
    authorize(p, 'telemetry:read', { estateId: g.estateId }, 'Gateway');
    return g.estateId;
  };

  app.get(
    '/telemetry/latest',
    {
      schema: {
        tags,
        querystring: LatestQuery,
        response: { 200: Type.Object({ items: Type.Array(Latest) }), ...ErrorResponses },
      },
    },
    async (request) => {
      const p = actorOf(request).principal;
      const q = request.query;
      const estateId = q.gatewayId ? await gatewayOf(p, q.gatewayId) : estateOf(p, q.estateId);
      if (q.estateId && q.estateId !== estateId) throw new AppError('NOT_FOUND', 'Gateway not found');
      return { items: await queries.latest(estateId, { gatewayId: q.gatewayId, deviceId: q.deviceId }) };
    },
  );

  app.get(
    '/telemetry/rollup',
    {
      schema: {
        tags,
        querystring: RollupQuery,
        response: { 200: Type.Object({ items: Type.Array(Point) }), ...ErrorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      await gatewayOf(actorOf(request).principal, q.gatewayId);
      const items = await queries.rollup({
        gatewayId: q.gatewayId,
        deviceId: q.deviceId,
        metric: q.metric,
        bucket: q.bucket as keyof typeof BUCKETS,
        from: new Date(q.from),
        to: new Date(q.to),
      });
      return { items };
    },
  );

  app.get(
    '/telemetry/state',
    {
      schema: {
        tags,
        querystring: EstateQuery,
        response: { 200: Type.Object({ gateways: Type.Array(State) }), ...ErrorResponses },
      },
    },
    async (request) => ({ gateways: await watch.state(estateOf(actorOf(request).principal, request.query.estateId)) }),
  );

  app.get(
    '/telemetry/alarms',
    {
      schema: {
        tags,
        querystring: AlarmQuery,
        response: { 200: Type.Object({ items: Type.Array(Alarm) }), ...ErrorResponses },
      },
    },
    async (request) => {
      const p = actorOf(request).principal;
      authorize(p, 'telemetry:read');
      // admin without an estate: every estate's alarms
      const estateId = estateFilter(p, request.query.estateId);
      return { items: await watch.alarms(estateId, (request.query.state ?? 'open') === 'open') };
    },
  );
};
export default telemetry;
