import { ACL_DENIALS, type AclDenial } from './acl.js';

/** Why a CONNECT was refused (each maps to a CONNACK return code in hooks.ts). */
export const REFUSALS = [
  'missingCredentials',
  'unknownDevice',
  'badPassword',
  'disabled',
  'clientIdMismatch',
  'willNotAllowed',
  'directoryError',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** What the broker turned away, for health reporting. Every field only grows. */
export interface BrokerCounters {
  refusedConnections: Record<Refusal, number>;
  aclDenials: Record<AclDenial, number>;
  /** Connections closed for announcing a packet over the size limit. */
  oversizedPackets: number;
  /** Connections closed for a remaining length longer than MQTT's four bytes. */
  malformedPackets: number;
  /** CONNECTs over the per-address rate. */
  rateLimited: number;
  /** Sockets dropped because the concurrent-connection cap was reached. */
  tooManyClients: number;
  tlsHandshakeFailures: number;
  /** Retained messages that could not be written to disk (still delivered, lost on restart). */
  retainedWriteErrors: number;
}

const zeros = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export function newCounters(): BrokerCounters {
  return {
    refusedConnections: zeros(REFUSALS),
    aclDenials: zeros(ACL_DENIALS),
    oversizedPackets: 0,
    malformedPackets: 0,
    rateLimited: 0,
    tooManyClients: 0,
    tlsHandshakeFailures: 0,
    retainedWriteErrors: 0,
  };
}
