// `estate-gateway credentials --rotate`: a new MQTT secret for this gateway, asked for with a request signed by the
// box's own key (so it works when the old secret does not: a rebuilt cloud broker, a suspected leak). The cloud
// replaces the secret and any external broker account at once; the new one is written into identity.json, and a
// running agent takes it up the next time its connection is refused (cloud-connection.ts).
import { CloudError, type Fetch, signedCall } from './cloud-client.js';
import { type Identity, loadIdentity, saveIdentity } from './identity.js';

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

export async function rotateCredentials(o: { dataDir: string; fetch?: Fetch }): Promise<Identity> {
  const identity = loadIdentity(o.dataDir);
  let mqtt: Identity['mqtt'];
  try {
    const path = `/api/gateways/${identity.gatewayId}/self/credentials`;
    ({ mqtt } = (await signedCall<{ mqtt: Identity['mqtt'] }>(identity, 'POST', path, undefined, o.fetch)).body);
  } catch (e) {
    if (e instanceof CloudError) throw new CredentialsError(`the cloud refused new credentials: ${e.message}`);
    throw e;
  }
  const next = { ...identity, mqtt };
  saveIdentity(o.dataDir, next, true);
  return next;
}
