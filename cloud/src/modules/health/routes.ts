// Liveness (/health: the process answers) and readiness (/ready: the database answers and is migrated).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../core/errors.js';
import { readMigrations } from '../../db/migrate.js';

const Status = Type.Object({ status: Type.String() });

const health: FastifyPluginAsyncTypebox = async (app) => {
  const expected = readMigrations().length;
  app.get(
    '/health',
    {
      config: { public: true, rateLimit: false },
      schema: { tags: ['health'], security: [], response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/ready',
    {
      config: { public: true, rateLimit: false },
      schema: { tags: ['health'], security: [], response: { 200: Status } },
    },
    async (request) => {
      try {
        const [row] = await app.deps.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        if ((row?.n ?? 0) >= expected) return { status: 'ready' };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
      }
      throw new AppError('NOT_READY');
    },
  );
};
export default health;
