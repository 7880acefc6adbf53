import type { InjectOptions } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud();
});
afterAll(() => c?.close());

const me = (token: string) => c.call(token, { method: 'GET', url: '/api/auth/me' });
const refresh = (refreshToken: string) =>
  c.call(null, { method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });

describe('login', () => {
  it('refuses a wrong password and an unknown login alike, and audits the attempt', async () => {
    for (const login of [c.world.logins.staff, 'nobody.here']) {
      const res = await c.call(null, { method: 'POST', url: '/api/auth/login', payload: { login, password: 'wrong' } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('BAD_CREDENTIALS');
    }
    const denied = await c.deps.prisma.auditEntry.count({ where: { action: 'auth.login', outcome: 'denied' } });
    expect(denied).toBe(2);
  });

  it('stores argon2id hashes, never the password', async () => {
    const a = await c.deps.prisma.account.findUniqueOrThrow({ where: { login: c.world.logins.staff } });
    expect(a.passwordHash).toMatch(/^\$argon2id\$/);
    expect(a.passwordHash).not.toContain(PASSWORD);
  });
});

describe('refresh tokens', () => {
  it('rotate on each use; replaying a used one revokes the whole session', async () => {
    const first = await c.login(c.world.logins.technician);
    const second = await refresh(first.refreshToken);
    expect(second.statusCode).toBe(200);
    const rotated = second.json<{ accessToken: string; refreshToken: string }>();
    expect(rotated.refreshToken).not.toBe(first.refreshToken);
    expect((await me(rotated.accessToken)).statusCode).toBe(200);

    const replay = await refresh(first.refreshToken);
    expect(replay.json().error.code).toBe('TOKEN_REUSED');
    // The thief's replay also kills the legitimate holder's tokens of that session.
    expect((await me(rotated.accessToken)).json().error.code).toBe('TOKEN_REVOKED');
    expect((await refresh(rotated.refreshToken)).json().error.code).toBe('TOKEN_REVOKED');
    // Other sessions of the same account are untouched.
    expect((await me(c.tokens.technician)).statusCode).toBe(200);
  });

  it('are stored only as hashes', async () => {
    const t = await c.login(c.world.logins.installer);
    const stored = await c.deps.driver.query<{ token_hash: string }>('SELECT token_hash FROM refresh_tokens');
    expect(stored.some((r) => r.token_hash === t.refreshToken)).toBe(false);
  });

  it('refuses an unknown refresh token', async () => {
    expect((await refresh('x'.repeat(43))).json().error.code).toBe('TOKEN_INVALID');
  });
});

describe('logout and password change', () => {
  it('logout revokes the session at once', async () => {
    const t = await c.login(c.world.logins.installer);
    const out = await c.call(t.accessToken, { method: 'POST', url: '/api/auth/logout' });
    expect(out.statusCode).toBe(204);
    expect((await me(t.accessToken)).json().error.code).toBe('TOKEN_REVOKED');
    expect((await refresh(t.refreshToken)).json().error.code).toBe('TOKEN_REVOKED');
  });

  it('a password change ends every session of the account', async () => {
    const a = await c.login(c.world.logins.staffB);
    const b = await c.login(c.world.logins.staffB);
    const wrong = await c.call(a.accessToken, {
      method: 'POST',
      url: '/api/auth/password',
      payload: { currentPassword: 'not it', newPassword: 'a new long password' },
    });
    expect(wrong.statusCode).toBe(401);
    const res = await c.call(a.accessToken, {
      method: 'POST',
      url: '/api/auth/password',
      payload: { currentPassword: PASSWORD, newPassword: 'a new long password' },
    });
    expect(res.statusCode).toBe(204);
    for (const t of [a.accessToken, b.accessToken, c.tokens.staffB]) expect((await me(t)).statusCode).toBe(401);
    await expect(c.login(c.world.logins.staffB)).rejects.toThrow(/401/);
    expect((await c.login(c.world.logins.staffB, 'a new long password')).accessToken).toBeTruthy();
  });
});

describe('access tokens', () => {
  const sign = (secret: Uint8Array, claims: { sub: string; sid: string }, exp: number, alg = 'HS256') =>
    new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg })
      .setSubject(claims.sub)
      .setIssuer('estate-cloud')
      .setAudience('estate-api')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(secret);
  const claimsOf = async () => {
    const s = await c.deps.prisma.session.findFirstOrThrow({ where: { revokedAt: null }, include: { account: true } });
    return { sub: s.accountId, sid: s.id };
  };

  it('refuses a token signed with another key (forged)', async () => {
    const forged = await sign(
      new TextEncoder().encode('x'.repeat(48)),
      await claimsOf(),
      Math.floor(Date.now() / 1000) + 60,
    );
    expect((await me(forged)).json().error.code).toBe('TOKEN_INVALID');
  });

  it('refuses an expired token', async () => {
    const expired = await sign(c.deps.config.jwtSecret, await claimsOf(), Math.floor(Date.now() / 1000) - 10);
    expect((await me(expired)).json().error.code).toBe('TOKEN_EXPIRED');
  });

  it('refuses alg=none and garbage', async () => {
    const [h, p] = (await sign(c.deps.config.jwtSecret, await claimsOf(), Math.floor(Date.now() / 1000) + 60)).split(
      '.',
    );
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    for (const t of [none, `${h}.${p}.AAAA`, 'garbage', '']) {
      const res = await me(t);
      expect(res.statusCode).toBe(401);
    }
  });

  it('throttles password guessing per address', async () => {
    const strict = await testCloudWithLoginLimit();
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await strict.call(null, {
          method: 'POST',
          url: '/api/auth/login',
          payload: { login: 'a', password: 'b' },
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([401, 401, 429, 429]);
    } finally {
      await strict.close();
    }
  });
});

async function testCloudWithLoginLimit() {
  const { buildApp } = await import('../src/index.js');
  const app = await buildApp(
    { ...c.deps, config: { ...c.deps.config, loginRateLimitPerMinute: 2 } },
    { logger: false },
  );
  return {
    call: (_t: null, o: InjectOptions) => app.inject(o),
    close: () => app.close(),
  };
}
