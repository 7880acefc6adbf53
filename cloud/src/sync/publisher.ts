// The cloud's MQTT link for desired state and commands: a service client (username `estate-cloud`) that publishes
// signed deltas on gw/<id>/sync/<section>, the retained manifest on gw/<id>/desired and commands on gw/<id>/cmd.
// It is attached to the deps it serves, so the sync API and the command routes find it without a new field in
// CloudDeps; without one attached, desired state is still stored and sent when the gateway next asks.
import { randomBytes } from 'node:crypto';
import { decodeAs, filterFor, matchTopic } from '@estate/protocols';
import mqtt from 'mqtt';
import type { CloudDeps } from '../core/deps.js';
import { syncHandlers } from './handlers.js';

export interface SyncLink {
  /** Whether the broker connection is up now (commands are refused while it is not; they would expire queued). */
  readonly connected: boolean;
  /**
   * QoS 1. Connected: resolves once the broker has the message. Disconnected: queued in the client and sent on
   * reconnect, resolving at once: desired state is in the database already, and the gateway also catches up by
   * asking when it connects, so an API write never waits on the broker.
   */
  publish(topic: string, payload: Buffer, retain?: boolean): Promise<void>;
}

const links = new WeakMap<CloudDeps, SyncLink>();

export function attachSyncLink(deps: CloudDeps, link: SyncLink | undefined): void {
  if (link) links.set(deps, link);
  else links.delete(deps);
}

export const syncLinkOf = (deps: CloudDeps): SyncLink | undefined => links.get(deps);

export interface SyncPublisherOptions {
  url: string;
  username?: string;
  password?: string;
  /**
   * Subscribe to desired and command acks itself. Off when ingest runs in the same process (it stores the acks'
   * batches and calls `syncHandlers`); on for a standalone sync service, tests and the bench.
   */
  listenAcks?: boolean;
  onError?: (err: Error) => void;
}

export interface SyncPublisher extends SyncLink {
  readonly client: mqtt.MqttClient;
  /** Resolves on the first connection (and, with listenAcks, its subscriptions); it may never, if the broker is down. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts connecting and returns at once: a cloud whose external broker is down still serves its API (desired state
 * is stored and goes out on reconnect; commands answer 503 until then). Await `ready` where the link must be up.
 */
export function startSyncPublisher(deps: CloudDeps, o: SyncPublisherOptions): SyncPublisher {
  const client = mqtt.connect(o.url, {
    protocolVersion: 4,
    clientId: `estate-cloud-sync-${randomBytes(4).toString('hex')}`,
    ...(o.username ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
    reconnectPeriod: 1_000,
    // a refused CONNECT (credentials not made yet, the broker's auth backend restarting) is retried, not final
    reconnectOnConnackError: true,
  });
  client.on('error', (err) => o.onError?.(err));
  const publisher: SyncPublisher = {
    client,
    get connected() {
      return client.connected;
    },
    ready: new Promise<void>((resolve) => {
      // with listenAcks, ready waits for the ack subscription, tried again on each connect until it is in place
      const onConnect = () => {
        const subscribed = o.listenAcks ? subscribeAcks(client) : Promise.resolve();
        subscribed.then(
          () => {
            client.off('connect', onConnect);
            resolve();
          },
          (err: Error) => o.onError?.(err),
        );
      };
      client.on('connect', onConnect);
    }),
    publish: async (topic, payload, retain = false) => {
      if (client.connected) return void (await client.publishAsync(topic, payload, { qos: 1, retain }));
      client.publish(topic, payload, { qos: 1, retain }, (err) => {
        if (err) o.onError?.(err);
      });
    },
    close: async () => {
      attachSyncLink(deps, undefined);
      // a graceful end waits for unacknowledged messages, which never drain while the broker is away
      await client.endAsync(!client.connected);
    },
  };
  attachSyncLink(deps, publisher);
  if (o.listenAcks) handleAcks(deps, publisher, o.onError);
  return publisher;
}

/** Desired-state and command acks arriving on this client go to the sync handlers. */
function handleAcks(deps: CloudDeps, publisher: SyncPublisher, onError?: (err: Error) => void) {
  const handlers = syncHandlers(deps, publisher);
  const { client } = publisher;
  client.on('message', (topic, payload) => {
    const m = matchTopic(topic);
    if (!m.ok) return;
    const gatewayId = m.value.params.gatewayId as string;
    const run = async () => {
      if (m.value.name === 'desiredAck') {
        const d = decodeAs('desiredAck', payload);
        if (d.ok && d.value.gatewayId === gatewayId) await handlers.desiredAck(gatewayId, d.value);
      } else if (m.value.name === 'gatewayCommandAck') {
        const d = decodeAs('gatewayCommandAck', payload);
        if (d.ok) await handlers.commandAck(gatewayId, d.value);
      }
    };
    run().catch((err: Error) => onError?.(err));
  });
}

async function subscribeAcks(client: mqtt.MqttClient): Promise<void> {
  await client.subscribeAsync([filterFor('desiredAck'), filterFor('gatewayCommandAck')], { qos: 1 });
}
