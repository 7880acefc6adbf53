// Authentication for every route not marked `config: { public: true }`: a valid access token whose session is
// still live. The principal is rebuilt from the database on each request, so a role change, a disabled account
// or a revoked session (logout, password change, refresh-token reuse) takes effect at once, not at token expiry.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal, Role } from '../core/authz.js';
import { AppError } from '../core/errors.js';
import { verifyAccessToken } from '../core/tokens.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export default fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (request) => {
      const url = request.routeOptions.url;
      // The OpenAPI description and its UI are public: they document the API, they hold no data.
      if (request.routeOptions.config.public || !url || url === '/docs' || url.startsWith('/docs/')) return;
      const header = request.headers.authorization;
      const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
      if (!token) throw new AppError('UNAUTHENTICATED');
      const claims = await verifyAccessToken(app.deps.config.jwtSecret, token);
      if (!UUID.test(claims.sid) || !UUID.test(claims.sub)) throw new AppError('TOKEN_INVALID');
      const session = await app.deps.prisma.session.findUnique({
        where: { id: claims.sid },
        select: {
          revokedAt: true,
          account: {
            select: {
              id: true,
              role: true,
              estateId: true,
              personId: true,
              disabledAt: true,
              person: { select: { householdId: true } },
            },
          },
        },
      });
      if (!session || session.account.id !== claims.sub) throw new AppError('TOKEN_INVALID');
      if (session.revokedAt || session.account.disabledAt) throw new AppError('TOKEN_REVOKED');
      const a = session.account;
      request.principal = {
        accountId: a.id,
        sessionId: claims.sid,
        role: a.role as Role,
        estateId: a.estateId,
        personId: a.personId,
        householdId: a.person?.householdId ?? null,
      } satisfies Principal;
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
