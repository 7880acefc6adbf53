// Authentication for every route not marked `config: { public: true }`: a valid access token whose session is
// still live. The principal is rebuilt from the database on each request, so a role change, a disabled account
// or a revoked session (logout, password change, refresh-token reuse) takes effect at once, not at token expiry.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal, Role } from '../core/authz.js';
import { AppError } from '../core/errors.js';
import { verifyAccessToken } from '../core/tokens.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface PrincipalRow {
  account_id: string;
  role: string;
  estate_id: string | null;
  person_id: string | null;
  household_id: string | null;
  revoked_at: Date | null;
  disabled_at: Date | null;
}

const PRINCIPAL_SQL = `
  SELECT a.id AS account_id, a.role, a.estate_id, a.person_id, p.household_id, s.revoked_at, a.disabled_at
  FROM sessions s
  JOIN accounts a ON a.id = s.account_id
  LEFT JOIN persons p ON p.id = a.person_id
  WHERE s.id = $1`;

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
      // one statement (the Prisma form of this lookup took three round trips and most of the CPU of a cheap route)
      const [row] = await app.deps.driver.query<PrincipalRow>(PRINCIPAL_SQL, [claims.sid]);
      if (!row || row.account_id !== claims.sub) throw new AppError('TOKEN_INVALID');
      if (row.revoked_at || row.disabled_at) throw new AppError('TOKEN_REVOKED');
      request.principal = {
        accountId: row.account_id,
        sessionId: claims.sid,
        role: row.role as Role,
        estateId: row.estate_id,
        personId: row.person_id,
        householdId: row.household_id,
      } satisfies Principal;
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
