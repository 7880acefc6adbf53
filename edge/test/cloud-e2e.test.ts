// The whole gateway ↔ cloud path as an installer sets it up and a resident uses it: the running cloud (its API,
// embedded broker, ingest and sync publisher) creates a gateway and a claim code; the box provisions itself with
// the code; the cloud's desired state reaches the gateway; a PIN at a simulated reader opens a simulated door and
// the decision arrives in the cloud's event store; staff unlock a door remotely; a revocation is enforced within
// 5 s. Only this test imports @estate/cloud; the gateway code never does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desiredState, type RunningCloud, startCloud } from '@estate/cloud';
import {
  type CloudConnection,
  connectToCloud,
  Gateway,
  type LocalBroker,
  pinHash,
  provision,
  startLocalBroker,
} from '@estate/edge';
import { Door, Reader } from '@estate/firmware-stubs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anEstateFromTheCloud, until } from './helpers/sync-world.js';

let cloud: RunningCloud;
let local: LocalBroker;
let gw: Gateway;
let conn: CloudConnection;
let door: Door;
let reader: Reader;
let staffToken: string;
let gatewayId: string;
const doorCommands: string[] = [];
const dirs: string[] = [];

const api = async (method: string, path: string, body?: object) => {
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${staffToken}` },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  const cloudDir = mkdtempSync(join(tmpdir(), 'estate-e2e-cloud-'));
  const gwDir = mkdtempSync(join(tmpdir(), 'estate-e2e-gw-'));
  dirs.push(cloudDir, gwDir);
  cloud = await startCloud({
    overrides: {
      NODE_ENV: 'test',
      ESTATE_CLOUD_HOST: '127.0.0.1',
      ESTATE_CLOUD_PORT: '0',
      ESTATE_CLOUD_MQTT_PORT: '0',
      ESTATE_CLOUD_DATA_DIR: cloudDir,
      ESTATE_CLOUD_LOG_LEVEL: 'silent',
      ESTATE_CLOUD_ARGON2_MEMORY_KIB: '1024',
    },
    seed: { estates: 1, households: 4 },
    logger: false,
  });
  const staff = cloud.logins.find((l) => l.role === 'staff');
  if (!staff?.estate) throw new Error('the demo seed made no staff login');
  const login = await fetch(`${cloud.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: staff.login, password: staff.password }),
  });
  staffToken = ((await login.json()) as { accessToken: string }).accessToken;
  const estate = await cloud.deps.prisma.estate.findFirstOrThrow({ where: { code: staff.estate } });

  // installer: create the gateway in the cloud, then provision the box with the claim code
  const created = await api('POST', `/api/estates/${estate.id}/gateways`, { name: 'Building 1 gateway' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // what the installer's phone reads off the printed QR code: the claim code and the cloud's address
  const claim = created.body.claim as { qr: { payload: string } };
  const { identity } = await provision({ claim: claim.qr.payload, dataDir: gwDir });
  gatewayId = identity.gatewayId;

  local = await startLocalBroker({ port: 0 });
  gw = new Gateway({ broker: local.broker, dataDir: gwDir });
  await gw.start();
  conn = await connectToCloud({ gateway: gw, identity, dataDir: gwDir, healthIntervalMs: 500 });
  door = new Door({ id: 'door-b1', broker: { url: local.url }, pulseMs: 3_000 });
  reader = new Reader({ id: 'reader-b1', broker: { url: local.url } });
  door.on('received', (w) => {
    if (w.name === 'doorCommand') doorCommands.push(w.message.action);
  });
  await Promise.all([door.start(), reader.start()]);

  // staff's doors, group and resident with a PIN, as the access module puts them
  await anEstateFromTheCloud({ desired: desiredState(cloud.deps) }, pinHash, gatewayId);
}, 240_000);

afterAll(async () => {
  await Promise.all([door?.stop(), reader?.stop()]);
  await conn?.stop();
  await gw?.stop();
  await local?.close();
  await cloud?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const gatewayRow = () => cloud.deps.prisma.gateway.findUniqueOrThrow({ where: { id: gatewayId } });

// generous: it waits on a real cloud, broker and database, and CI runs two such suites side by side
describe('gateway ↔ cloud, end to end', { timeout: 60_000 }, () => {
  it('the provisioned gateway comes online and runs the version the cloud asked for', async () => {
    await until(async () => (await gatewayRow()).online, 30_000);
    const desiredRow = () => cloud.deps.prisma.gatewayDesired.findUniqueOrThrow({ where: { gatewayId } });
    await until(async () => {
      const r = await desiredRow();
      return r.appliedVersion === r.version;
    }, 30_000);
    expect((await desiredRow()).drift).toEqual([]);
    expect((await gatewayRow()).status).toBe('active');
  });

  it('a PIN opens the door, and the decision is stored once in the cloud', async () => {
    await until(() => gw.parts.model.doors.has('b1-main'), 30_000);
    expect(await reader.enterPin('482916')).toMatchObject({ granted: true });
    await until(() => doorCommands.includes('unlock'));
    const stored = () =>
      cloud.deps.prisma.gatewayEvent.findMany({ where: { gatewayId, type: 'access_decision', method: 'pin' } });
    await until(async () => (await stored()).length > 0, 30_000);
    const rows = await stored();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ granted: true, personId: 'p-alice', doorId: 'b1-main' });
    // everything the gateway logged is acknowledged, so its backlog empties
    await until(() => gw.parts.log.backlog().events === 0, 30_000);
  });

  it('staff unlock a door remotely: signed, acknowledged, audited', async () => {
    const before = doorCommands.length;
    const sent = await api('POST', `/api/gateways/${gatewayId}/commands`, { action: 'unlock', doorId: 'b1-main' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    await until(() => doorCommands.length > before);
    const cmdId = String(sent.body.cmdId);
    await until(async () => {
      const r = await api('GET', `/api/gateways/${gatewayId}/commands/${cmdId}`);
      return JSON.stringify(r.body).includes('done');
    }, 15_000);
    const audited = await cloud.deps.prisma.auditEntry.findMany({
      where: { entityId: gatewayId, action: 'gateway.command' },
    });
    expect(audited.map((a) => (a.after as { cmdId: string }).cmdId)).toContain(cmdId);
  });

  it('a revoked resident is refused at the door within 5 s', async () => {
    await until(() => doorCommands.length > 0);
    const t0 = Date.now();
    await desiredState(cloud.deps).put(gatewayId, 'revocations', {
      upserts: [{ kind: 'person', id: 'p-alice', revokedAt: Date.now(), reason: 'moved_out' }],
    });
    await until(async () => (await reader.enterPin('482916')).granted === false, 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a gateway with a forged secret is not let onto the cloud broker', async () => {
    const mqtt = (await import('mqtt')).default;
    const forged = mqtt.connect(cloud.mqtt.url, {
      clientId: gatewayId,
      username: gatewayId,
      password: 'not-the-secret',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    const outcome = await new Promise<string>((resolve) => {
      forged.once('connect', () => resolve('connected'));
      forged.once('error', (e) => resolve(e.message));
    });
    forged.end(true);
    expect(outcome).not.toBe('connected');
    expect((await gatewayRow()).online).toBe(true); // the real gateway stays connected
  });
});
