// The cloud API as a Fastify instance assembled from plugins: infrastructure first (errors, http, auth),
// then one plugin per domain under /api. Building it does no I/O beyond what the deps already hold.
import { randomUUID } from 'node:crypto';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CloudDeps } from './core/deps.js';
import access, { visitorPage } from './modules/access/routes.js';
import accounts from './modules/accounts/routes.js';
import attachments from './modules/attachments/routes.js';
import audit from './modules/audit/routes.js';
import auth from './modules/auth/routes.js';
import billing from './modules/billing/routes.js';
import consents from './modules/consents/routes.js';
import estates from './modules/estates/routes.js';
import events from './modules/events/routes.js';
import faq from './modules/faq/routes.js';
import fleet from './modules/fleet/routes.js';
import gatewayCommands from './modules/gateway-commands/routes.js';
import health from './modules/health/routes.js';
import messages from './modules/messages/routes.js';
import notices from './modules/notices/routes.js';
import notifications from './modules/notifications/routes.js';
import owners from './modules/owners/routes.js';
import privacy from './modules/privacy/routes.js';
import renovations from './modules/renovations/routes.js';
import repairs from './modules/repairs/routes.js';
import telemetry from './modules/telemetry/routes.js';
import vehicles from './modules/vehicles/routes.js';
import authPlugin from './plugins/auth.js';
import errorsPlugin from './plugins/errors.js';
import httpPlugin from './plugins/http.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface BuildAppOptions {
  /** pino options or false; tests pass false. */
  logger?: boolean | Record<string, unknown>;
}

export async function buildApp(deps: CloudDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? {
      level: deps.config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    bodyLimit: deps.config.bodyLimit,
    trustProxy: deps.config.trustProxy,
    // A caller's request id is kept (so logs join up across services) only when it is short and plain.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  // TypeBox's own compiler: bodies are checked as sent (no coercion, unknown fields refused); query strings and
  // path parameters are converted from text first.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.decorate('deps', deps);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(errorsPlugin);
  await app.register(httpPlugin);
  await app.register(authPlugin);
  await app.register(health);
  await app.register(visitorPage);
  await app.register(
    async (api) => {
      for (const module of [
        auth,
        accounts,
        estates,
        owners,
        vehicles,
        renovations,
        attachments,
        access,
        consents,
        privacy,
        audit,
        billing,
        repairs,
        notices,
        events,
        messages,
        faq,
        notifications,
        fleet,
        gatewayCommands,
        telemetry,
      ]) {
        await api.register(module);
      }
    },
    { prefix: '/api' },
  );
  return app;
}
