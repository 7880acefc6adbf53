// Fleet: gateway records with one-time claim codes, provisioning by a new box, and who may do what.
import { generateKeyPairSync } from 'node:crypto';
import { normalizeClaimCode } from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/core/tokens.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { box } from './helpers/fleet-box.js';

let c: TestCloud;
// a real cloud on PGlite takes a while to migrate and seed on a busy 2-core machine
beforeAll(async () => {
  c = await testCloud();
}, 120_000);
afterAll(async () => c?.close());

const createGateway = async (token: string, estateId = c.world.estateA, name = 'Gate house') =>
  c.call(token, { method: 'POST', url: `/api/estates/${estateId}/gateways`, payload: { name } });
const provision = (payload: object) => c.call(null, { method: 'POST', url: '/api/gateways/provision', payload });

describe('gateway records and claim codes', () => {
  it('gives the installer a one-time claim code with its QR code, stored only as a hash', async () => {
    const res = await createGateway(c.tokens.installer);
    expect(res.statusCode, res.body).toBe(201);
    const g = res.json();
    expect(g.id).toMatch(/^gw-[a-z2-7]{10}$/);
    expect(g.status).toBe('pending');
    expect(g.claim.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(g.claim.qr.payload).toBe(`estate-claim:${g.claim.code}@http://localhost:80`);
    expect(g.claim.qr.svg).toMatch(/^<svg/);
    expect(g.claim.qr.pngDataUrl).toMatch(/^data:image\/png;base64,/);
    const expires = Date.parse(g.claim.expiresAt) - Date.now();
    expect(expires).toBeGreaterThan(23.9 * 3_600_000);
    expect(expires).toBeLessThanOrEqual(24 * 3_600_000);
    const row = await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } });
    expect(row.claimHash).toBe(hashToken(normalizeClaimCode(g.claim.code) ?? ''));
    // the code is never shown again
    const detail = await c.call(c.tokens.staff, { method: 'GET', url: `/api/gateways/${g.id}` });
    expect(detail.statusCode).toBe(200);
    expect(detail.body).not.toContain(g.claim.code);
    expect(detail.json()).toMatchObject({ id: g.id, status: 'pending', online: false, devices: [], deviceCount: 0 });
    const list = await c.call(c.tokens.admin, { method: 'GET', url: `/api/estates/${c.world.estateA}/gateways` });
    expect(list.json().map((x: { id: string }) => x.id)).toContain(g.id);
  });

  it('refuses residents and technicians, and hides gateways from other estates', async () => {
    for (const role of ['resident', 'technician'] as const) {
      expect((await createGateway(c.tokens[role])).statusCode, role).toBe(403);
      const list = await c.call(c.tokens[role], { method: 'GET', url: `/api/estates/${c.world.estateA}/gateways` });
      expect(list.statusCode, role).toBe(403);
    }
    const g = (await createGateway(c.tokens.staff)).json();
    expect((await createGateway(c.tokens.staffB, c.world.estateA)).statusCode).toBe(404);
    expect((await c.call(c.tokens.staffB, { method: 'GET', url: `/api/gateways/${g.id}` })).statusCode).toBe(404);
    const retire = await c.call(c.tokens.staffB, { method: 'POST', url: `/api/gateways/${g.id}/retire` });
    expect(retire.statusCode).toBe(404);
    expect((await c.call(null, { method: 'GET', url: `/api/gateways/${g.id}` })).statusCode).toBe(401);
  });
});

