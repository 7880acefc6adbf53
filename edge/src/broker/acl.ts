import { type DeviceKind, MESSAGE_NAMES, routes, TOPIC_ROOT } from '@estate/protocols';

/** Why a device's publish or subscription was refused (a refused Will refuses the CONNECT instead). */
export const ACL_DENIALS = [
  'publishForeign', // a topic under another device
  'publishNotAllowed', // not a device→gateway route of its own (e.g. its own cmd), or retain on a non-retained route
  'subscribeForeign',
  'subscribeWildcard',
  'subscribeNotAllowed',
] as const;
export type AclDenial = (typeof ACL_DENIALS)[number];

export interface DeviceAcl {
  /** estate/v1/dev/{kind}/{id}/ */
  readonly prefix: string;
  /** Own topics of device→gateway routes. */
  readonly publish: ReadonlySet<string>;
  /** The subset whose route is retained (state, presence): only these may carry the retain flag. */
  readonly retain: ReadonlySet<string>;
  /** Own topics of gateway→device routes (commands, feedback, challenges). */
  readonly subscribe: ReadonlySet<string>;
}

const DEVICE_ROOT = `${TOPIC_ROOT}/dev/`;
const ownPrefix = (kind: string, id: string) => `${DEVICE_ROOT}${kind}/${id}/`;

/**
 * A device's ACL, derived from the topic map rather than written by hand, so a
 * route added to protocols/ is usable by devices without touching the broker.
 * Every route is filled in with this device's kind and id; the ones that land
 * under estate/v1/dev/{kind}/{id}/ are its own (a door route filled in for a
 * camera lands under .../door/..., so it is not the camera's). Routes with other
 * parameters ({gatewayId}) never resolve and are never a device's.
 */
function derive(kind: DeviceKind, id: string): DeviceAcl {
  const publish = new Set<string>();
  const retain = new Set<string>();
  const subscribe = new Set<string>();
  const prefix = ownPrefix(kind, id);
  for (const name of MESSAGE_NAMES) {
    const r = routes[name];
    let resolvable = true;
    const topic = r.pattern.replace(/\{(\w+)\}/g, (_, p: string) => {
      if (p === 'kind') return kind;
      if (p === 'deviceId') return id;
      resolvable = false;
      return '';
    });
    if (!resolvable || !topic.startsWith(prefix)) continue;
    if (r.direction === 'device→gateway') {
      publish.add(topic);
      if (r.retain) retain.add(topic);
    } else if (r.direction === 'gateway→device') {
      subscribe.add(topic);
    }
  }
  return { prefix, publish, retain, subscribe };
}

// Bounded by the number of provisioned devices: only authenticated devices get here.
const cache = new Map<string, DeviceAcl>();
export function aclFor(kind: DeviceKind, id: string): DeviceAcl {
  const key = `${kind}/${id}`;
  let acl = cache.get(key);
  if (!acl) {
    acl = derive(kind, id);
    cache.set(key, acl);
  }
  return acl;
}

/** Under some other device's topics (counted apart: that is impersonation, not a firmware bug). */
const isForeign = (topic: string, acl: DeviceAcl) => topic.startsWith(DEVICE_ROOT) && !topic.startsWith(acl.prefix);

/** undefined = allowed. Exact topics only: a device never publishes outside the table of contents. */
export function checkPublish(acl: DeviceAcl, topic: string, retain: boolean): AclDenial | undefined {
  if (acl.publish.has(topic)) return retain && !acl.retain.has(topic) ? 'publishNotAllowed' : undefined;
  // its own cmd topic is under its prefix too, but not a device→gateway route
  return isForeign(topic, acl) ? 'publishForeign' : 'publishNotAllowed';
}

/** undefined = allowed. No wildcards: a device needs nothing but its own downlink topics. */
export function checkSubscribe(acl: DeviceAcl, filter: string): AclDenial | undefined {
  if (filter.includes('+') || filter.includes('#')) return 'subscribeWildcard';
  if (acl.subscribe.has(filter)) return undefined;
  return isForeign(filter, acl) ? 'subscribeForeign' : 'subscribeNotAllowed';
}
