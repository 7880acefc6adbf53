// Community events: capacity, a sign-up window, a waiting list that moves up by itself when someone cancels,
// and attendance. Sign-ups of one event are serialised by locking the event row, so two residents taking the
// last place at once cannot both get it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authorize, estateFilter } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { requestNotification } from '../../core/notify.js';
import { DateTime, ErrorResponses, IdParams, Text, Uuid } from '../../core/schemas.js';
import { change } from '../../core/tx.js';
import type { CommunityEvent } from '../../generated/prisma/client.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const CreateBody = Type.Object(
  {
    estateId: Type.Optional(Uuid),
    title: Text(100),
    description: Text(2000),
    location: Text(100),
    startsAt: DateTime,
    endsAt: DateTime,
    capacity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    waitlistCapacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    signupOpensAt: DateTime,
    signupClosesAt: DateTime,
  },
  { additionalProperties: false },
);
const EventSchema = Type.Object({
  id: Uuid,
  estateId: Uuid,
  title: Type.String(),
  description: Type.String(),
  location: Type.String(),
  startsAt: DateTime,
  endsAt: DateTime,
  capacity: Type.Integer(),
  waitlistCapacity: Type.Integer(),
  signupOpensAt: DateTime,
  signupClosesAt: DateTime,
  confirmed: Type.Integer(),
  waitlisted: Type.Integer(),
  mine: Nullable(Type.String({ description: 'the caller’s sign-up status' })),
});
const Signup = Type.Object({
  id: Uuid,
  personId: Uuid,
  status: Type.String(),
  position: Nullable(Type.Integer({ description: 'place on the waiting list, 1 = next' })),
  attended: Nullable(Type.Boolean()),
});
const AttendanceBody = Type.Object({ personId: Uuid, attended: Type.Boolean() }, { additionalProperties: false });

