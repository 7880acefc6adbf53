// A started gateway joined to its cloud with the identity it was provisioned with: the cloud link (events,
// telemetry, health over one MQTT client) and desired-state sync + remote commands on the same client. Without
// an identity the gateway still runs every door locally; it simply has no cloud.
import type { Gateway } from './gateway.js';
import { followCredentials } from './provision/credentials.js';
import type { Identity } from './provision/identity.js';
import { CloudSync } from './sync/cloud-sync.js';
import { CloudLink } from './uplink/cloud-link.js';

export interface CloudConnectionOptions {
  gateway: Gateway;
  identity: Identity;
  dataDir: string;
  /** CA of the cloud broker when its URL is mqtts:// with a private CA. */
  ca?: Buffer | string;
  budgetBytes?: number;
  healthIntervalMs?: number;
  now?: () => number;
  /** Every refused document or command, and disk-budget warnings. */
  warn?: (message: string) => void;
}

export interface CloudConnection {
  readonly link: CloudLink;
  readonly sync: CloudSync;
  stop(): Promise<void>;
}

export async function connectToCloud(o: CloudConnectionOptions): Promise<CloudConnection> {
  const { gateway, identity } = o;
  let sync: CloudSync | undefined;
  const faces = gateway.parts.faces;
  const link = new CloudLink({
    url: identity.mqtt.url,
    gatewayId: identity.gatewayId,
    username: identity.mqtt.username,
    password: identity.mqtt.password,
    parts: gateway.parts,
    dataDir: o.dataDir,
    // health carries the manifest version this gateway runs; the cloud knows the one it asked for
    versions: () => ({ desired: sync?.appliedVersion ?? 0, applied: sync?.appliedVersion ?? 0 }),
    // a resident at a camera goes before the backlog of a reconnect
    ...(faces ? { busy: () => faces.pending > 0 } : {}),
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.budgetBytes ? { budgetBytes: o.budgetBytes } : {}),
    ...(o.healthIntervalMs ? { healthIntervalMs: o.healthIntervalMs } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.warn ? { warn: o.warn } : {}),
  });
  await link.start();
  const client = link.uplink.client;
  if (!client) throw new Error('the cloud link started without an MQTT client');
  // a refused CONNECT: a rotated secret in identity.json, or an account the broker lost (then a new secret)
  followCredentials(client, { dataDir: o.dataDir, warn: o.warn, ...(o.now ? { now: o.now } : {}) });
  const s = new CloudSync({
    gateway,
    gatewayId: identity.gatewayId,
    client,
    trustedKeys: identity.trustedKeys,
    ...(o.now ? { now: o.now } : {}),
    onRefused: (what, reason, detail) => o.warn?.(`refused ${what}: ${reason}${detail ? ` (${detail})` : ''}`),
  });
  sync = s;
  // Subscribing waits for a connection, and the cloud may be unreachable at boot: start the sync client on the
  // first connect instead of holding up the gateway (MQTT.js restores the subscriptions on later reconnects).
  let starting: Promise<void> | undefined;
  const unhook = link.uplink.onConnect(() => {
    starting ??= s.start().catch((e: Error) => {
      starting = undefined;
      o.warn?.(`cloud sync did not start: ${e.message}`);
    });
  });
  return {
    link,
    sync: s,
    async stop() {
      unhook();
      await starting;
      await s.stop();
      await link.stop();
    },
  };
}
