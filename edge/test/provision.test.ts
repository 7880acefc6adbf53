// The installer's flow against a real cloud (startCloud, its own database) and a real gateway broker with simulated
// devices: create a gateway → provision the box from the QR payload → pair a door and a camera → self-test.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionAs, startCloud } from '@estate/cloud';
import {
  type GatewayBroker,
  identityPath,
  loadIdentity,
  type SelfTestReport,
  selfTest,
  startGatewayBroker,
} from '@estate/edge';
import { Camera, Door } from '@estate/firmware-stubs';
import { FacePipeline, photosDir } from '@estate/models';
import { formatPairingCode } from '@estate/protocols';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testDatabase } from '../../cloud/test/helpers/db.js';
import { main } from '../src/cli.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

let cloud: Awaited<ReturnType<typeof startCloud>>;
let db: Awaited<ReturnType<typeof testDatabase>>;
let cloudDir: string;
let data: string;
let installer: string;
let estateId: string;
let out: string[];
let err: string[];

async function api<T>(method: string, path: string, body?: object): Promise<{ status: number; json: T }> {
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${installer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as T };
}
type Created = { id: string; claim: { code: string; qr: { payload: string } } };

beforeAll(async () => {
  db = await testDatabase();
  cloudDir = mkdtempSync(join(tmpdir(), 'estate-prov-cloud-'));
  data = join(mkdtempSync(join(tmpdir(), 'estate-prov-gw-')), 'gateway');
  cloud = await startCloud({
    env: {
      NODE_ENV: 'test',
      ESTATE_CLOUD_DATA_DIR: cloudDir,
      ESTATE_CLOUD_LOG_LEVEL: 'silent',
      ESTATE_CLOUD_PORT: '0',
      ESTATE_CLOUD_ARGON2_MEMORY_KIB: '1024',
      // any free port, and no public URL: gateways must be told the port the embedded broker really took
      ESTATE_CLOUD_MQTT_PORT: '0',
      ...(db.url ? { DATABASE_URL: db.url } : {}),
    },
    seed: { estates: 1, households: 4 },
    logger: false,
  });
  installer = (await sessionAs(cloud, 'installer')).token;
  estateId = (await api<{ id: string }[]>('GET', '/api/estates')).json[0]?.id ?? '';
}, 180_000);
afterAll(async () => {
  await cloud?.close();
  await db?.drop();
  rmSync(cloudDir, { recursive: true, force: true });
  rmSync(join(data, '..'), { recursive: true, force: true });
});

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