describe('provisioning with a claim code', () => {
  it('activates the gateway once: credentials, trusted keys, and a used code answers "used"', async () => {
    const g = (await createGateway(c.tokens.installer)).json();
    const b = box();
    const res = await provision(b.body(g.claim.code.toLowerCase()));
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json();
    expect(p).toMatchObject({ gatewayId: g.id, estateId: c.world.estateA, mqtt: { username: g.id } });
    expect(p.mqtt.url).toBe('mqtt://localhost:1884');
    expect(Buffer.from(p.mqtt.password, 'base64url')).toHaveLength(32);
    expect(p.trustedKeys.map((k: { purposes: string[] }) => k.purposes[0]).sort()).toEqual([
      'ble_key',
      'command',
      'desired',
      'pass',
    ]);
    const row = await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } });
    expect(row).toMatchObject({ status: 'active', secretHash: hashToken(p.mqtt.password), claimExpiresAt: null });
    expect(row.publicKey).toBeTruthy();
    const audit = await c.deps.prisma.auditEntry.findFirstOrThrow({
      where: { action: 'gateway.provision', entityId: g.id },
    });
    expect(audit.actorId).toBe(`system:provision:${g.id}`);
    expect(JSON.stringify([audit.before, audit.after])).not.toContain(p.mqtt.password);

    // the same code again, from the same box or another: refused, nothing changes
    for (const again of [b.body(g.claim.code), box().body(g.claim.code)]) {
      const second = await provision(again);
      expect(second.statusCode).toBe(409);
      expect(second.json().error.code).toBe('CLAIM_CODE_USED');
    }
    expect(await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } })).toEqual(row);
  });

  it('refuses an unknown, a malformed and an expired code, and a proof by another key, changing nothing', async () => {
    const unknown = await provision(box().body('ABCD-EFGH-JKMN-PQRS'));
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'CLAIM_CODE_UNKNOWN']);
    const malformed = await provision(box().body('not-a-code'));
    expect([malformed.statusCode, malformed.json().error.field]).toEqual([400, '/body/claimCode']);

    const g = (await createGateway(c.tokens.installer)).json();
    const before = await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } });
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = await provision(box().body(g.claim.code, other));
    expect([forged.statusCode, forged.json().error.code]).toEqual([400, 'PROOF_INVALID']);
    const badKey = await provision({ ...box().body(g.claim.code), publicKey: 'A'.repeat(43) });
    expect(badKey.statusCode).toBe(400);
    expect(await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } })).toEqual(before);

    await c.deps.prisma.gateway.update({ where: { id: g.id }, data: { claimExpiresAt: new Date(Date.now() - 1000) } });
    const expired = await provision(box().body(g.claim.code));
    expect([expired.statusCode, expired.json().error.code]).toEqual([410, 'CLAIM_CODE_EXPIRED']);
    expect((await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } })).status).toBe('pending');

    // a fresh code works, the old one is dead
    const fresh = await c.call(c.tokens.installer, {
      method: 'POST',
      url: `/api/gateways/${g.id}/claim-code`,
      payload: { claimTtlHours: 2 },
    });
    expect(fresh.statusCode, fresh.body).toBe(201);
    expect((await provision(box().body(g.claim.code))).json().error.code).toBe('CLAIM_CODE_UNKNOWN');
    expect((await provision(box().body(fresh.json().code))).statusCode).toBe(200);
  });

  it('retiring a gateway kills its code and its credentials', async () => {
    const g = (await createGateway(c.tokens.admin)).json();
    const retired = await c.call(c.tokens.installer, { method: 'POST', url: `/api/gateways/${g.id}/retire` });
    expect(retired.json().status).toBe('retired');
    expect((await provision(box().body(g.claim.code))).json().error.code).toBe('CLAIM_CODE_UNKNOWN');
    const again = await c.call(c.tokens.installer, {
      method: 'POST',
      url: `/api/gateways/${g.id}/claim-code`,
      payload: {},
    });
    expect(again.json().error.code).toBe('GATEWAY_RETIRED');
    const row = await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } });
    expect([row.secretHash, row.claimHash]).toEqual([null, null]);
  });
});

describe('OpenAPI', () => {
  it('documents the fleet routes, with the provisioning endpoint open and the self routes gateway-signed', async () => {
    const spec = (await c.call(null, { method: 'GET', url: '/docs/json' })).json();
    expect(spec.paths['/api/gateways/provision'].post.security).toEqual([]);
    expect(spec.paths['/api/gateways/{id}/self/devices'].post.security).toEqual([{ gatewaySignature: [] }]);
    expect(spec.components.securitySchemes.gatewaySignature).toBeDefined();
    expect(Object.keys(spec.paths['/api/estates/{estateId}/gateways'])).toEqual(['post', 'get']);
  });
});
