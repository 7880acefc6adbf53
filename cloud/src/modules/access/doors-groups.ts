// Doors and gates of an estate, each run by a door controller paired to one gateway, and the access groups that
// open them on a schedule (estate local time, evaluated on the gateway). Staff manage both; everyone of the
// estate may list the doors (a resident picks doors for a visitor from them).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { ErrorResponses, IdParams, NoContent, Text, Uuid } from '../../core/schemas.js';
import { change, type Tx } from '../../core/tx.js';
import { type Acting, estateInScope, personInScope, wireId } from './common.js';
import { type AccessItem, afterCommit, queueDesired } from './desired.js';
import { ALWAYS, addDoorToHouseholdGroups, type Schedule, ScheduleSchema, syncGroups, syncMembers } from './groups.js';

const WireId = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });
const DoorBody = Type.Object(
  {
    name: Text(100),
    buildingId: Type.Optional(Uuid),
    gatewayId: WireId,
    deviceId: WireId,
    mode: Type.Optional(Type.Union([Type.Literal('fail_secure'), Type.Literal('fail_safe')])),
    pulseMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 60_000 })),
    heldOpenS: Type.Optional(Type.Integer({ minimum: 5, maximum: 3_600 })),
    fireRelease: Type.Optional(Type.Boolean()),
    antiPassback: Type.Optional(Type.Union(['off', 'soft', 'hard'].map((v) => Type.Literal(v)))),
    direction: Type.Optional(Type.Union(['in', 'out', 'both'].map((v) => Type.Literal(v)))),
    readers: Type.Optional(Type.Array(WireId, { maxItems: 16, uniqueItems: true })),
  },
  { additionalProperties: false },
);
const GroupBody = Type.Object(
  {
    name: Text(100),
    kind: Type.Union([Type.Literal('staff'), Type.Literal('custom')]),
    schedule: Type.Optional(ScheduleSchema),
    doors: Type.Array(WireId, { maxItems: 1_000, uniqueItems: true }),
  },
  { additionalProperties: false },
);
const GroupPatch = Type.Object(
  {
    name: Type.Optional(Text(100)),
    schedule: Type.Optional(ScheduleSchema),
    doors: Type.Optional(Type.Array(WireId, { maxItems: 1_000, uniqueItems: true })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const WireParams = Type.Object({ id: WireId }, { additionalProperties: false });
const MemberParams = Type.Object({ id: WireId, personId: Uuid }, { additionalProperties: false });
const Door = Type.Object({
  id: Type.String(),
  estateId: Uuid,
  buildingId: Type.Union([Uuid, Type.Null()]),
  name: Type.String(),
  gatewayId: Type.String(),
  deviceId: Type.String(),
});
const Group = Type.Object({
  id: Type.String(),
  estateId: Uuid,
  name: Type.String(),
  kind: Type.String(),
  householdId: Type.Union([Uuid, Type.Null()]),
  schedule: Type.Unknown(),
  doors: Type.Array(Type.String()),
  members: Type.Integer(),
});

type DoorRow = Awaited<ReturnType<Tx['accessDoor']['findUniqueOrThrow']>>;
const doorView = (d: DoorRow) => ({
  id: d.id,
  estateId: d.estateId,
  buildingId: d.buildingId,
  name: d.name,
  gatewayId: d.gatewayId,
  deviceId: d.deviceId,
});
export const doorItem = (d: DoorRow): AccessItem => ({
  kind: 'door',
  id: d.id,
  name: d.name,
  deviceId: d.deviceId,
  mode: d.mode as 'fail_secure' | 'fail_safe',
  pulseMs: d.pulseMs,
  heldOpenS: d.heldOpenS,
  fireRelease: d.fireRelease,
  antiPassback: d.antiPassback as 'off' | 'soft' | 'hard',
  direction: d.direction as 'in' | 'out' | 'both',
  readers: d.readers as string[],
});

export function doorService(deps: CloudDeps) {
  const { prisma } = deps;

  const checkDevices = async (tx: Tx, estateId: string, b: Static<typeof DoorBody>) => {
    const gateway = await tx.gateway.findUnique({ where: { id: b.gatewayId } });
    if (!gateway || gateway.estateId !== estateId)
      throw new AppError('NOT_FOUND', 'Gateway not found', '/body/gatewayId');
    if (gateway.status === 'retired') throw new AppError('CONFLICT', 'the gateway is retired', '/body/gatewayId');
    const wanted = [b.deviceId, ...(b.readers ?? [])];
    const devices = await tx.gatewayDevice.findMany({ where: { gatewayId: b.gatewayId, deviceId: { in: wanted } } });
    const kind = (id: string) => devices.find((d) => d.deviceId === id)?.kind;
    if (kind(b.deviceId) !== 'door') {
      throw new AppError('BAD_REQUEST', 'no door controller with this id is paired to the gateway', '/body/deviceId');
    }
    (b.readers ?? []).forEach((r, i) => {
      if (!['camera', 'ble', 'reader'].includes(kind(r) ?? '')) {
        throw new AppError('BAD_REQUEST', 'not a camera or reader paired to the gateway', `/body/readers/${i}`);
      }
    });
    if (b.buildingId) {
      const building = await tx.building.findUnique({ where: { id: b.buildingId } });
      if (building?.estateId !== estateId) throw new AppError('NOT_FOUND', 'Building not found', '/body/buildingId');
    }
  };

  const checkDoors = async (tx: Tx, estateId: string, ids: string[]) => {
    const found = await tx.accessDoor.count({ where: { id: { in: ids }, estateId } });
    if (found !== ids.length) throw new AppError('BAD_REQUEST', 'a door is not one of this estate', '/body/doors');
  };

  const groupInScope = async (actor: Acting, id: string) => {
    const g = await prisma.accessGroup.findUnique({ where: { id } });
    if (!g) throw notFound('Access group');
    estateInScope(actor, g.estateId, 'access:manage', 'Access group');
    return g;
  };

  const groupView = async (id: string) => {
    const g = await prisma.accessGroup.findUniqueOrThrow({
      where: { id },
      include: { doors: true, _count: { select: { members: true } } },
    });
    return {
      id: g.id,
      estateId: g.estateId,
      name: g.name,
      kind: g.kind,
      householdId: g.householdId,
      schedule: g.schedule,
      doors: g.doors.map((d) => d.doorId).sort(),
      members: g._count.members,
    };
  };

  const done = async <T>(result: T) => {
    await afterCommit(deps);
    return result;
  };

  return {
    async createDoor(actor: Acting, estateId: string, b: Static<typeof DoorBody>) {
      estateInScope(actor, estateId, 'access:manage');
      const door = await change(prisma, actor, async (tx, audit) => {
        await checkDevices(tx, estateId, b);
        if (await tx.accessDoor.findFirst({ where: { gatewayId: b.gatewayId, deviceId: b.deviceId } })) {
          throw new AppError('CONFLICT', 'this door controller already runs a door', '/body/deviceId');
        }
        const d = await tx.accessDoor.create({
          data: { id: wireId('door'), estateId, ...b, buildingId: b.buildingId ?? null, readers: b.readers ?? [] },
        });
        await queueDesired(tx, estateId, 'access', { upserts: [doorItem(d)] }, d.gatewayId);
        await syncGroups(tx, estateId, await addDoorToHouseholdGroups(tx, d));
        await audit({ action: 'door.create', entity: 'door', entityId: d.id, estateId, after: doorView(d) });
        return d;
      });
      return done(doorView(door));
    },

    async listDoors(actor: Acting, estateId: string) {
      estateInScope(actor, estateId, 'access:read');
      const rows = await prisma.accessDoor.findMany({ where: { estateId }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      return rows.map(doorView);
    },

    async deleteDoor(actor: Acting, id: string) {
      const d = await prisma.accessDoor.findUnique({ where: { id }, include: { groups: true } });
      if (!d) throw notFound('Door');
      estateInScope(actor, d.estateId, 'access:manage', 'Door');
      await change(prisma, actor, async (tx, audit) => {
        await tx.accessDoor.delete({ where: { id } });
        await queueDesired(tx, d.estateId, 'access', { deletes: [{ kind: 'door', id }] }, d.gatewayId);
        await syncGroups(
          tx,
          d.estateId,
          d.groups.map((g) => g.groupId),
        );
        await audit({ action: 'door.delete', entity: 'door', entityId: id, estateId: d.estateId, before: doorView(d) });
      });
      await afterCommit(deps);
    },

    async createGroup(actor: Acting, estateId: string, b: Static<typeof GroupBody>) {
      estateInScope(actor, estateId, 'access:manage');
      const id = await change(prisma, actor, async (tx, audit) => {
        await checkDoors(tx, estateId, b.doors);
        const g = await tx.accessGroup.create({
          data: {
            id: wireId('grp'),
            estateId,
            name: b.name,
            kind: b.kind,
            schedule: (b.schedule as Schedule | undefined) ?? ALWAYS,
            doors: { create: b.doors.map((doorId) => ({ doorId })) },
          },
        });
        await syncGroups(tx, estateId, [g.id]);
        await audit({ action: 'access_group.create', entity: 'access_group', entityId: g.id, estateId, after: b });
        return g.id;
      });
      await afterCommit(deps);
      return groupView(id);
    },

    async listGroups(actor: Acting, estateId: string) {
      estateInScope(actor, estateId, 'access:manage');
      const rows = await prisma.accessGroup.findMany({
        where: { estateId },
        orderBy: { id: 'asc' },
        select: { id: true },
      });
      return Promise.all(rows.map((r) => groupView(r.id)));
    },

    async updateGroup(actor: Acting, id: string, b: Static<typeof GroupPatch>) {
      const g = await groupInScope(actor, id);
      await change(prisma, actor, async (tx, audit) => {
        if (b.doors) {
          await checkDoors(tx, g.estateId, b.doors);
          await tx.accessGroupDoor.deleteMany({ where: { groupId: id } });
          await tx.accessGroupDoor.createMany({ data: b.doors.map((doorId) => ({ groupId: id, doorId })) });
        }
        await tx.accessGroup.update({
          where: { id },
          data: { ...(b.name ? { name: b.name } : {}), ...(b.schedule ? { schedule: b.schedule as Schedule } : {}) },
        });
        await syncGroups(tx, g.estateId, [id]);
        await audit({
          action: 'access_group.update',
          entity: 'access_group',
          entityId: id,
          estateId: g.estateId,
          after: b,
        });
      });
      await afterCommit(deps);
      return groupView(id);
    },

    async deleteGroup(actor: Acting, id: string) {
      const g = await groupInScope(actor, id);
      await change(prisma, actor, async (tx, audit) => {
        const members = await tx.accessMember.findMany({ where: { groupId: id } });
        await tx.accessGroup.delete({ where: { id } });
        await syncGroups(tx, g.estateId, [id]);
        await syncMembers(
          tx,
          g.estateId,
          members.map((m) => m.personId),
        );
        await audit({ action: 'access_group.delete', entity: 'access_group', entityId: id, estateId: g.estateId });
      });
      await afterCommit(deps);
    },

    async setMember(actor: Acting, groupId: string, personId: string, member: boolean) {
      const g = await groupInScope(actor, groupId);
      const person = await personInScope(prisma, actor, personId, 'access:manage');
      if (person.estateId !== g.estateId) throw notFound('Person');
      await change(prisma, actor, async (tx, audit) => {
        const key = { groupId_personId: { groupId, personId } };
        const exists = await tx.accessMember.findUnique({ where: key });
        if (member && !exists) await tx.accessMember.create({ data: { groupId, personId } });
        if (!member && exists) await tx.accessMember.delete({ where: key });
        await syncMembers(tx, g.estateId, [personId]);
        await audit({
          action: member ? 'access_member.add' : 'access_member.remove',
          entity: 'access_group',
          entityId: groupId,
          estateId: g.estateId,
          after: { personId },
        });
      });
      await afterCommit(deps);
      return groupView(groupId);
    },
  };
}

const doorsGroupsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const s = doorService(app.deps);
  const tags = ['access'];
  const err = ErrorResponses;
  app.post(
    '/estates/:id/doors',
    { schema: { tags, params: IdParams, body: DoorBody, response: { 201: Door, ...err } } },
    async (req, reply) => reply.status(201).send(await s.createDoor(actorOf(req), req.params.id, req.body)),
  );
  app.get(
    '/estates/:id/doors',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Door), ...err } } },
    async (req) => s.listDoors(actorOf(req), req.params.id),
  );
  app.delete(
    '/access/doors/:id',
    { schema: { tags, params: WireParams, response: { ...NoContent, ...err } } },
    async (req, reply) => {
      await s.deleteDoor(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );
  app.post(
    '/estates/:id/access-groups',
    { schema: { tags, params: IdParams, body: GroupBody, response: { 201: Group, ...err } } },
    async (req, reply) => reply.status(201).send(await s.createGroup(actorOf(req), req.params.id, req.body)),
  );
  app.get(
    '/estates/:id/access-groups',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Group), ...err } } },
    async (req) => s.listGroups(actorOf(req), req.params.id),
  );
  app.patch(
    '/access/groups/:id',
    { schema: { tags, params: WireParams, body: GroupPatch, response: { 200: Group, ...err } } },
    async (req) => s.updateGroup(actorOf(req), req.params.id, req.body),
  );
  app.delete(
    '/access/groups/:id',
    { schema: { tags, params: WireParams, response: { ...NoContent, ...err } } },
    async (req, reply) => {
      await s.deleteGroup(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );
  app.put(
    '/access/groups/:id/members/:personId',
    { schema: { tags, params: MemberParams, response: { 200: Group, ...err } } },
    async (req) => s.setMember(actorOf(req), req.params.id, req.params.personId, true),
  );
  app.delete(
    '/access/groups/:id/members/:personId',
    { schema: { tags, params: MemberParams, response: { 200: Group, ...err } } },
    async (req) => s.setMember(actorOf(req), req.params.id, req.params.personId, false),
  );
};
export default doorsGroupsRoutes;
