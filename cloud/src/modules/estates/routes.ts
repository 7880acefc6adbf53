import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { ErrorResponses, IdParams, Page } from '../../core/schemas.js';
import { Building, CreateBuildingBody, CreateEstateBody, CreateUnitBody, Estate, Unit, UnitQuery } from './schemas.js';
import { estateService } from './service.js';

const estates: FastifyPluginAsyncTypebox = async (app) => {
  const service = estateService(app.deps);
  const tags = ['estates'];
  app.get('/estates', { schema: { tags, response: { 200: Type.Array(Estate), ...ErrorResponses } } }, async (request) =>
    service.list(actorOf(request)),
  );
  app.post(
    '/estates',
    { schema: { tags, body: CreateEstateBody, response: { 201: Estate, ...ErrorResponses } } },
    async (request, reply) => reply.status(201).send(await service.create(actorOf(request), request.body)),
  );
  app.get(
    '/estates/:id',
    { schema: { tags, params: IdParams, response: { 200: Estate, ...ErrorResponses } } },
    async (request) => service.get(actorOf(request), request.params.id),
  );
  app.get(
    '/estates/:id/buildings',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Building), ...ErrorResponses } } },
    async (request) => service.buildings(actorOf(request), request.params.id),
  );
  app.post(
    '/estates/:id/buildings',
    { schema: { tags, params: IdParams, body: CreateBuildingBody, response: { 201: Building, ...ErrorResponses } } },
    async (request, reply) =>
      reply.status(201).send(await service.addBuilding(actorOf(request), request.params.id, request.body)),
  );
  app.get(
    '/estates/:id/units',
    { schema: { tags, params: IdParams, querystring: UnitQuery, response: { 200: Page(Unit), ...ErrorResponses } } },
    async (request) => service.units(actorOf(request), request.params.id, request.query),
  );
  app.post(
    '/estates/:id/units',
    { schema: { tags, params: IdParams, body: CreateUnitBody, response: { 201: Unit, ...ErrorResponses } } },
    async (request, reply) =>
      reply.status(201).send(await service.addUnit(actorOf(request), request.params.id, request.body)),
  );
};
export default estates;
