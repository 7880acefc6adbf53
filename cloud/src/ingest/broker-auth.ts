// The cloud broker's security policy as Aedes hooks: who may connect (gateways by id + secret, the cloud's own
// services by the service secret), what each may publish and subscribe, and the per-route size limits.
import { timingSafeEqual } from 'node:crypto';
import { routes } from '@estate/protocols';
import type { AedesOptions, AuthErrorCode, AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from 'pino';
import { hashToken } from '../core/tokens.js';
import type { SqlDriver } from '../db/driver.js';
import { ACL_DENIALS, type AclDenial, checkGatewayPublish, checkGatewaySubscribe, gatewayAcl } from './gateway-acl.js';
import { type ConnectRateLimiter, LogThrottle, sourceOf } from './rate-limit.js';

/** The MQTT username of the cloud's own clients (ingest, sync); gateways can never have it (not an id). */
export const SERVICE_USER = 'estate-cloud';

export const REFUSALS = [
  'missingCredentials',
  'unknownGateway',
  'badPassword',
  'notActive',
  'clientIdMismatch',
  'willNotAllowed',
  'lookupError',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** What the broker turned away. Every field only grows. */
export interface CloudBrokerCounters {
  refused: Record<Refusal, number>;
  aclDenials: Record<AclDenial, number>;
  /** Publishes above their route's maxBytes (connection closed: MQTT 3.1.1 has no negative PUBACK). */
  oversizedPayloads: number;
  /** Connections closed for announcing a packet over the transport limit, or a bad length. */
  oversizedPackets: number;
  malformedPackets: number;
  /** CONNECTs over the per-source rate, closed before any credential was looked at. */
  rateLimited: number;
}

const zeros = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
export const newBrokerCounters = (): CloudBrokerCounters => ({
  refused: zeros(REFUSALS),
  aclDenials: zeros(ACL_DENIALS),
  oversizedPayloads: 0,
  oversizedPackets: 0,
  malformedPackets: 0,
  rateLimited: 0,
});

// MQTT 3.1.1 CONNACK return codes; aedes declares them as an ambient const enum that verbatimModuleSyntax cannot
// inline, hence the casts.
const CODE: Record<Refusal, AuthErrorCode> = {
  missingCredentials: 4 as AuthErrorCode,
  // unknown id and wrong secret look the same from outside: no probing for gateway ids
  unknownGateway: 4 as AuthErrorCode,
  badPassword: 4 as AuthErrorCode,
  notActive: 5 as AuthErrorCode,
  clientIdMismatch: 2 as AuthErrorCode,
  willNotAllowed: 5 as AuthErrorCode,
  lookupError: 3 as AuthErrorCode,
};

type Identity = { service: true } | { service?: false; gatewayId: string };
type Verdict = { refused: Refusal } | { identity: Identity };

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export interface AuthDeps {
  driver: SqlDriver;
  serviceSecret: string;
  counters: CloudBrokerCounters;
  log: Logger;
  limiter: ConnectRateLimiter;
  /** The remote address of a client's socket (aedes sees only the frame-limited stream over it). */
  addressOf: (client: Client) => string | undefined;
}

type Hooks = Required<Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>>;

export function cloudBrokerHooks({ driver, serviceSecret, counters, log, limiter, addressOf }: AuthDeps): Hooks {
  const identities = new WeakMap<Client, Identity>();
  const wills = new WeakMap<Client, NonNullable<ConnectPacket['will']>>();
  const rateLog = new LogThrottle();

  const decide = async (client: Client, username?: string, password?: Buffer): Promise<Verdict> => {
    if (!username || !password) return { refused: 'missingCredentials' };
    const secret = password.toString('utf8');
    if (username === SERVICE_USER) {
      return sameSecret(secret, serviceSecret) ? { identity: { service: true } } : { refused: 'badPassword' };
    }
    // client id = username: one gateway cannot take over another's session by connecting with its client id
    if (client.id !== username) return { refused: 'clientIdMismatch' };
    const [row] = await driver.query<{ status: string; secret_hash: string | null }>(
      'SELECT status, secret_hash FROM gateways WHERE id = $1',
      [username],
    );
    if (!row) return { refused: 'unknownGateway' };
    if (!row.secret_hash || !sameSecret(hashToken(secret), row.secret_hash)) return { refused: 'badPassword' };
    if (row.status !== 'active') return { refused: 'notActive' };
    const will = wills.get(client);
    // a Will on a foreign topic is a deferred impersonation: refused now, not when it would fire
    if (will && checkGatewayPublish(gatewayAcl(username), will.topic, will.retain ?? false).denial) {
      return { refused: 'willNotAllowed' };
    }
    return { identity: { gatewayId: username } };
  };

  const deny = (client: Client, denial: AclDenial, topic: string) => {
    counters.aclDenials[denial]++;
    log.warn({ clientId: client.id.slice(0, 64), denial, topic: topic.slice(0, 200) }, 'ACL denied');
  };

  return {
    preConnect(client, packet, callback) {
      // before authenticate: a source over its rate costs neither a gateway lookup nor a secret comparison
      const source = sourceOf(addressOf(client));
      if (!limiter.take(source)) {
        counters.rateLimited++;
        const suppressed = rateLog.pass(source);
        if (suppressed !== undefined) {
          log.warn({ source, suppressed, rate: limiter.rate }, 'MQTT connect rate exceeded: connection closed');
        }
        // aedes sends no CONNACK for a refused preConnect; it closes the connection, and clients retry later
        return callback(new Error('connect rate limit exceeded'), false);
      }
      if (packet.will) wills.set(client, packet.will);
      callback(null, true);
    },

    authenticate(client, username, password, done) {
      decide(client, username, password)
        .catch((err: unknown): Verdict => {
          log.error({ err }, 'gateway lookup failed: refusing the connection');
          return { refused: 'lookupError' };
        })
        .then((v) => {
          if ('identity' in v) {
            identities.set(client, v.identity);
            return done(null, true);
          }
          counters.refused[v.refused]++;
          log.warn({ username: username?.slice(0, 64), reason: v.refused }, 'MQTT connection refused');
          const err = Object.assign(new Error(`connection refused: ${v.refused}`), { returnCode: CODE[v.refused] });
          done(err satisfies AuthenticateError, false);
        })
        // `done` runs aedes' connect sequence: what it throws must not become an unhandled rejection
        .catch((err: unknown) => log.error({ err }, 'connect handling threw'));
    },

    authorizePublish(client, packet, callback) {
      if (!client) return callback(null); // a Will restored by aedes itself, checked when it was set
      const who = identities.get(client);
      if (who?.service) return callback(null);
      const verdict = who
        ? checkGatewayPublish(gatewayAcl(who.gatewayId), packet.topic, packet.retain)
        : ({ denial: 'publishNotAllowed' } as const);
      if (verdict.denial) {
        deny(client, verdict.denial, packet.topic);
        return callback(new Error(`publish to ${packet.topic.slice(0, 200)} not allowed (${verdict.denial})`));
      }
      const max = routes[verdict.route].maxBytes;
      if (packet.payload.length > max) {
        counters.oversizedPayloads++;
        log.warn({ clientId: client.id, topic: packet.topic, bytes: packet.payload.length, max }, 'payload too large');
        return callback(new Error(`payload of ${packet.payload.length} bytes over the ${max}-byte limit`));
      }
      callback(null);
    },

    authorizeSubscribe(client, subscription, callback) {
      const who = identities.get(client);
      if (who?.service) return callback(null, subscription);
      const denial = who ? checkGatewaySubscribe(gatewayAcl(who.gatewayId), subscription.topic) : 'subscribeNotAllowed';
      if (!denial) return callback(null, subscription);
      deny(client, denial, subscription.topic);
      callback(null, null); // granted 0x80 for this filter; the connection stays up
    },
  };
}
