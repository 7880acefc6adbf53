// The installed system in one process, set up the way an installer does it: the running cloud (API, embedded
// broker, ingest, sync) creates a gateway and a claim code; the box provisions itself from the claim QR payload
// and joins; a door controller and a keypad/QR reader run on the gateway's own broker. Only tests import
// @estate/cloud; the gateway code never does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiSession, type RunningCloud, sessionAs, startCloud } from '@estate/cloud';
import {
  type CloudConnection,
  connectToCloud,
  type FaceAnalyser,
  Gateway,
  provision,
  startLocalBroker,
} from '@estate/edge';
import { Door, Reader } from '@estate/firmware-stubs';
import { testDatabase } from '../../../cloud/test/helpers/db.js';

export type Caller = ApiSession;

/** `faces`: the gateway decides face access with this analyser (a real FacePipeline), deciding at once. */
export async function aLinkedSystem(o: { faces?: FaceAnalyser } = {}) {
  const cloudDir = mkdtempSync(join(tmpdir(), 'estate-e2e-cloud-'));
  const gwDir = mkdtempSync(join(tmpdir(), 'estate-e2e-gw-'));
  // its own database: a throwaway one on the PostgreSQL of DATABASE_URL (CI), else PGlite in the data folder
  const db = await testDatabase();
  const cloud: RunningCloud = await startCloud({
    env: {},
    overrides: {
      ...(db.url ? { DATABASE_URL: db.url } : {}),
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
  const as = (role: 'staff' | 'resident' | 'installer'): Promise<Caller> => sessionAs(cloud, role);
  const staff = await as('staff');
  const staffLogin = cloud.logins.find((l) => l.role === 'staff');
  const estate = await cloud.deps.prisma.estate.findFirstOrThrow({ where: { code: staffLogin?.estate ?? '' } });

  // installer: create the gateway in the cloud, then provision the box from the claim QR payload
  const created = await staff.call('POST', `/api/estates/${estate.id}/gateways`, { name: 'Building 1 gateway' });
  if (created.status !== 201) throw new Error(`create gateway: ${created.status} ${JSON.stringify(created.body)}`);
  const claim = created.body.claim as { qr: { payload: string } };
  const { identity } = await provision({ claim: claim.qr.payload, dataDir: gwDir });

  const local = await startLocalBroker({ port: 0 });
  const gw = new Gateway({
    broker: local.broker,
    dataDir: gwDir,
    ...(o.faces ? { faces: { analyser: o.faces, quietMs: 0 } } : {}),
  });
  await gw.start();
  const conn: CloudConnection = await connectToCloud({ gateway: gw, identity, dataDir: gwDir, healthIntervalMs: 500 });
  const door = new Door({ id: 'door-b1', broker: { url: local.url }, pulseMs: 3_000 });
  const reader = new Reader({ id: 'reader-b1', broker: { url: local.url } });
  const doorCommands: string[] = [];
  door.on('received', (w) => {
    if (w.name === 'doorCommand') doorCommands.push(w.message.action);
  });
  await Promise.all([door.start(), reader.start()]);

  return {
    cloud,
    estateId: estate.id,
    gatewayId: identity.gatewayId,
    identity,
    dataDir: gwDir,
    staff,
    as,
    gw,
    local,
    conn,
    door,
    reader,
    doorCommands,
    async close() {
      await Promise.all([door.stop(), reader.stop()]);
      await conn.stop();
      await gw.stop();
      await local.close();
      await cloud.close();
      await db.drop();
      for (const d of [cloudDir, gwDir]) rmSync(d, { recursive: true, force: true });
    },
  };
}

export type LinkedSystem = Awaited<ReturnType<typeof aLinkedSystem>>;
