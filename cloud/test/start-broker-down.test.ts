// startCloud with an external MQTT broker (ESTATE_CLOUD_MQTT_URL) that is down: the API still comes up and serves,
// desired-state writes are stored and queued, remote commands answer 503 rather than queue (they would expire
// before the broker returns); when the broker comes up the cloud connects and what was queued goes out.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicFor } from '@estate/protocols';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { desiredState, type RunningCloud, sessionAs, startCloud } from '../src/index.js';
import { testEnv } from './helpers/cloud.js';
import { type TestDatabase, testDatabase } from './helpers/db.js';
import { waitFor } from './ingest-helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'estate-start-down-'));
let cloud: RunningCloud | undefined;
let db: TestDatabase | undefined;
let broker: { server: Server; aedes: Aedes } | undefined;
afterAll(async () => {
  await cloud?.close();
  await db?.drop();
  if (broker) {
    await new Promise((r) => broker?.aedes.close(() => r(undefined)));
    await new Promise((r) => broker?.server.close(r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const freePort = async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
};

describe('startCloud with its external broker down', () => {
  it('serves the API, stores desired state, refuses commands with 503, and catches up when the broker comes', async () => {
    const port = await freePort();
    db = await testDatabase();
    const env = testEnv(dataDir, db.url, { ESTATE_CLOUD_PORT: '0', ESTATE_CLOUD_MQTT_URL: `mqtt://127.0.0.1:${port}` });
    cloud = await startCloud({ env, seed: { estates: 1, households: 2 }, logger: false });
    const c = cloud;
    expect(await (await fetch(`${c.url}/ready`)).json()).toEqual({ status: 'ready' });

    const estate = await c.deps.prisma.estate.findFirstOrThrow();
    const gw = await c.deps.prisma.gateway.create({ data: { id: 'gw-down', estateId: estate.id, name: 'gate' } });
    const staff = await sessionAs(c, 'staff');
    const command = () => staff.call('POST', `/api/gateways/${gw.id}/commands`, { action: 'lockdown' });
    const refused = await command();
    expect(refused.status).toBe(503);
    expect(await c.deps.prisma.gatewayCommand.count()).toBe(0);

    // stored now, published when the broker is back (the client's offline queue); the config carries the trusted
    // keys, so the estate's desired-state key must exist first (provisioning makes it)
    await c.deps.signing.signer('desired');
    const put = await desiredState(c.deps).setConfig(gw.id, {});
    expect(put.gatewayId).toBe(gw.id);

    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    broker = { server, aedes };
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4 });
    try {
      const manifests: Buffer[] = [];
      watcher.on('message', (_t, payload) => manifests.push(payload));
      await watcher.subscribeAsync(topicFor('desiredState', { gatewayId: gw.id }), { qos: 1 });
      // the publisher retries every second; the retained manifest is there once the queue has gone out
      await waitFor(
        'the queued manifest',
        () => manifests.length,
        (n) => n > 0,
        15_000,
      );
      expect(JSON.parse(manifests[0]?.toString() ?? '{}')).toMatchObject({ gatewayId: gw.id });
      const accepted = await command();
      expect(accepted.status).toBe(202);
    } finally {
      await watcher.endAsync(true);
    }
  }, 60_000);
});
