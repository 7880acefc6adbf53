// `estate-gateway credentials --rotate`: a new MQTT secret for this gateway, asked for with a request signed by the
// box's own key (so it works when the old secret does not: a rebuilt cloud broker, a suspected leak). The cloud
// replaces the secret and any external broker account at once; the new one is written into identity.json, and a
// running agent takes it up the next time its connection is refused (followCredentials, below).
import type mqtt from 'mqtt';
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

/** Consecutive refusals with the secret in hand before the agent asks the cloud for a new one itself. */
export const REFUSALS_BEFORE_ROTATING = 3;
/** At most one such request per this long: a retired gateway must not hammer the cloud. */
export const ROTATE_AT_MOST_EVERY_MS = 10 * 60_000;

/**
 * Keeps a running agent's MQTT login current. When the broker refuses the CONNECT as unauthorised it first rereads
 * identity.json (`credentials --rotate` may have run meanwhile); if the file holds the very secret that was refused
 * REFUSALS_BEFORE_ROTATING times in a row, the broker has lost the account (a rebuilt Mosquitto, a restored
 * database) and the agent rotates the secret itself, with its key — at most once per ROTATE_AT_MOST_EVERY_MS.
 */
export function followCredentials(
  client: mqtt.MqttClient,
  o: { dataDir: string; warn?: ((message: string) => void) | undefined; fetch?: Fetch; now?: () => number },
): void {
  const now = o.now ?? Date.now;
  let refused = 0;
  let lastRotation = Number.NEGATIVE_INFINITY;
  let rotating = false;
  client.on('connect', () => {
    refused = 0;
  });
  client.on('error', (err) => {
    const code = (err as { code?: number }).code;
    if (code !== 4 && code !== 5) return; // 4 bad user name or password, 5 not authorised
    let onFile: string | undefined;
    try {
      onFile = loadIdentity(o.dataDir).mqtt.password;
    } catch {
      // an unreadable identity file: keep trying with the secret in hand
    }
    if (onFile && onFile !== client.options.password) {
      client.options.password = onFile;
      refused = 0;
      return;
    }
    refused++;
    if (rotating || refused < REFUSALS_BEFORE_ROTATING || now() - lastRotation < ROTATE_AT_MOST_EVERY_MS) return;
    rotating = true;
    lastRotation = now();
    o.warn?.(`the cloud broker refused this gateway's secret ${refused} times: asking the cloud for a new one`);
    rotateCredentials({ dataDir: o.dataDir, ...(o.fetch ? { fetch: o.fetch } : {}) })
      .then((identity) => {
        client.options.password = identity.mqtt.password;
        o.warn?.('new MQTT secret received and saved; reconnecting with it');
      })
      .catch((e: Error) => o.warn?.(`no new MQTT secret: ${e.message}`))
      .finally(() => {
        rotating = false;
      });
  });
}