describe('estate-gateway provision', () => {
  let gateway: Created;

  it('claims the gateway from the QR payload and keeps its identity private, printing no secret', async () => {
    gateway = (await api<Created>('POST', `/api/estates/${estateId}/gateways`, { name: 'Gate house' })).json;
    expect(await main(['provision', '--claim', gateway.claim.qr.payload, '--data', data])).toBe(0);
    expect(err).toEqual([]);
    const identity = loadIdentity(data);
    expect(identity).toMatchObject({ gatewayId: gateway.id, estateId, cloudUrl: cloud.url });
    expect(identity.mqtt).toMatchObject({ username: gateway.id, url: cloud.mqtt.publicUrl });
    expect(identity.trustedKeys.length).toBeGreaterThanOrEqual(4);
    expect(statSync(identityPath(data)).mode & 0o777).toBe(0o600);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(out.join('\n')).toMatch(/generating the gateway key pair[\s\S]*provisioned/);
    expect(out.join('\n')).not.toContain(identity.mqtt.password);
    const row = (await api<{ status: string }>('GET', `/api/gateways/${gateway.id}`)).json;
    expect(row.status).toBe('active');
  });

  it('refuses to overwrite an identity, and a used code even with --force, keeping the identity', async () => {
    const before = readFileSync(identityPath(data), 'utf8');
    expect(await main(['provision', '--claim', gateway.claim.code, '--cloud', cloud.url, '--data', data])).toBe(1);
    expect(err.join()).toMatch(/provisioned already \(use --force/);
    err.length = 0;
    const again = ['provision', '--claim', gateway.claim.code, '--cloud', cloud.url, '--data', data, '--force'];
    expect(await main(again)).toBe(1);
    expect(err.join()).toMatch(/has been used already: ask for a new one/);
    expect(readFileSync(identityPath(data), 'utf8')).toBe(before);
  });

  it('says plainly when the code is unknown or malformed, or the cloud cannot be reached', async () => {
    const other = join(data, '..', 'other');
    expect(await main(['provision', '--claim', 'ABCD-EFGH-JKMN-PQRS', '--cloud', cloud.url, '--data', other])).toBe(1);
    expect(err.pop()).toMatch(/no gateway waits for this claim code/);
    expect(await main(['provision', '--claim', 'hello', '--cloud', cloud.url, '--data', other])).toBe(1);
    expect(err.pop()).toMatch(/not a claim code/);
    const fresh = (await api<Created>('POST', `/api/estates/${estateId}/gateways`, { name: 'spare' })).json;
    const port = await freePort(); // nothing listens there
    const down = ['provision', '--claim', fresh.claim.code, '--cloud', `http://127.0.0.1:${port}`, '--data', other];
    expect(await main(down)).toBe(1);
    expect(err.pop()).toMatch(/cannot reach the cloud at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(() => statSync(identityPath(other))).toThrow();
    expect(await main(['provision', '--data', other])).toBe(2);
  });
});

describe('pairing and the self-test', () => {
  let broker: GatewayBroker;
  let door: Door;
  let camera: Camera;
  let pipeline: FacePipeline;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    broker = await startGatewayBroker({ dataDir: data, port: 0 });
    pipeline = await FacePipeline.create();
  }, 60_000);
  afterAll(async () => {
    await door?.stop();
    await camera?.stop();
    await pipeline?.close();
    await broker?.close();
  });

  const pair = async (args: string[]) => {
    out.length = 0;
    const code = await main(['pair', '--data', data, ...args]);
    const m = out.join('\n').match(/username: (\S+)\s+password \(shown once\): (\S+)/);
    if (m?.[1] && m[2]) secrets.set(m[1], m[2]);
    return code;
  };

  it('pairs devices by their label codes, in the cloud and on the local broker', async () => {
    expect(await pair(['--code', formatPairingCode('door', 'door-gate'), '--door', 'gate'])).toBe(0);
    expect(await pair(['--code', formatPairingCode('camera', 'cam-gate'), '--door', 'gate'])).toBe(0);
    expect([...secrets.keys()]).toEqual(['door-gate', 'cam-gate']);
    const gw = loadIdentity(data).gatewayId;
    const detail = (await api<{ devices: { deviceId: string; doorId: string }[] }>('GET', `/api/gateways/${gw}`)).json;
    expect(detail.devices.map((d) => `${d.deviceId}@${d.doorId}`)).toEqual(['cam-gate@gate', 'door-gate@gate']);
    // a mistyped label, a charger at a door, a device paired twice: refused, nothing registered
    expect(await pair(['--code', 'EST1-DOOR-door-x-0000', '--door', 'gate'])).toBe(1);
    expect(err.pop()).toMatch(/check characters do not match/);
    expect(await pair(['--code', formatPairingCode('charger', 'chg-1'), '--door', 'gate'])).toBe(1);
    expect(err.pop()).toMatch(/cloud refused the pairing: a charger device is not assigned to a door/);
    expect(await pair(['--code', formatPairingCode('door', 'door-gate'), '--door', 'gate'])).toBe(1);
    expect(err.pop()).toMatch(/registered on this gateway already/);
    expect((await broker.devices.lookup('chg-1')) ?? null).toBeNull();
  });

  it('passes every check with the devices up, and fails the row of a stopped device with its fix', async () => {
    const url = broker.url;
    door = new Door({ id: 'door-gate', broker: { url, username: 'door-gate', password: secrets.get('door-gate') } });
    camera = new Camera({
      id: 'cam-gate',
      broker: { url, username: 'cam-gate', password: secrets.get('cam-gate') },
      photos: photosDir,
      fps: 4,
    });
    await Promise.all([door.start(), camera.start()]);
    const progress: string[] = [];
    const run = () =>
      selfTest({
        dataDir: data,
        brokerUrl: url,
        faces: async () => ({ analyse: (jpeg) => pipeline.analyse(jpeg) }), // the test keeps its pipeline
        settleMs: 300,
        minFreeBytes: 1,
        onProgress: (p) => progress.push(p.state === 'running' ? `… ${p.check}` : `done ${p.result.check}`),
      });
    const report: SelfTestReport = await run();
    const rows = Object.fromEntries(report.results.map((r) => [r.check, r]));
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
    expect(Object.keys(rows)).toEqual([
      'disk',
      'broker',
      'device cam-gate',
      'device door-gate',
      'relay door-gate',
      'camera cam-gate',
      'clock',
      'cloud link',
    ]);
    expect(rows['relay door-gate']?.detail).toMatch(/unlocked and locked again; door contact closed/);
    expect(rows['camera cam-gate']?.detail).toMatch(/face detected/);
    expect(rows['cloud link']?.detail).toMatch(/accepts the gateway's credentials|online/);
    expect(progress.slice(0, 2)).toEqual(['… disk', 'done disk']);
    expect(report.ok).toBe(true);

    await door.stop();
    const after = await run();
    const row = after.results.find((r) => r.check === 'device door-gate');
    expect(after.ok).toBe(false);
    expect(row).toMatchObject({ ok: false, detail: expect.stringMatching(/offline since/) });
    expect(row?.fix).toMatch(/power and network/);
    expect(after.results.some((r) => r.check === 'relay door-gate')).toBe(false);
    expect(after.results.filter((r) => !r.ok)).toHaveLength(1);
  }, 90_000);

  it('prints progress and a table with what to fix, exit code 1 on a failure (CLI)', async () => {
    out.length = 0;
    const code = await main(['self-test', '--data', data, '--broker', broker.url]);
    const text = out.join('\n');
    expect(code).toBe(1);
    expect(text).toMatch(/… broker\n✓ broker: connected/);
    expect(text).toMatch(/check\s+result\s+detail\s+what to fix/);
    expect(text).toMatch(/device door-gate\s+FAIL\s+door offline since \S+\s+check its power/);
    expect(text).toMatch(/\d+ of \d+ checks failed/);
    // the self-test's broker credential does not outlive it
    expect(() => statSync(join(data, 'internal-users.json'))).toThrow();
  }, 90_000);
});
