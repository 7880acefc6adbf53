// What a gateway may do on the cloud broker, derived from the topic map in protocols (direction of each route)
// rather than written by hand: a route added there is usable by gateways without touching the broker.
import { MESSAGE_NAMES, type MessageName, routes, TOPIC_ROOT } from '@estate/protocols';

export const ACL_DENIALS = ['publishForeign', 'publishNotAllowed', 'subscribeForeign', 'subscribeNotAllowed'] as const;
export type AclDenial = (typeof ACL_DENIALS)[number];

export interface GatewayAcl {
  /** estate/v1/gw/{id}/ */
  readonly prefix: string;
  /** Own gateway→cloud topics, with the route each belongs to (for its size limit and retain flag). */
  readonly publish: ReadonlyMap<string, MessageName>;
  /** Own cloud→gateway topics. */
  readonly subscribe: ReadonlySet<string>;
}

const GATEWAY_ROOT = `${TOPIC_ROOT}/gw/`;

function derive(gatewayId: string): GatewayAcl {
  const publish = new Map<string, MessageName>();
  const subscribe = new Set<string>();
  for (const name of MESSAGE_NAMES) {
    const r = routes[name];
    if (r.direction !== 'gateway→cloud' && r.direction !== 'cloud→gateway') continue;
    const topic = r.pattern.replace('{gatewayId}', gatewayId);
    if (r.direction === 'gateway→cloud') publish.set(topic, name);
    else subscribe.add(topic);
  }
  return { prefix: `${GATEWAY_ROOT}${gatewayId}/`, publish, subscribe };
}

// Bounded by the number of gateways that authenticated; cleared rather than grown without end.
const cache = new Map<string, GatewayAcl>();
export function gatewayAcl(gatewayId: string): GatewayAcl {
  let acl = cache.get(gatewayId);
  if (!acl) {
    if (cache.size >= 10_000) cache.clear();
    acl = derive(gatewayId);
    cache.set(gatewayId, acl);
  }
  return acl;
}

/** Under another gateway's topics: impersonation, counted apart from a plain mistake. */
const foreign = (acl: GatewayAcl, topic: string) => topic.startsWith(GATEWAY_ROOT) && !topic.startsWith(acl.prefix);

export type PublishVerdict = { denial: AclDenial } | { denial?: undefined; route: MessageName };

/** Exact topics only: a gateway publishes nothing outside its own gateway→cloud routes. */
export function checkGatewayPublish(acl: GatewayAcl, topic: string, retain: boolean): PublishVerdict {
  const route = acl.publish.get(topic);
  if (!route) return { denial: foreign(acl, topic) ? 'publishForeign' : 'publishNotAllowed' };
  if (retain && !routes[route].retain) return { denial: 'publishNotAllowed' };
  return { route };
}

/** No wildcards: a gateway needs nothing but its own cloud→gateway topics. */
export function checkGatewaySubscribe(acl: GatewayAcl, filter: string): AclDenial | undefined {
  if (acl.subscribe.has(filter)) return undefined;
  return foreign(acl, filter) ? 'subscribeForeign' : 'subscribeNotAllowed';
}
