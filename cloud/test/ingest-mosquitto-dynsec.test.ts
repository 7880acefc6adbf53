// A production-shaped broker: a Mosquitto of its own (Debian's 2.0, dynamic-security plugin, no anonymous access)
// on a free port, and a cloud told to use it (ESTATE_CLOUD_MQTT_URL + the plugin's admin login). The cloud creates
// its own service account there, and each gateway's account at provisioning: the gateway connects with the secret
// it was given, its events are ingested through $share, it cannot touch another gateway's topics, a wrong secret or
// a retired gateway is refused. With the broker down, provisioning answers 503 and the claim is not spent.
//
// Skipped — visibly — where Mosquitto or its plugin is not installed, except under CI, which must run it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiSession, type RunningCloud, sessionAs, startCloud } from '../src/index.js';
import { brokerAccountsOf } from '../src/ingest/dynsec.js';
import { testEnv } from './helpers/cloud.js';
import { type TestDatabase, testDatabase } from './helpers/db.js';
import { box } from './helpers/fleet-box.js';
import { ackListener, connect, reachable, sendBatch, seqs, storedSeqs, waitFor } from './ingest-helpers.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const installed = existsSync(MOSQUITTO) && existsSync(PLUGIN);
const ADMIN = { username: 'estate-admin', password: 'dynsec-admin-test-password' };

const dir = mkdtempSync(join(tmpdir(), 'estate-dynsec-'));
let port = 0;
let broker: ChildProcess | undefined;
let cloud: RunningCloud | undefined;
let db: TestDatabase | undefined;
let staff: ApiSession;
const clients: mqtt.MqttClient[] = [];

async function freePort() {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

async function startMosquitto() {
  broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  await waitFor('Mosquitto listening', () => reachable(port, '127.0.0.1', 200), Boolean);
}

async function stopMosquitto() {
  const b = broker;
  broker = undefined;
  if (!b || b.exitCode !== null) return;
  const exited = new Promise((r) => b.once('exit', r));
  b.kill('SIGTERM');
  await exited;
}

/** The box's side of provisioning: no login, the claim code is the credential. */
const claim = async (body: object) => {
  const res = await fetch(`${cloud?.url}/api/gateways/provision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** A gateway made by staff and claimed by a new box: its id and the MQTT login the cloud handed over. */
async function aProvisionedGateway() {
  const estateId = (await cloud?.deps.prisma.estate.findFirstOrThrow())?.id;
  const made = await staff.call('POST', `/api/estates/${estateId}/gateways`, { name: 'Gate house' });
  expect(made.status).toBe(201);
  const code = (made.body.claim as { code: string }).code;
  const claimed = await claim(box().body(code));
  return { id: String(made.body.id), code, claimed };
}

const stored = (gatewayId: string) => storedSeqs((cloud as RunningCloud).deps, gatewayId);
const asGateway = (id: string, password: string) =>
  connect(`mqtt://127.0.0.1:${port}`, { clientId: id, username: id, password });

describe.runIf(installed || process.env.CI === 'true')('gateway accounts on Mosquitto (dynamic security)', () => {
  beforeAll(async () => {
    port = await freePort();
    // the plugin's own tool writes its config with the admin login (as an operator would once)
    execFileSync('mosquitto_ctrl', ['dynsec', 'init', join(dir, 'dynsec.json'), ADMIN.username, ADMIN.password]);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        'persistence false',
        `plugin ${PLUGIN}`,
        `plugin_opt_config_file ${join(dir, 'dynsec.json')}`,
        // started as root (CI), Mosquitto drops to the mosquitto user, which cannot write the plugin's file in
        // this private temporary folder; a real installation keeps it in /var/lib/mosquitto instead
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        '',
      ].join('\n'),
    );
    await startMosquitto();
    db = await testDatabase();
    cloud = await startCloud({
      env: testEnv(join(dir, 'cloud'), db.url, {
        ESTATE_CLOUD_PORT: '0',
        ESTATE_CLOUD_MQTT_URL: `mqtt://127.0.0.1:${port}`,
        ESTATE_CLOUD_MQTT_DYNSEC_USER: ADMIN.username,
        ESTATE_CLOUD_MQTT_DYNSEC_PASSWORD: ADMIN.password,
      }),
      seed: { estates: 1, households: 2 },
      logger: false,
    });
    await brokerAccountsOf(cloud.deps)?.ready;
    staff = await sessionAs(cloud, 'staff');
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await cloud?.close();
    await db?.drop();
    await stopMosquitto();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a provisioned gateway logs in with its secret, its events are stored once and acked; a wrong secret is refused', async () => {
    const g = await aProvisionedGateway();
    expect(g.claimed.status).toBe(200);
    const login = g.claimed.body.mqtt as { username: string; password: string };
    expect(login.username).toBe(g.id);
    await expect(asGateway(g.id, 'not-the-secret-at-all')).rejects.toThrow(/Not authorized/);
    const gw = await asGateway(g.id, login.password);
    clients.push(gw);
    const acks = await ackListener(gw, g.id);
    // the ingest (the cloud's service account, made by the cloud itself) may still be subscribing: resend until acked
    await waitFor(
      'events stored through Mosquitto',
      async () => {
        await sendBatch(gw, g.id, seqs(1, 5));
        return stored(g.id);
      },
      (s) => s.length === 5,
      20_000,
    );
    await waitFor(
      'the ack',
      () => acks.at(-1)?.ackedSeq ?? 0,
      (n) => n === 5,
    );
    expect(await stored(g.id)).toEqual(seqs(1, 5));
  });

  it("a gateway cannot subscribe to or publish on another gateway's topics", async () => {
    const a = await aProvisionedGateway();
    const b = await aProvisionedGateway();
    const gwB = await asGateway(b.id, (b.claimed.body.mqtt as { password: string }).password);
    clients.push(gwB);
    const granted = await gwB.subscribeAsync(`estate/v1/gw/${a.id}/cmd`, { qos: 1 }).catch((e) => e.packet?.granted);
    expect(granted).toEqual([128]);
    // the broker drops it (MQTT 3.1.1 has no negative PUBACK): nothing reaches the ingest under A's name
    await sendBatch(gwB, b.id, seqs(1, 3), a.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(await stored(a.id)).toEqual([]);
  });

  it('a retired gateway is refused by the broker', async () => {
    const g = await aProvisionedGateway();
    const password = (g.claimed.body.mqtt as { password: string }).password;
    const gw = await asGateway(g.id, password);
    const closed = new Promise<void>((r) => gw.once('close', () => r()));
    expect((await staff.call('POST', `/api/gateways/${g.id}/retire`)).status).toBe(200);
    await closed; // the plugin disconnects a deleted client at once
    await gw.endAsync(true);
    await expect(asGateway(g.id, password)).rejects.toThrow(/Not authorized/);
  });

  it('with the broker down a claim answers 503 and stays unspent; once it is back the same code works', async () => {
    await stopMosquitto();
    const g = await aProvisionedGateway();
    expect(g.claimed.status).toBe(503);
    const row = await cloud?.deps.prisma.gateway.findUniqueOrThrow({ where: { id: g.id } });
    expect(row?.status).toBe('pending');
    await startMosquitto(); // the plugin kept its accounts in dynsec.json
    await waitFor(
      'a claim once the broker is back',
      async () => (await claim(box().body(g.code))).status,
      (s) => s === 200,
      20_000,
    );
  });
});
