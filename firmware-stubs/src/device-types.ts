import type { Message, MessageName, ProtocolError } from '@estate/protocols';
import type { Clock } from './clock.js';
import type { BrokerOptions } from './connection.js';
import type { Logger } from './log.js';

export interface DeviceOptions {
  /** Device id, also its topic segment: `estate/v1/dev/{kind}/{id}/…` */
  id: string;
  broker: BrokerOptions;
  /** Defaults to the system clock; tests inject one they can move. */
  clock?: Clock | undefined;
  /**
   * First event sequence number. Defaults to the clock's now(), so a restarted
   * stub never reuses an idempotency key (source id + seq) the gateway has seen.
   */
  startSeq?: number | undefined;
  /** Firmware version reported in presence. */
  fw?: string | undefined;
  logger?: Logger | undefined;
}

/** One message as it crossed the wire, typed by its route. */
export type WireMessage = { [N in MessageName]: { name: N; topic: string; message: Message<N> } }[MessageName];

export interface Rejected {
  topic: string;
  error: ProtocolError;
}

/** What a device tells tests and monitors, beyond what it publishes. */
export interface DeviceEventMap {
  connected: [];
  disconnected: [];
  published: [WireMessage];
  received: [WireMessage];
  /** An inbound message failed validation; commands are also answered with a refused ack. */
  rejected: [Rejected];
  /** Something went wrong that did not stop the device (a publish failed, a broker hiccup). */
  warning: [Error];
}
