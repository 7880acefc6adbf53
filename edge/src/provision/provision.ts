// `estate-gateway provision`: make the box's key pair, claim the gateway record with the installer's claim code,
// and keep what the cloud answers (uplink credentials, trusted keys) in the identity file. The uplink secret is
// never printed; only the file holds it.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { exportRawPublicKey, type GatewayConfig, parseClaim, provisionProofMessage } from '@estate/protocols';
import { CloudError, callCloud, type Fetch } from './cloud-client.js';
import { assertNoIdentity, type Identity, saveIdentity } from './identity.js';

export interface ProvisionOptions {
  /** The claim code as typed, or the QR payload `estate-claim:CODE@URL`. */
  claim: string;
  /** The cloud's URL; taken from the QR payload when not given. */
  cloudUrl?: string | undefined;
  dataDir: string;
  force?: boolean;
  software?: string;
  progress?: (line: string) => void;
  fetch?: Fetch;
}

interface Provisioned {
  gatewayId: string;
  estateId: string;
  mqtt: Identity['mqtt'];
  trustedKeys: GatewayConfig['trustedKeys'];
}

/** What to tell the installer for each refusal the cloud can give. */
const ADVICE: Record<string, string> = {
  CLAIM_CODE_UNKNOWN: 'no gateway waits for this claim code: check it for typos, or ask for a new one',
  CLAIM_CODE_USED: 'this claim code has been used already: ask for a new one in the console',
  CLAIM_CODE_EXPIRED: 'this claim code has expired: ask for a new one in the console',
  GATEWAY_RETIRED: 'this gateway has been retired in the console: create a new one',
  RATE_LIMITED: 'too many attempts: wait a minute and try again',
};

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

export async function provision(o: ProvisionOptions): Promise<{ identity: Identity; file: string }> {
  const say = o.progress ?? (() => {});
  const parsed = parseClaim(o.claim);
  if (!parsed.code) {
    throw new ProvisionError('--claim is not a claim code (16 letters and digits, e.g. 7K2M-Q9XD-4RTB-H0CW)');
  }
  const cloudUrl = (o.cloudUrl ?? parsed.cloudUrl)?.replace(/\/+$/, '');
  if (!cloudUrl) throw new ProvisionError('--cloud URL is required (or give the QR payload estate-claim:CODE@URL)');
  if (!/^https?:\/\/[^\s]+$/.test(cloudUrl)) throw new ProvisionError(`--cloud: '${cloudUrl}' is not an http(s) URL`);
  // before the claim is spent: a box provisioned already must not burn a code and then fail to save
  assertNoIdentity(o.dataDir, o.force);

  say('generating the gateway key pair (Ed25519)…');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const nonce = randomBytes(18).toString('base64url');
  const raw = exportRawPublicKey(publicKey).toString('base64url');
  say(`claiming the gateway at ${cloudUrl}…`);
  let answer: Provisioned;
  try {
    const res = await callCloud<Provisioned>(
      cloudUrl,
      '/api/gateways/provision',
      {
        method: 'POST',
        body: JSON.stringify({
          claimCode: parsed.code,
          publicKey: raw,
          nonce,
          proof: sign(null, provisionProofMessage(parsed.code, nonce), privateKey).toString('base64url'),
          software: o.software ?? 'estate-gateway',
        }),
      },
      o.fetch,
    );
    answer = res.body;
  } catch (e) {
    if (e instanceof CloudError && ADVICE[e.code]) throw new ProvisionError(ADVICE[e.code]);
    throw e;
  }
  const identity: Identity = {
    gatewayId: answer.gatewayId,
    estateId: answer.estateId,
    cloudUrl,
    mqtt: answer.mqtt,
    trustedKeys: answer.trustedKeys,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: raw,
  };
  const file = saveIdentity(o.dataDir, identity, o.force);
  say(`gateway ${identity.gatewayId} of estate ${identity.estateId} provisioned`);
  say(`identity written to ${file} (mode 0600); cloud broker ${identity.mqtt.url}`);
  return { identity, file };
}