const events: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['events'];

  async function view(e: CommunityEvent, personId: string | null) {
    const live = await prisma.eventSignup.findMany({ where: { eventId: e.id, status: { not: 'cancelled' } } });
    return {
      id: e.id,
      estateId: e.estateId,
      title: e.title,
      description: e.description,
      location: e.location,
      startsAt: e.startsAt.toISOString(),
      endsAt: e.endsAt.toISOString(),
      capacity: e.capacity,
      waitlistCapacity: e.waitlistCapacity,
      signupOpensAt: e.signupOpensAt.toISOString(),
      signupClosesAt: e.signupClosesAt.toISOString(),
      confirmed: live.filter((s) => s.status === 'confirmed').length,
      waitlisted: live.filter((s) => s.status === 'waitlisted').length,
      mine: live.find((s) => s.personId === personId)?.status ?? null,
    };
  }

  async function load(
    id: string,
    action: 'event:read' | 'event:manage' | 'event:signup',
    p: ReturnType<typeof actorOf>['principal'],
  ) {
    const e = await prisma.communityEvent.findUnique({ where: { id } });
    if (!e || e.cancelledAt) throw notFound('Event');
    authorize(p, action, { estateId: e.estateId, householdId: p.householdId }, 'Event');
    return e;
  }

  async function signupView(
    eventId: string,
    s: { id: string; personId: string; status: string; signedUpAt: Date; attended: boolean | null },
  ) {
    const position =
      s.status === 'waitlisted'
        ? await prisma.eventSignup.count({
            where: { eventId, status: 'waitlisted', signedUpAt: { lte: s.signedUpAt } },
          })
        : null;
    return { id: s.id, personId: s.personId, status: s.status, position, attended: s.attended };
  }

  app.post(
    '/events',
    { schema: { tags, body: CreateBody, response: { 201: EventSchema, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      authorize(actor.principal, 'event:manage');
      const b = request.body;
      const estateId = estateFilter(actor.principal, b.estateId);
      if (!estateId) throw new AppError('VALIDATION', 'estateId is required', '/body/estateId');
      if (b.endsAt <= b.startsAt) throw new AppError('VALIDATION', 'endsAt is not after startsAt', '/body/endsAt');
      if (new Date(b.signupClosesAt) <= new Date(b.signupOpensAt)) {
        throw new AppError('VALIDATION', 'signupClosesAt is not after signupOpensAt', '/body/signupClosesAt');
      }
      const e = await change(prisma, actor, async (tx, audit) => {
        const created = await tx.communityEvent.create({
          data: {
            estateId,
            title: b.title,
            description: b.description,
            location: b.location,
            startsAt: new Date(b.startsAt),
            endsAt: new Date(b.endsAt),
            capacity: b.capacity,
            waitlistCapacity: b.waitlistCapacity ?? 0,
            signupOpensAt: new Date(b.signupOpensAt),
            signupClosesAt: new Date(b.signupClosesAt),
            createdBy: actor.principal.accountId,
          },
        });
        await audit({
          action: 'event.create',
          entity: 'event',
          entityId: created.id,
          estateId,
          after: { ...b, estateId },
        });
        return created;
      });
      return reply.status(201).send(await view(e, null));
    },
  );

  app.get(
    '/events',
    {
      schema: {
        tags,
        querystring: Type.Object({ estateId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Type.Array(EventSchema), ...ErrorResponses },
      },
    },
    async (request) => {
      const { principal: p } = actorOf(request);
      authorize(p, 'event:read');
      const estateId = estateFilter(p, request.query.estateId);
      const rows = await prisma.communityEvent.findMany({
        where: { ...(estateId ? { estateId } : {}), cancelledAt: null },
        orderBy: { startsAt: 'asc' },
        take: 100,
      });
      return Promise.all(rows.map((e) => view(e, p.personId)));
    },
  );

  app.get(
    '/events/:id',
    { schema: { tags, params: IdParams, response: { 200: EventSchema, ...ErrorResponses } } },
    async (request) => {
      const { principal: p } = actorOf(request);
      return view(await load(request.params.id, 'event:read', p), p.personId);
    },
  );

  app.get(
    '/events/:id/signups',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Signup), ...ErrorResponses } } },
    async (request) => {
      const { principal: p } = actorOf(request);
      const e = await load(request.params.id, 'event:manage', p);
      const rows = await prisma.eventSignup.findMany({
        where: { eventId: e.id, status: { not: 'cancelled' } },
        orderBy: { signedUpAt: 'asc' },
      });
      return Promise.all(rows.map((s) => signupView(e.id, s)));
    },
  );

  app.post(
    '/events/:id/signup',
    { schema: { tags, params: IdParams, response: { 201: Signup, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const p = actor.principal;
      const e = await load(request.params.id, 'event:signup', p);
      if (!p.personId || !p.householdId) throw new AppError('FORBIDDEN', 'the account is not a person of a household');
      const now = new Date();
      if (now < e.signupOpensAt || now >= e.signupClosesAt) {
        throw new AppError(
          'SIGNUP_CLOSED',
          `sign-up is open from ${e.signupOpensAt.toISOString()} to ${e.signupClosesAt.toISOString()}`,
        );
      }
      const personId = p.personId;
      const householdId = p.householdId;
      const s = await change(prisma, actor, async (tx, audit) => {
        await tx.$queryRaw`SELECT id FROM community_events WHERE id = ${e.id}::uuid FOR UPDATE`;
        const live = await tx.eventSignup.findMany({ where: { eventId: e.id, status: { not: 'cancelled' } } });
        if (live.some((x) => x.personId === personId)) throw new AppError('CONFLICT', 'already signed up');
        const confirmed = live.filter((x) => x.status === 'confirmed').length;
        const waitlisted = live.length - confirmed;
        let status: 'confirmed' | 'waitlisted';
        if (confirmed < e.capacity) status = 'confirmed';
        else if (waitlisted < e.waitlistCapacity) status = 'waitlisted';
        else
          throw new AppError(
            'EVENT_FULL',
            `all ${e.capacity} places and ${e.waitlistCapacity} waiting-list places are taken`,
          );
        const created = await tx.eventSignup.create({
          data: { eventId: e.id, personId, householdId, status, signedUpAt: now },
        });
        await audit({
          action: 'event.signup',
          entity: 'event',
          entityId: e.id,
          estateId: e.estateId,
          after: { personId, status },
        });
        return created;
      });
      return reply.status(201).send(await signupView(e.id, s));
    },
  );

  app.post(
    '/events/:id/signup/cancel',
    { schema: { tags, params: IdParams, response: { 200: EventSchema, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const p = actor.principal;
      const e = await load(request.params.id, 'event:signup', p);
      await change(prisma, actor, async (tx, audit) => {
        await tx.$queryRaw`SELECT id FROM community_events WHERE id = ${e.id}::uuid FOR UPDATE`;
        const mine = await tx.eventSignup.findFirst({
          where: { eventId: e.id, personId: p.personId ?? '', status: { not: 'cancelled' } },
        });
        if (!mine) throw notFound('Sign-up');
        const now = new Date();
        await tx.eventSignup.update({ where: { id: mine.id }, data: { status: 'cancelled', cancelledAt: now } });
        await audit({
          action: 'event.signup_cancel',
          entity: 'event',
          entityId: e.id,
          estateId: e.estateId,
          before: { personId: mine.personId, status: mine.status },
        });
        if (mine.status !== 'confirmed') return;
        // A place came free: the first on the waiting list takes it, and is told.
        const next = await tx.eventSignup.findFirst({
          where: { eventId: e.id, status: 'waitlisted' },
          orderBy: { signedUpAt: 'asc' },
        });
        if (!next) return;
        await tx.eventSignup.update({ where: { id: next.id }, data: { status: 'confirmed', promotedAt: now } });
        await audit({
          action: 'event.promote',
          entity: 'event',
          entityId: e.id,
          estateId: e.estateId,
          after: { personId: next.personId, status: 'confirmed' },
        });
        const account = await tx.account.findUnique({ where: { personId: next.personId }, select: { id: true } });
        await requestNotification(tx, e.id, {
          kind: 'event.promoted',
          estateId: e.estateId,
          accountIds: account ? [account.id] : [],
          title: e.title,
          body: '候补成功：您已获得活动名额',
        });
      });
      return view(e, p.personId);
    },
  );

  app.post(
    '/events/:id/attendance',
    { schema: { tags, params: IdParams, body: AttendanceBody, response: { 200: Signup, ...ErrorResponses } } },
    async (request) => {
      const actor = actorOf(request);
      const e = await load(request.params.id, 'event:manage', actor.principal);
      const s = await prisma.eventSignup.findFirst({
        where: { eventId: e.id, personId: request.body.personId, status: 'confirmed' },
      });
      if (!s) throw notFound('Confirmed sign-up');
      const after = await change(prisma, actor, async (tx, audit) => {
        const updated = await tx.eventSignup.update({ where: { id: s.id }, data: { attended: request.body.attended } });
        await audit({
          action: 'event.attendance',
          entity: 'event',
          entityId: e.id,
          estateId: e.estateId,
          before: { personId: s.personId, attended: s.attended },
          after: { personId: s.personId, attended: updated.attended },
        });
        return updated;
      });
      return signupView(e.id, after);
    },
  );
};
export default events;
