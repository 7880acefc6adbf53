// A cloud (real database on embedded PGlite, real signing keys, the sync publisher) and a gateway joined by a real
// MQTT broker, with a door controller and a keypad stub on the gateway's own broker: the whole desired-state and
// command path, as deployed, in one process. Only the tests import @estate/cloud; the gateway code never does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DesiredStateApi, desiredState, loadConfig, openDeps, startSyncPublisher } from '@estate/cloud';
import { CloudSync, type Gateway, type LocalBroker, startLocalBroker } from '@estate/edge';
import { Door, Reader } from '@estate/firmware-stubs';
import mqtt from 'mqtt';
import { aGateway } from './estate.js';

export const GW = 'gw-sync';

export const until = async (cond: () => boolean | Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

export async function aSyncWorld() {
  const cloudBroker = await startLocalBroker({ port: 0 });
  const cloudDir = mkdtempSync(join(tmpdir(), 'estate-sync-cloud-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    ESTATE_CLOUD_DATA_DIR: cloudDir,
    ESTATE_CLOUD_LOG_LEVEL: 'silent',
    ESTATE_CLOUD_ARGON2_MEMORY_KIB: '1024',
  });
  const { deps, db } = await openDeps(config, { inMemory: true });
  const estate = await deps.prisma.estate.create({ data: { code: 'sync', name: 'Sync Estate', city: 'Shanghai' } });
  await deps.prisma.gateway.create({ data: { id: GW, estateId: estate.id, name: 'main gate', status: 'active' } });
  const staff = await deps.prisma.account.create({
    data: { login: 'sync.staff', passwordHash: 'x', role: 'staff', estateId: estate.id },
  });
  // the keys exist before provisioning hands them to the box
  await deps.signing.signer('desired');
  await deps.signing.signer('command');
  const publisher = startSyncPublisher(deps, { url: cloudBroker.url, listenAcks: true });
  await publisher.ready;
  const desired: DesiredStateApi = desiredState(deps);

  const { local, gw } = await aGateway();
  const door = new Door({ id: 'door-b1', broker: { url: local.url }, pulseMs: 3_000 });
  const reader = new Reader({ id: 'reader-b1', broker: { url: local.url } });
  const doorCommands: string[] = [];
  door.on('received', (w) => {
    if (w.name === 'doorCommand') doorCommands.push(w.message.action);
  });
  await Promise.all([door.start(), reader.start()]);
  const client = await mqtt.connectAsync(cloudBroker.url, { clientId: GW, protocolVersion: 4 });
  const refusals: string[] = [];
  const sync = new CloudSync({
    gateway: gw,
    gatewayId: GW,
    client,
    trustedKeys: await deps.signing.trusted(),
    onRefused: (_what, reason) => refusals.push(reason),
    askAfterMs: 300,
  });
  await sync.start();
  const actor = {
    principal: {
      accountId: staff.id,
      sessionId: 's',
      role: 'staff' as const,
      estateId: estate.id,
      personId: null,
      householdId: null,
    },
    requestId: null,
    ip: null,
  };
  return {
    deps,
    desired,
    publisher,
    cloudBroker,
    estateId: estate.id,
    actor,
    gw: gw as Gateway,
    local: local as LocalBroker,
    door,
    reader,
    doorCommands,
    client,
    sync,
    refusals,
    async close() {
      await sync.stop();
      await client.endAsync();
      await Promise.all([door.stop(), reader.stop()]);
      await gw.stop();
      await local.close();
      await publisher.close();
      await cloudBroker.close();
      await db.close();
      rmSync(cloudDir, { recursive: true, force: true });
    },
  };
}

export type SyncWorld = Awaited<ReturnType<typeof aSyncWorld>>;

/** The estate of helpers/estate.ts (door b1-main, alice with a PIN), put through the cloud's desired state. */
export async function anEstateFromTheCloud(
  w: Pick<SyncWorld, 'desired'>,
  pinHash: (key: string, pin: string) => string,
  gatewayId = GW,
) {
  await w.desired.setConfig(gatewayId, { faceMatchThreshold: 0.5, pinMaxAttempts: 3 });
  await w.desired.put(gatewayId, 'access', {
    upserts: [
      {
        kind: 'door',
        id: 'b1-main',
        name: 'Building 1 main door',
        deviceId: 'door-b1',
        mode: 'fail_secure',
        pulseMs: 500,
        heldOpenS: 30,
        fireRelease: true,
        antiPassback: 'off',
        direction: 'both',
        readers: ['reader-b1'],
      },
      { kind: 'group', id: 'g-b1', doors: ['b1-main'], schedule: { windows: [], holidays: [], holidayWindows: [] } },
      { kind: 'member', id: 'p-alice', groups: ['g-b1'] },
    ],
  });
  const [config] = await w.desired.deltaFor(gatewayId, 'config', 0);
  if (!config) throw new Error('no config in the desired state');
  const pinKey = (config.doc as unknown as { config: { pinKey: string } }).config.pinKey;
  await w.desired.put(gatewayId, 'credentials', {
    upserts: [{ kind: 'pin', id: 'p-alice', hash: pinHash(pinKey, '482916') }],
  });
}
