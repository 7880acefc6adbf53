// Device pairing by the code on a device label: by installers and staff of the estate, or by the gateway itself
// with a signed request; bad codes, wrong assignments, duplicates, other estates and other roles are refused.
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import {
  exportRawPublicKey,
  formatGatewayAuth,
  formatPairingCode,
  gatewayRequestMessage,
  normalizeClaimCode,
  provisionProofMessage,
} from '@estate/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/core/tokens.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';

let c: TestCloud;
let gw: { id: string; key: KeyObject };
beforeAll(async () => {
  c = await testCloud();
  gw = await provisioned();
}, 120_000);
afterAll(async () => c?.close());

async function provisioned(): Promise<{ id: string; key: KeyObject }> {
  const created = await c.call(c.tokens.installer, {
    method: 'POST',
    url: `/api/estates/${c.world.estateA}/gateways`,
    payload: { name: 'Block 1' },
  });
  const g = created.json();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const nonce = randomBytes(16).toString('base64url');
  const res = await c.call(null, {
    method: 'POST',
    url: '/api/gateways/provision',
    payload: {
      claimCode: g.claim.code,
      publicKey: exportRawPublicKey(publicKey).toString('base64url'),
      nonce,
      proof: sign(null, provisionProofMessage(normalizeClaimCode(g.claim.code) ?? '', nonce), privateKey).toString(
        'base64url',
      ),
      software: 'test',
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  return { id: g.id, key: privateKey };
}

const pair = (token: string, gatewayId: string, payload: object) =>
  c.call(token, { method: 'POST', url: `/api/gateways/${gatewayId}/devices`, payload });

/** A request signed by a gateway key, as `estate-gateway pair` sends it. */
function signed(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, key = gw.key, ts = Date.now()) {
  const body = payload ? JSON.stringify(payload) : '';
  const sig = sign(null, gatewayRequestMessage({ method, path: url, ts, body }), key);
  return {
    method,
    url,
    ...(payload ? { payload: body, headers: { 'content-type': 'application/json' } } : {}),
    authorization: formatGatewayAuth(gw.id, ts, sig),
  };
}
const send = (r: ReturnType<typeof signed>) =>
  c.app.inject({
    method: r.method,
    url: r.url,
    ...(r.payload ? { payload: r.payload } : {}),
    headers: { ...r.headers, authorization: r.authorization },
  });

describe('pairing devices to a gateway', () => {
  it('pairs a door controller to a door and a charger to a parking space, and shows them on the gateway', async () => {
    const door = await pair(c.tokens.installer, gw.id, {
      pairingCode: formatPairingCode('door', 'door-b1-main'),
      doorId: 'b1-main',
    });
    expect(door.statusCode, door.body).toBe(201);
    expect(door.json()).toMatchObject({
      deviceId: 'door-b1-main',
      kind: 'door',
      doorId: 'b1-main',
      parkingSpace: null,
    });
    // typed from the label in lower case: the same code
    const charger = await pair(c.tokens.staff, gw.id, {
      pairingCode: formatPairingCode('charger', 'chg-p12').toLowerCase(),
      parkingSpace: 'P-12',
    });
    expect(charger.statusCode, charger.body).toBe(201);
    const detail = (await c.call(c.tokens.installer, { method: 'GET', url: `/api/gateways/${gw.id}` })).json();
    expect(detail.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['chg-p12', 'door-b1-main']);
    expect(detail.deviceCount).toBe(2);
  });

  it('refuses bad codes and wrong assignments, naming the field, and pairs nothing', async () => {
    const good = formatPairingCode('camera', 'cam-7');
    const cases: [object, string, string][] = [
      [{ pairingCode: 'hello-world-x-y' }, 'PAIRING_CODE_INVALID', '/body/pairingCode'],
      [
        { pairingCode: `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}` },
        'PAIRING_CODE_INVALID',
        '/body/pairingCode',
      ],
      [{ pairingCode: 'EST1-TOASTER-t-1-ABCD' }, 'PAIRING_CODE_INVALID', '/body/pairingCode'],
      [{ pairingCode: formatPairingCode('charger', 'chg-1'), doorId: 'b1' }, 'VALIDATION', '/body/doorId'],
      [{ pairingCode: formatPairingCode('door', 'door-9'), parkingSpace: 'P-1' }, 'VALIDATION', '/body/parkingSpace'],
      [{ pairingCode: formatPairingCode('door', 'door-9') }, 'VALIDATION', '/body/doorId'],
      [{ pairingCode: good, doorId: 'b1', parkingSpace: 'P-1' }, 'VALIDATION', '/body/parkingSpace'],
      [{ pairingCode: formatPairingCode('door', 'door-b1-main'), doorId: 'b1-main' }, 'CONFLICT', '/body/pairingCode'],
    ];
    for (const [body, code, field] of cases) {
      const res = await pair(c.tokens.installer, gw.id, body);
      expect([res.json().error?.code, res.json().error?.field], JSON.stringify(body)).toEqual([code, field]);
    }
    expect(await c.deps.prisma.gatewayDevice.count({ where: { gatewayId: gw.id } })).toBe(2);
  });

  it('lets only installers, staff and admins of the estate pair and unpair', async () => {
    const body = { pairingCode: formatPairingCode('reader', 'rdr-1'), doorId: 'b1-main' };
    expect((await pair(c.tokens.resident, gw.id, body)).statusCode).toBe(403);
    expect((await pair(c.tokens.technician, gw.id, body)).statusCode).toBe(403);
    expect((await pair(c.tokens.staffB, gw.id, body)).statusCode).toBe(404);
    expect((await pair(c.tokens.admin, gw.id, body)).statusCode).toBe(201);
    const del = (token: string) => c.call(token, { method: 'DELETE', url: `/api/gateways/${gw.id}/devices/rdr-1` });
    expect((await del(c.tokens.technician)).statusCode).toBe(403);
    expect((await del(c.tokens.staffB)).statusCode).toBe(404);
    expect((await del(c.tokens.installer)).statusCode).toBe(204);
    expect((await del(c.tokens.installer)).statusCode).toBe(404);
  });

  it('refuses a device already paired to a gateway of another estate', async () => {
    const other = await c.call(c.tokens.staffB, {
      method: 'POST',
      url: `/api/estates/${c.world.estateB}/gateways`,
      payload: { name: 'B gate' },
    });
    const code = formatPairingCode('camera', 'cam-shared');
    expect((await pair(c.tokens.staffB, other.json().id, { pairingCode: code })).statusCode).toBe(201);
    const res = await pair(c.tokens.installer, gw.id, { pairingCode: code });
    expect([res.statusCode, res.json().error.message]).toEqual([409, expect.stringMatching(/another gateway/)]);
  });
});

describe('requests signed by the gateway itself', () => {
  it('pairs, reads its own record and unpairs with its key', async () => {
    const body = { pairingCode: formatPairingCode('ble', 'ble-1'), doorId: 'b1-main' };
    const res = await send(signed('POST', `/api/gateways/${gw.id}/self/devices`, body));
    expect(res.statusCode, res.body).toBe(201);
    const audit = await c.deps.prisma.auditEntry.findFirstOrThrow({
      where: { action: 'gateway.device.pair', entityId: `${gw.id}/ble-1` },
    });
    expect(audit.actorId).toBe(`system:gateway:${gw.id}`);
    const self = await send(signed('GET', `/api/gateways/${gw.id}/self`));
    expect(self.json()).toMatchObject({ gatewayId: gw.id, status: 'active' });
    expect(self.json().devices.map((d: { deviceId: string }) => d.deviceId)).toContain('ble-1');
    expect((await send(signed('DELETE', `/api/gateways/${gw.id}/self/devices/ble-1`))).statusCode).toBe(204);
  });

  it('refuses another key, a tampered body, a stale time, a replay and no signature', async () => {
    const url = `/api/gateways/${gw.id}/self/devices`;
    const body = { pairingCode: formatPairingCode('ble', 'ble-2'), doorId: 'b1-main' };
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const tampered = signed('POST', url, body);
    tampered.payload = JSON.stringify({ ...body, doorId: 'b2-main' });
    const ok = signed('POST', url, body);
    for (const r of [
      signed('POST', url, body, stranger),
      tampered,
      signed('POST', url, body, gw.key, Date.now() - 10 * 60_000),
      { ...signed('POST', url, body), authorization: '' },
    ]) {
      const res = await send(r);
      expect([res.statusCode, res.json().error.code]).toEqual([401, 'GATEWAY_AUTH_INVALID']);
    }
    expect((await send(ok)).statusCode).toBe(201);
    expect((await send(ok)).json().error.message).toMatch(/replayed/);
    // a user token is no gateway signature
    const asUser = await c.call(c.tokens.admin, { method: 'GET', url: `/api/gateways/${gw.id}/self` });
    expect(asUser.statusCode).toBe(401);
  });

  it('rotates its MQTT secret with its key only: a new secret, the old hash gone, audited without either', async () => {
    const url = `/api/gateways/${gw.id}/self/credentials`;
    const before = await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: gw.id } });
    expect((await c.call(c.tokens.staff, { method: 'POST', url })).statusCode).toBe(401); // a login is not the box
    const other = generateKeyPairSync('ed25519').privateKey;
    expect((await send(signed('POST', url, undefined, other))).statusCode).toBe(401);
    const res = await send(signed('POST', url));
    expect(res.statusCode, res.body).toBe(200);
    const { mqtt } = res.json<{ mqtt: { username: string; password: string } }>();
    expect(mqtt.username).toBe(gw.id);
    const after = await c.deps.prisma.gateway.findUniqueOrThrow({ where: { id: gw.id } });
    expect(after.secretHash).toBe(hashToken(mqtt.password));
    expect(after.secretHash).not.toBe(before.secretHash);
    const audit = await c.deps.prisma.auditEntry.findFirstOrThrow({ where: { action: 'gateway.credentials' } });
    expect(JSON.stringify([audit.before, audit.after])).not.toContain(mqtt.password);
  });
});
