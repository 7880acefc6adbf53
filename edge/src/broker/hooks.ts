import type { AedesOptions, AuthErrorCode, AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import { type AclDenial, aclFor, checkPublish, checkSubscribe, type DeviceAcl } from './acl.js';
import type { BrokerCounters, Refusal } from './counters.js';
import type { DeviceDirectory } from './device-directory.js';
import { checkInternalPublish, checkInternalSubscribe, type InternalUsers, isInternalUser } from './internal-users.js';
import type { ConnectRateLimiter } from './rate-limit.js';
import { dummyHash, verifySecret } from './secret.js';

interface Deps {
  devices: DeviceDirectory;
  counters: BrokerCounters;
  log: Logger;
  limiter: ConnectRateLimiter;
  /** Tools on the box (self-test); absent = no internal user is admitted. */
  internal?: InternalUsers | undefined;
}

type Hooks = Required<Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>>;

// MQTT 3.1.1 §3.2.2.3 CONNACK return codes. aedes declares them as an ambient
// const enum, which verbatimModuleSyntax cannot inline, hence the casts.
const IDENTIFIER_REJECTED = 2 as AuthErrorCode;
const SERVER_UNAVAILABLE = 3 as AuthErrorCode;
const BAD_CREDENTIALS = 4 as AuthErrorCode;
const NOT_AUTHORIZED = 5 as AuthErrorCode;

const RETURN_CODE: Record<Refusal, AuthErrorCode> = {
  missingCredentials: BAD_CREDENTIALS,
  // unknown id and wrong secret look the same from outside: no probing for valid ids
  unknownDevice: BAD_CREDENTIALS,
  badPassword: BAD_CREDENTIALS,
  disabled: NOT_AUTHORIZED,
  // [MQTT-3.1.3-6]'s "identifier rejected": the client id is ours to refuse
  clientIdMismatch: IDENTIFIER_REJECTED,
  willNotAllowed: NOT_AUTHORIZED,
  directoryError: SERVER_UNAVAILABLE,
};

const LOG_AGAIN_AFTER_MS = 60_000;

/** Suppresses repeats of the same line, so a device stuck in a reconnect loop logs once a minute, not per attempt. */
export class Throttle {
  readonly #last = new Map<string, number>();
  first(key: string, now = Date.now()): boolean {
    const at = this.#last.get(key);
    if (at !== undefined && now - at < LOG_AGAIN_AFTER_MS) return false;
    if (this.#last.size >= 1000) this.#last.clear();
    this.#last.set(key, now);
    return true;
  }
}

export function addressOf(client: Client): string {
  // a net.Socket, or our PacketGuard, which carries the socket's address
  const conn = client.conn;
  return 'remoteAddress' in conn && typeof conn.remoteAddress === 'string' ? conn.remoteAddress : 'unknown';
}

/**
 * The broker's security policy as Aedes hooks. Only device connections pass
 * through them; the gateway's own features publish and subscribe in-process
 * (broker.publish / broker.subscribe) and are not subject to device ACLs.
 */
export function securityHooks({ devices, counters, log, limiter, internal }: Deps): Hooks {
  const identities = new WeakMap<Client, { acl: DeviceAcl } | { internal: true }>();
  const wills = new WeakMap<Client, NonNullable<ConnectPacket['will']>>();
  const aclLogged = new WeakSet<Client>();
  const throttle = new Throttle();

  const denyAcl = (client: Client, denial: AclDenial, topic: string) => {
    counters.aclDenials[denial]++;
    const line = { clientId: client.id, address: addressOf(client), denial, topic: topic.slice(0, 200) };
    // once per connection at warn: a misbehaving device is worth one line, not one per packet
    if (aclLogged.has(client)) log.debug(line, 'ACL denied');
    else {
      aclLogged.add(client);
      log.warn(line, 'ACL denied');
    }
  };

  return {
    preConnect(client, packet, callback) {
      const address = addressOf(client);
      if (!limiter.take(address)) {
        counters.rateLimited++;
        if (throttle.first(`rate|${address}`)) log.warn({ address }, 'connect rate limit exceeded: connection closed');
        // preConnect cannot send a CONNACK: aedes closes the connection
        callback(new Error('connect rate limit exceeded'), false);
        return;
      }
      if (packet.will) wills.set(client, packet.will);
      callback(null, true);
    },

    authenticate(client, username, password, done) {
      const refuse = (reason: Refusal, detail?: string) => {
        counters.refusedConnections[reason]++;
        const address = addressOf(client);
        const user = username?.slice(0, 64);
        if (throttle.first(`${reason}|${user}|${address}`)) {
          log.warn({ username: user, clientId: client.id.slice(0, 64), address, reason, detail }, 'connection refused');
        }
        const err = Object.assign(new Error(`connection refused: ${reason}`), { returnCode: RETURN_CODE[reason] });
        done(err satisfies AuthenticateError, false);
      };
      type Verdict = { refused: Refusal; detail?: string } | { acl: DeviceAcl } | { internal: true };
      const decideInternal = async (user: string, pass: Buffer): Promise<Verdict> => {
        const entry = await internal?.lookup(user);
        const ok = await verifySecret(pass, entry?.secretHash ?? (await dummyHash()));
        if (!entry) return { refused: 'unknownDevice' };
        if (!ok) return { refused: 'badPassword' };
        return wills.has(client) ? { refused: 'willNotAllowed' } : { internal: true };
      };
      const decide = async (): Promise<Verdict> => {
        if (!username || !password) return { refused: 'missingCredentials' };
        // aedes has set client.id from the CONNECT by now; binding it to the
        // username stops one device taking over another's session
        if (client.id !== username) return { refused: 'clientIdMismatch' };
        if (isInternalUser(username)) return decideInternal(username, password);
        let device: Awaited<ReturnType<DeviceDirectory['lookup']>>;
        try {
          device = await devices.lookup(username);
        } catch (e) {
          log.error({ err: e }, 'device directory unreadable: refusing every device until it is fixed');
          return { refused: 'directoryError' };
        }
        const ok = await verifySecret(password, device?.secretHash ?? (await dummyHash()));
        if (!device) return { refused: 'unknownDevice' };
        if (!ok) return { refused: 'badPassword' };
        if (device.disabled) return { refused: 'disabled' };
        const acl = aclFor(device.kind, device.id);
        const will = wills.get(client);
        // checked now, not only when it fires: a Will on a foreign topic is a
        // deferred impersonation attempt and the device should hear so at once
        if (will && checkPublish(acl, will.topic, will.retain ?? false)) {
          return { refused: 'willNotAllowed', detail: will.topic.slice(0, 200) };
        }
        return { acl };
      };
      decide()
        .catch((e: unknown): Verdict => {
          log.error({ err: e }, 'authentication failed unexpectedly');
          return { refused: 'directoryError' };
        })
        .then((v) => {
          if ('refused' in v) return refuse(v.refused, v.detail);
          identities.set(client, 'acl' in v ? { acl: v.acl } : { internal: true });
          done(null, true);
        })
        // `done` runs aedes' connect sequence; whatever it throws must not become
        // an unhandled rejection (which ends the process) nor a second `done`
        .catch((e: unknown) => log.error({ err: e }, 'connect handling threw'));
    },

    authorizePublish(client, packet, callback) {
      // client is null for Wills aedes restores from persistence; in-process
      // publishes never reach this hook
      if (!client) return callback(null);
      const identity = identities.get(client);
      const denial = !identity
        ? 'publishNotAllowed'
        : 'internal' in identity
          ? checkInternalPublish(packet.topic, packet.payload, packet.retain)
          : checkPublish(identity.acl, packet.topic, packet.retain);
      if (!denial) return callback(null);
      denyAcl(client, denial, packet.topic);
      // MQTT 3.1.1 has no negative PUBACK: aedes closes the connection [MQTT-3.3.5-2]
      callback(new Error(`publish to ${packet.topic.slice(0, 200)} not allowed (${denial})`));
    },

    authorizeSubscribe(client, subscription, callback) {
      const identity = identities.get(client);
      const denial = !identity
        ? 'subscribeNotAllowed'
        : 'internal' in identity
          ? checkInternalSubscribe(subscription.topic)
          : checkSubscribe(identity.acl, subscription.topic);
      if (!denial) return callback(null, subscription);
      denyAcl(client, denial, subscription.topic);
      // null (not an error) = granted 0x80 for this filter, the connection stays up
      callback(null, null);
    },
  };
}
