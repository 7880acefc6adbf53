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

type Packet = { topic: string; payload: Buffer | string };

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

  /**
   * Handler gets the decoded message and the topic parameters (e.g. deviceId). An async handler's failure is
   * reported like a thrown one (onInvalid), never left as an unhandled rejection that could end the gateway.
   */
  subscribe<N extends MessageName>(name: N, handler: Handler<N>): Promise<() => void> {
    const filter = filterFor(name);
    const onPacket = (packet: Packet, done: () => void) => {
      done();
      // a bug in a decoder or a handler must cost one message, never the broker process
      try {
        this.#deliver(name, packet, handler);
      } catch (e) {
        this.onInvalid(packet.topic, `internal error: ${(e as Error).message}`);
      }
    };
    return new Promise((resolve) =>
      this.broker.subscribe(filter, onPacket, () => resolve(() => this.broker.unsubscribe(filter, onPacket, () => {}))),
    );
  }

  #deliver<N extends MessageName>(name: N, packet: Packet, handler: Handler<N>): void {
    const m = matchTopic(packet.topic);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const d = m.ok ? decodeAs(name, payload) : m;
    if (m.ok && d.ok) {
      const r = handler(d.value, m.value.params as TopicParams<N>);
      if (r instanceof Promise) r.catch((e: Error) => this.onInvalid(packet.topic, `internal error: ${e.message}`));
    } else if (!d.ok) this.onInvalid(packet.topic, d.error.message);
  }
}

/** A handler may be async; what it returns other than a promise is ignored. */
type Handler<N extends MessageName> = (message: Message<N>, params: TopicParams<N>) => unknown;

/** Command and session ids: 96 random bits, URL-safe. */
export const newId = (prefix: string) => `${prefix}-${randomBytes(12).toString('base64url')}`;
