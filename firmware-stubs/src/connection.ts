import { readFile } from 'node:fs/promises';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';

export interface BrokerOptions {
  /** mqtt://host:1883 or mqtts://host:8883 */
  url: string;
  /** Per-device credentials: the gateway broker refuses anonymous devices. */
  username?: string | undefined;
  password?: string | undefined;
  /** PEM file paths, read at start(). */
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  /** Defaults to true; turn off only against a test broker with a self-signed certificate. */
  rejectUnauthorized?: boolean | undefined;
}

export interface Will {
  topic: string;
  payload: Buffer;
}

async function pem(path: string | undefined, what: string): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`cannot read TLS ${what} file '${path}': ${(e as Error).message}`);
  }
}

export async function clientOptions(b: BrokerOptions, clientId: string, will: Will): Promise<IClientOptions> {
  const [ca, cert, key] = await Promise.all([pem(b.ca, 'ca'), pem(b.cert, 'cert'), pem(b.key, 'key')]);
  return {
    // DESIGN.md: the gateway broker is Aedes, which speaks MQTT 3.1.1 only.
    protocolVersion: 4,
    clientId,
    // Clean session: a command queued while the device was away is stale by the time it returns.
    clean: true,
    // QoS 0 is telemetry and camera frames: stale after an outage, so drop rather than replay them.
    queueQoSZero: false,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    will: { topic: will.topic, payload: will.payload, qos: 1, retain: true },
    ...(b.username !== undefined ? { username: b.username } : {}),
    ...(b.password !== undefined ? { password: b.password } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(b.rejectUnauthorized !== undefined ? { rejectUnauthorized: b.rejectUnauthorized } : {}),
  };
}

/**
 * Errors retrying cannot fix: a CONNACK refusal (numeric code) or a certificate
 * the broker presents that we do not trust (Node's TLS error codes).
 */
const isFinal = (code: unknown) =>
  typeof code === 'number' || (typeof code === 'string' && /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL/.test(code));

/**
 * Opens a client; `ready` resolves on the first CONNACK. A refused CONNACK (bad
 * credentials, not authorised) or an untrusted certificate is final and rejects;
 * a broker that is not up yet is retried, each failure going to `onError` so the
 * operator sees why it waits. Ending the client before it connects rejects too.
 */
export function openClient(
  url: string,
  opts: IClientOptions,
  onError: (e: Error, again: boolean) => void,
): { client: MqttClient; ready: Promise<void> } {
  const client = connect(url, opts);
  // A broker that stays down fails the same way every second: `again` lets the caller say so once.
  let last = '';
  // Without an error listener an EventEmitter 'error' would end the process.
  client.on('error', (e) => {
    onError(e, e.message === last);
    last = e.message;
  });
  client.on('connect', () => {
    last = '';
    // Nagle + delayed ACK would hold a small publish (a BLE answer, a PIN) for up to 40 ms behind the previous PUBACK
    noDelay(client);
  });
  const ready = new Promise<void>((resolve, reject) => {
    const settle = () => {
      client.off('connect', onConnect);
      client.off('error', onRefused);
      client.off('end', onEnd);
    };
    const onConnect = () => {
      settle();
      resolve();
    };
    const onRefused = (e: Error & { code?: unknown }) => {
      if (!isFinal(e.code)) return;
      settle();
      client.end(true);
      reject(new Error(`broker ${url}: ${e.message}`));
    };
    const onEnd = () => {
      settle();
      reject(new Error(`stopped before broker ${url} answered`));
    };
    client.on('connect', onConnect);
    client.on('error', onRefused);
    client.on('end', onEnd);
  });
  return { client, ready };
}

/** TCP_NODELAY on the client's socket (plain or TLS); other transports have no such setting. */
export function noDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (on: boolean) => void };
  stream.setNoDelay?.(true);
}
