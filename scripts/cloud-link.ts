// `npm start`'s gateway joins its cloud the way an installer's box does: staff create the gateway in the cloud,
// the box provisions itself with the claim code's QR payload, then connects (events, telemetry, health up;
// desired state and remote commands down). The identity is kept in the gateway's data folder, so later starts
// reuse it; when the cloud no longer knows that gateway (its data was deleted) the box is provisioned again.
import { existsSync } from 'node:fs';
import { desiredState, type RunningCloud } from '@estate/cloud';
import {
  type CloudConnection,
  connectToCloud,
  type Gateway,
  type Identity,
  identityPath,
  loadIdentity,
  provision,
} from '@estate/edge';
import type { FacePipeline } from '@estate/models';
import { pushDemoEstate } from './demo-estate.js';

export interface CloudLinked {
  connection: CloudConnection;
  identity: Identity;
  notes: string[];
}

export async function linkToCloud(
  cloud: RunningCloud,
  gateway: Gateway,
  dataDir: string,
  pipeline: FacePipeline,
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
  notes.push(...(await pushDemoEstate(desiredState(cloud.deps), identity.gatewayId, pipeline)));
  return { connection, identity, notes };
}

/** What an installer does: staff create the gateway (claim code + QR), the box provisions from the QR payload. */
async function provisionThroughApi(cloud: RunningCloud, dataDir: string, replace: boolean): Promise<Identity> {
  const staff = cloud.logins.find((l) => l.role === 'staff' && l.estate);
  if (!staff?.estate) throw new Error('the cloud has no staff login to create the demo gateway with');
  const estate = await cloud.deps.prisma.estate.findFirstOrThrow({ where: { code: staff.estate } });
  const login = await post(cloud.url, '/api/auth/login', { login: staff.login, password: staff.password });
  const token = String(login.accessToken);
  const created = await post(cloud.url, `/api/estates/${estate.id}/gateways`, { name: 'demo gateway' }, token);
  const claim = created.claim as { qr: { payload: string } };
  const { identity } = await provision({ claim: claim.qr.payload, dataDir, force: replace });
  return identity;
}

async function post(base: string, path: string, body: object, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
