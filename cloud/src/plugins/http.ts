// HTTP hardening and documentation: helmet headers, CORS only for configured origins, per-IP rate limits,
// and the OpenAPI description served at /docs.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(
  async (app: FastifyInstance) => {
    const { config } = app.deps;
    await app.register(helmet, { global: true });
    if (config.corsOrigins.length) {
      await app.register(cors, { origin: config.corsOrigins, credentials: false, maxAge: 600 });
    }
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      // Thrown as an error, so the one error handler answers with code RATE_LIMITED.
      errorResponseBuilder: (_request, context) => ({
        statusCode: 429,
        code: 'RATE_LIMITED',
        message: `retry in ${Math.ceil(context.ttl / 1000)} s`,
      }),
    });
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Estate cloud API', version: '0.1.0', description: 'Estates, owners, accounts, consent, audit' },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            // fleet: a provisioned gateway signs its own requests (modules/fleet/gateway-auth.ts)
            gatewaySignature: {
              type: 'apiKey',
              in: 'header',
              name: 'Authorization',
              description: 'EstateGateway id=<gateway id>,ts=<ms>,sig=<Ed25519 signature, base64url>',
            },
          },
        },
        security: [{ bearer: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { persistAuthorization: false } });
  },
  { name: 'http', dependencies: ['errors'] },
);
