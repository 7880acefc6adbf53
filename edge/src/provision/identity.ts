// The gateway's identity, written once by `estate-gateway provision`: who it is, which cloud and broker it talks
// to, the keys it trusts, and its own private key. The file is the box's only secret store, so it is 0600 in a
// 0700 folder, replaced atomically, and never overwritten by accident.
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type GatewayConfig, ID_PATTERN } from '@estate/protocols';

export interface Identity {
  gatewayId: string;
  estateId: string;
  cloudUrl: string;
  mqtt: { url: string; username: string; password: string };
  trustedKeys: GatewayConfig['trustedKeys'];
  /** PKCS#8 PEM of the Ed25519 key made on this box; it never leaves it. */
  privateKeyPem: string;
  /** The public half, raw 32 bytes base64url, as registered with the cloud. */
  publicKey: string;
}

export const IDENTITY_FILE = 'identity.json';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    message: string,
    readonly code: 'missing' | 'exists' | 'malformed',
  ) {
    super(message);
  }
}

export const identityPath = (dataDir: string) => join(dataDir, IDENTITY_FILE);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The identity in `dataDir`; IdentityError 'missing' when the box was never provisioned. */
export function loadIdentity(dataDir: string): Identity {
  const file = identityPath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new IdentityError(`${file} not found: provision the gateway first (estate-gateway provision)`, 'missing');
    }
    throw e;
  }
  const bad = (what: string) => new IdentityError(`${file}: ${what}`, 'malformed');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (!isObject(raw)) throw bad('not an object');
  const { gatewayId, estateId, cloudUrl, mqtt, trustedKeys, privateKeyPem, publicKey } = raw;
  if (!str(gatewayId) || !new RegExp(ID_PATTERN).test(gatewayId)) throw bad('gatewayId is missing or malformed');
  if (!str(estateId) || !str(cloudUrl) || !str(publicKey)) throw bad('estateId, cloudUrl and publicKey are required');
  if (!isObject(mqtt) || !str(mqtt.url) || !str(mqtt.username) || !str(mqtt.password)) throw bad('mqtt is incomplete');
  if (!Array.isArray(trustedKeys)) throw bad('trustedKeys must be a list');
  if (!str(privateKeyPem) || !privateKeyPem.includes('PRIVATE KEY')) throw bad('privateKeyPem is missing');
  return {
    gatewayId,
    estateId,
    cloudUrl,
    mqtt: { url: mqtt.url, username: mqtt.username, password: mqtt.password },
    trustedKeys: trustedKeys as Identity['trustedKeys'],
    privateKeyPem,
    publicKey,
  };
}

/** Refuses to replace an existing identity unless `force` (a re-provisioned box gets new credentials). */
export function assertNoIdentity(dataDir: string, force = false): void {
  if (!force && existsSync(identityPath(dataDir))) {
    throw new IdentityError(
      `${identityPath(dataDir)} exists: this gateway is provisioned already (use --force to replace its identity)`,
      'exists',
    );
  }
}

export function saveIdentity(dataDir: string, identity: Identity, force = false): string {
  assertNoIdentity(dataDir, force);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700); // an existing folder keeps its mode otherwise
  const file = identityPath(dataDir);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    chmodSync(tmp, 0o600); // a stale temp file from a crash keeps its old mode otherwise
    writeFileSync(fd, `${JSON.stringify(identity, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return file;
}
