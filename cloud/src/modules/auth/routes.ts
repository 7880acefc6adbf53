import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Actor, actorOf } from '../../core/context.js';
import { ErrorResponses, NoContent } from '../../core/schemas.js';
import { LoginBody, Me, PasswordBody, RefreshBody, Tokens } from './schemas.js';
import { authService } from './service.js';

const auth: FastifyPluginAsyncTypebox = async (app) => {
  const service = authService(app.deps);
  const anonymous = (request: { id: string; ip: string }): Actor => ({
    principal: null,
    requestId: request.id,
    ip: request.ip,
  });
  const tags = ['auth'];
  // Password guessing is throttled harder than the rest of the API.
  const loginLimit = { rateLimit: { max: app.deps.config.loginRateLimitPerMinute, timeWindow: 60_000 } };

  app.post(
    '/auth/login',
    {
      config: { public: true, ...loginLimit },
      schema: { tags, security: [], body: LoginBody, response: { 200: Tokens, ...ErrorResponses } },
    },
    async (request) => service.login(anonymous(request), request.body.login, request.body.password),
  );
  app.post(
    '/auth/refresh',
    {
      config: { public: true, ...loginLimit },
      schema: { tags, security: [], body: RefreshBody, response: { 200: Tokens, ...ErrorResponses } },
    },
    async (request) => service.refresh(anonymous(request), request.body.refreshToken),
  );
  app.post(
    '/auth/logout',
    { schema: { tags, response: { ...NoContent, ...ErrorResponses } } },
    async (request, reply) => {
      await service.logout(actorOf(request));
      return reply.status(204).send(null);
    },
  );
  app.post(
    '/auth/password',
    { schema: { tags, body: PasswordBody, response: { ...NoContent, ...ErrorResponses } } },
    async (request, reply) => {
      await service.changePassword(actorOf(request), request.body.currentPassword, request.body.newPassword);
      return reply.status(204).send(null);
    },
  );
  app.get('/auth/me', { schema: { tags, response: { 200: Me, ...ErrorResponses } } }, async (request) => {
    const { principal } = actorOf(request);
    return {
      accountId: principal.accountId,
      role: principal.role,
      estateId: principal.estateId,
      personId: principal.personId,
      householdId: principal.householdId,
    };
  });
};
export default auth;
