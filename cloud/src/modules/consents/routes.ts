import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../../core/context.js';
import { DateTime, ErrorResponses, IdParams, Uuid } from '../../core/schemas.js';
import { consentService, PURPOSES } from './service.js';

const Purpose = Type.Union(PURPOSES.map((p) => Type.Literal(p)));
const Consent = Type.Object({
  id: Uuid,
  personId: Uuid,
  purpose: Purpose,
  grantedAt: DateTime,
  withdrawnAt: Type.Union([DateTime, Type.Null()]),
  active: Type.Boolean(),
});
const GrantBody = Type.Object({ purpose: Purpose }, { additionalProperties: false });

const consents: FastifyPluginAsyncTypebox = async (app) => {
  const service = consentService(app.deps);
  const tags = ['consents'];
  app.get(
    '/persons/:id/consents',
    { schema: { tags, params: IdParams, response: { 200: Type.Array(Consent), ...ErrorResponses } } },
    async (request) => service.list(actorOf(request), request.params.id),
  );
  app.post(
    '/persons/:id/consents',
    { schema: { tags, params: IdParams, body: GrantBody, response: { 201: Consent, ...ErrorResponses } } },
    async (request, reply) =>
      reply.status(201).send(await service.grant(actorOf(request), request.params.id, request.body.purpose)),
  );
  app.post(
    '/consents/:id/withdraw',
    { schema: { tags, params: IdParams, response: { 200: Consent, ...ErrorResponses } } },
    async (request) => service.withdraw(actorOf(request), request.params.id),
  );
};
export default consents;
