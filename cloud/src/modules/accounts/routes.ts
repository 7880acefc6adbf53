import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../core/context.js';
import { ErrorResponses, IdParams, Page } from '../../core/schemas.js';
import { Account, AccountQuery, CreateAccountBody, UpdateAccountBody } from './schemas.js';
import { accountService } from './service.js';

const accounts: FastifyPluginAsyncTypebox = async (app) => {
  const service = accountService(app.deps);
  const tags = ['accounts'];
  app.get(
    '/accounts',
    { schema: { tags, querystring: AccountQuery, response: { 200: Page(Account), ...ErrorResponses } } },
    async (request) => service.list(actorOf(request), request.query),
  );
  app.post(
    '/accounts',
    { schema: { tags, body: CreateAccountBody, response: { 201: Account, ...ErrorResponses } } },
    async (request, reply) => reply.status(201).send(await service.create(actorOf(request), request.body)),
  );
  app.patch(
    '/accounts/:id',
    { schema: { tags, params: IdParams, body: UpdateAccountBody, response: { 200: Account, ...ErrorResponses } } },
    async (request) => service.update(actorOf(request), request.params.id, request.body),
  );
};
export default accounts;
