import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
beforeAll(async () => {
  c = await testCloud({ ESTATE_CLOUD_CORS_ORIGINS: 'https://console.example' });
});
afterAll(() => c?.close());

describe('the HTTP surface', () => {
  it('answers /health and /ready without a token', async () => {
    expect((await c.call(null, { method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    expect((await c.call(null, { method: 'GET', url: '/ready' })).json()).toEqual({ status: 'ready' });
  });

  it('serves the OpenAPI description and the docs page', async () => {
    const spec = await c.call(null, { method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    expect(Object.keys(spec.json<{ paths: object }>().paths)).toContain('/api/owners/search');
    expect((await c.call(null, { method: 'GET', url: '/docs/' })).statusCode).toBe(200);
  });

  it('sets security headers and echoes a plain request id, replacing an unsafe one', async () => {
    const res = await c.call(null, { method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    const odd = await c.call(null, { method: 'GET', url: '/health', headers: { 'x-request-id': 'a b\u00e9;drop' } });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('allows CORS only for configured origins', async () => {
    const ok = await c.call(null, {
      method: 'OPTIONS',
      url: '/api/estates',
      headers: { origin: 'https://console.example', 'access-control-request-method': 'GET' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('https://console.example');
    const no = await c.call(null, {
      method: 'OPTIONS',
      url: '/api/estates',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers an unknown route and a missing token with coded errors', async () => {
    const missing = await c.call(null, { method: 'GET', url: '/api/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    const anon = await c.call(null, { method: 'GET', url: '/api/estates' });
    expect(anon.statusCode).toBe(401);
    expect(anon.json().error).toMatchObject({ code: 'UNAUTHENTICATED', requestId: anon.headers['x-request-id'] });
  });

  it('never tells a client the detail of an internal error', async () => {
    // A database failure mid-request: the client sees INTERNAL and the request id, nothing of the SQL.
    const original = c.deps.prisma.estate.findMany;
    c.deps.prisma.estate.findMany = (() =>
      Promise.reject(new Error('relation "secret_table" does not exist'))) as never;
    try {
      const res = await c.call(c.tokens.admin, { method: 'GET', url: '/api/estates' });
      expect(res.statusCode).toBe(500);
      expect(res.json().error).toMatchObject({ code: 'INTERNAL', message: 'Internal error' });
      expect(res.body).not.toContain('secret_table');
    } finally {
      c.deps.prisma.estate.findMany = original;
    }
  });
});
