// `npm start`'s gateway joins its cloud the way an installer's box does: staff create the gateway in the cloud,
// the box provisions itself with the claim code's QR payload, then connects (events, telemetry, health up;
// desired state and remote commands down); the estate is then set up through the access API (demo-access.ts). The identity is kept in the gateway's data folder, so later starts
// reuse it; when the cloud no longer knows that gateway (its data was deleted) the box is provisioned again.
import { existsSync } from 'node:fs';
import { apiSession, type RunningCloud } from '@estate/cloud';
import {
  type CloudConnection,
  connectToCloud,
  type FileDeviceDirectory,
  type Gateway,
  type Identity,
  identityPath,
  loadIdentity,
  provision,
} from '@estate/edge';
import { type AccessDemo, demoThroughAccessApi } from './demo-access.js';

export interface CloudLinked {
  connection: CloudConnection;
  identity: Identity;
  demo: AccessDemo;
  notes: string[];
}

export async function linkToCloud(
  cloud: RunningCloud,
  gateway: Gateway,
  dataDir: string,
  directory: FileDeviceDirectory,
  warn: (message: string) => void,
): Promise<CloudLinked> {
  const notes: string[] = [];
  let identity = existsSync(identityPath(dataDir)) ? loadIdentity(dataDir) : undefined;
  const known =
    identity &&
    (await cloud.deps.prisma.gateway.findUnique({ where: { id: identity.gatewayId } }))?.status === 'active';
  if (!identity || !known) {
    identity = await provisionThroughApi(cloud, dataDir, identity !== undefined);
    notes.push(`provisioned gateway ${identity.gatewayId} with a claim code (identity in ${identityPath(dataDir)})`);
  }
  const connection = await connectToCloud({ gateway, identity, dataDir, warn });
  try {
    const demo = await demoThroughAccessApi(cloud, identity.gatewayId, directory);
    return { connection, identity, demo, notes: [...notes, ...demo.notes] };
  } catch (e) {
    await connection.stop(); // the caller has no handle on it to stop at shutdown
    throw e;
  }
}

/** What an installer does: staff create the gateway (claim code + QR), the box provisions from the QR payload. */
async function provisionThroughApi(cloud: RunningCloud, dataDir: string, replace: boolean): Promise<Identity> {
  const staff = cloud.logins.find((l) => l.role === 'staff' && l.estate);
  if (!staff?.estate) throw new Error('the cloud has no staff login to create the demo gateway with');
  const estate = await cloud.deps.prisma.estate.findFirstOrThrow({ where: { code: staff.estate } });
  const session = await apiSession(cloud.url, staff.login, staff.password);
  const made = await session.call('POST', `/api/estates/${estate.id}/gateways`, { name: 'demo gateway' });
  if (made.status !== 201) throw new Error(`create the demo gateway: ${made.status} ${JSON.stringify(made.body)}`);
  const created = made.body;
  const claim = created.claim as { qr: { payload: string } };
  const { identity } = await provision({ claim: claim.qr.payload, dataDir, force: replace });
  return identity;
}
