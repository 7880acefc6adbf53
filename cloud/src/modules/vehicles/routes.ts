// Vehicles of a household (plates, parking spaces). Residents register their own; staff any in their estate.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authorize } from '../../core/authz.js';
import { actorOf } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { ErrorResponses, IdParams, NoContent, Uuid } from '../../core/schemas.js';
import { change } from '../../core/tx.js';

// 普通/新能源 mainland plates: province character, letter, then 5 or 6 letters/digits.
const Plate = Type.String({ pattern: '^[\\u4e00-\\u9fa5][A-Z][A-HJ-NP-Z0-9]{5,6}$' });
const VehicleBody = Type.Object(
  { plate: Plate, parkingSpace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9-]{1,20}$' })) },
  { additionalProperties: false },
);
const Vehicle = Type.Object({
  id: Uuid,
  householdId: Uuid,
  plate: Type.String(),
  parkingSpace: Type.Union([Type.String(), Type.Null()]),
});

const vehicles: FastifyPluginAsyncTypebox = async (app) => {
  const { prisma } = app.deps;
  const tags = ['vehicles'];
  app.post(
    '/households/:id/vehicles',
    { schema: { tags, params: IdParams, body: VehicleBody, response: { 201: Vehicle, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const h = await prisma.household.findUnique({ where: { id: request.params.id } });
      if (!h) throw notFound('Household');
      authorize(actor.principal, 'vehicle:write', { estateId: h.estateId, householdId: h.id }, 'Household');
      const v = await change(prisma, actor, async (tx, audit) => {
        if (await tx.vehicle.findFirst({ where: { estateId: h.estateId, plate: request.body.plate } })) {
          throw new AppError('CONFLICT', 'plate is already registered in this estate', '/body/plate');
        }
        const created = await tx.vehicle.create({
          data: {
            estateId: h.estateId,
            householdId: h.id,
            plate: request.body.plate,
            parkingSpace: request.body.parkingSpace ?? null,
          },
        });
        await audit({
          action: 'vehicle.create',
          entity: 'vehicle',
          entityId: created.id,
          estateId: h.estateId,
          after: created,
        });
        return created;
      });
      return reply
        .status(201)
        .send({ id: v.id, householdId: v.householdId, plate: v.plate, parkingSpace: v.parkingSpace });
    },
  );
  app.delete(
    '/vehicles/:id',
    { schema: { tags, params: IdParams, response: { ...NoContent, ...ErrorResponses } } },
    async (request, reply) => {
      const actor = actorOf(request);
      const v = await prisma.vehicle.findUnique({ where: { id: request.params.id } });
      if (!v) throw notFound('Vehicle');
      authorize(actor.principal, 'vehicle:write', { estateId: v.estateId, householdId: v.householdId }, 'Vehicle');
      await change(prisma, actor, async (tx, audit) => {
        await tx.vehicle.delete({ where: { id: v.id } });
        await audit({ action: 'vehicle.delete', entity: 'vehicle', entityId: v.id, estateId: v.estateId, before: v });
      });
      return reply.status(204).send(null);
    },
  );
};
export default vehicles;
