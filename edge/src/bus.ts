import { randomBytes } from 'node:crypto';
import {
  decodeAs,
  encode,
  filterFor,
  type Message,
  type MessageName,
  matchTopic,
  type TopicParams,
  topicFor,
} from '@estate/protocols';
import type { Aedes } from 'aedes';

/**
 * The gateway's in-process view of its broker: typed publish and subscribe on
 * the wire contract, without a TCP hop. Inbound payloads are decoded and
 * validated here; invalid ones go to `onInvalid` and never reach a handler.
 */
export class LocalBus {
  constructor(
    private readonly broker: Aedes,
    private readonly onInvalid: (topic: string, reason: string) => void = () => {},
  ) {}

  publish<N extends MessageName>(name: N, params: TopicParams<N>, message: Message<N>, qos: 0 | 1 = 1): Promise<void> {
    const payload = encode(name, message);
    const topic = topicFor(name, params);
    return new Promise((resolve, reject) =>
      this.broker.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /** Handler gets the decoded message and the topic parameters (e.g. deviceId). */
  subscribe<N extends MessageName>(
    name: N,
    handler: (message: Message<N>, params: TopicParams<N>) => void,
  ): Promise<() => void> {
    const filter = filterFor(name);
    const onPacket = (packet: { topic: string; payload: Buffer | string }, done: () => void) => {
      done();
      const m = matchTopic(packet.topic);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const d = decodeAs(name, payload);
      if (!m.ok || !d.ok) {
        this.onInvalid(packet.topic, m.ok ? (d.ok ? '' : d.error.message) : m.error.message);
        return;
      }
      handler(d.value, m.value.params as TopicParams<N>);
    };
    return new Promise((resolve) =>
      this.broker.subscribe(filter, onPacket, () => resolve(() => this.broker.unsubscribe(filter, onPacket, () => {}))),
    );
  }
}

/** Command and session ids: 96 random bits, URL-safe. */
export const newId = (prefix: string) => `${prefix}-${randomBytes(12).toString('base64url')}`;
