// Sessions: login opens one, each refresh rotates its refresh token, and presenting an already-used refresh
// token (a stolen copy racing the real client) revokes the whole session (OWASP: refresh token rotation with
// reuse detection). Logout and password change revoke sessions; the auth plugin checks them on every request.
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError } from '../../core/errors.js';
import { hashToken, newRefreshToken, signAccessToken } from '../../core/tokens.js';
import { change, type Tx } from '../../core/tx.js';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export function authService(deps: CloudDeps) {
  const { prisma, config, passwords } = deps;

  async function issue(tx: Tx, accountId: string, sessionId: string): Promise<IssuedTokens> {
    const refreshToken = newRefreshToken();
    await tx.refreshToken.create({
      data: {
        sessionId,
        tokenHash: hashToken(refreshToken),
        expiresAt: new Date(Date.now() + config.refreshTtlS * 1000),
      },
    });
    const accessToken = await signAccessToken(config.jwtSecret, { sub: accountId, sid: sessionId }, config.accessTtlS);
    return { accessToken, refreshToken, expiresIn: config.accessTtlS };
  }

  return {
    async login(actor: Actor, login: string, password: string): Promise<IssuedTokens> {
      const account = await prisma.account.findUnique({ where: { login } });
      const ok = await passwords.verify(account?.passwordHash ?? '', password);
      if (!account || !ok || account.disabledAt) {
        await change(prisma, actor, (_tx, audit) =>
          audit({ action: 'auth.login', entity: 'account', entityId: account?.id ?? null, outcome: 'denied' }),
        );
        throw new AppError('BAD_CREDENTIALS');
      }
      return change(prisma, actor, async (tx, audit) => {
        const session = await tx.session.create({ data: { accountId: account.id } });
        await audit({ action: 'auth.login', entity: 'account', entityId: account.id, estateId: account.estateId });
        return issue(tx, account.id, session.id);
      });
    },

    async refresh(actor: Actor, token: string): Promise<IssuedTokens> {
      const found = await prisma.refreshToken.findUnique({
        where: { tokenHash: hashToken(token) },
        include: { session: true },
      });
      if (!found) throw new AppError('TOKEN_INVALID');
      if (found.session.revokedAt) throw new AppError('TOKEN_REVOKED');
      if (found.usedAt) {
        await change(prisma, actor, async (tx, audit) => {
          await tx.session.update({
            where: { id: found.sessionId },
            data: { revokedAt: new Date(), revokedReason: 'refresh_token_reuse' },
          });
          await audit({
            action: 'auth.refresh_reuse',
            entity: 'session',
            entityId: found.sessionId,
            outcome: 'denied',
          });
        });
        throw new AppError('TOKEN_REUSED');
      }
      if (found.expiresAt < new Date()) throw new AppError('TOKEN_EXPIRED');
      return prisma.$transaction(async (tx) => {
        // Conditional update: of two concurrent refreshes with the same token only one wins.
        const claimed = await tx.refreshToken.updateMany({
          where: { id: found.id, usedAt: null },
          data: { usedAt: new Date() },
        });
        if (claimed.count !== 1) throw new AppError('TOKEN_REUSED');
        return issue(tx, found.session.accountId, found.sessionId);
      });
    },

    async logout(actor: Actor & { principal: { sessionId: string; accountId: string } }): Promise<void> {
      await change(prisma, actor, async (tx, audit) => {
        await tx.session.update({
          where: { id: actor.principal.sessionId },
          data: { revokedAt: new Date(), revokedReason: 'logout' },
        });
        await audit({ action: 'auth.logout', entity: 'session', entityId: actor.principal.sessionId });
      });
    },

    async changePassword(
      actor: Actor & { principal: { accountId: string } },
      current: string,
      next: string,
    ): Promise<void> {
      const account = await prisma.account.findUniqueOrThrow({ where: { id: actor.principal.accountId } });
      if (!(await passwords.verify(account.passwordHash, current))) throw new AppError('BAD_CREDENTIALS');
      const passwordHash = await passwords.hash(next);
      await change(prisma, actor, async (tx, audit) => {
        await tx.account.update({ where: { id: account.id }, data: { passwordHash, passwordChangedAt: new Date() } });
        // Every session ends, this one included: whoever else held the old password is logged out.
        await tx.session.updateMany({
          where: { accountId: account.id, revokedAt: null },
          data: { revokedAt: new Date(), revokedReason: 'password_change' },
        });
        await audit({ action: 'auth.password_change', entity: 'account', entityId: account.id });
      });
    },
  };
}
