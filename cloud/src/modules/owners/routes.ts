import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { ErrorResponses, IdParams, Page, Uuid } from '../../core/schemas.js';
import {
  CreateHouseholdBody,
  Household,
  MoveOutBody,
  NewMember,
  SearchHit,
  SearchQuery,
  Sensitive,
  UpdatePersonBody,
} from './schemas.js';
import { ownerService } from './service.js';

const PersonSummary = Type.Object({
  id: Uuid,
  name: Type.String(),
  relation: Type.String(),
  gender: Type.Union([Type.String(), Type.Null()]),
});

const owners: FastifyPluginAsyncTypebox = async (app) => {
  const service = ownerService(app.deps);
  const tags = ['owners'];
  app.get(
    '/owners/search',
    { schema: { tags, querystring: SearchQuery, response: { 200: Page(SearchHit), ...ErrorResponses } } },
    async (request) => service.search(actorOf(request), request.query),
  );
  app.post(
    '/households',
    { schema: { tags, body: CreateHouseholdBody, response: { 201: Household, ...ErrorResponses } } },
    async (request, reply) => reply.status(201).send(await service.create(actorOf(request), request.body)),
  );
  app.get(
    '/households/:id',
    { schema: { tags, params: IdParams, response: { 200: Household, ...ErrorResponses } } },
    async (request) => service.get(actorOf(request), request.params.id),
  );
  app.post(
    '/households/:id/members',
    { schema: { tags, params: IdParams, body: NewMember, response: { 201: Household, ...ErrorResponses } } },
    async (request, reply) =>
      reply.status(201).send(await service.addMember(actorOf(request), request.params.id, request.body)),
  );
  app.post(
    '/households/:id/move-out',
    { schema: { tags, params: IdParams, body: MoveOutBody, response: { 200: Household, ...ErrorResponses } } },
    async (request) => service.moveOut(actorOf(request), request.params.id, request.body.movedOutAt),
  );
  app.patch(
    '/persons/:id',
    { schema: { tags, params: IdParams, body: UpdatePersonBody, response: { 200: PersonSummary, ...ErrorResponses } } },
    async (request) => service.updatePerson(actorOf(request), request.params.id, request.body),
  );
  app.get(
    '/persons/:id/sensitive',
    { schema: { tags, params: IdParams, response: { 200: Sensitive, ...ErrorResponses } } },
    async (request) => service.revealSensitive(actorOf(request), request.params.id),
  );
};
export default owners;
