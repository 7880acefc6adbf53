import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { listenWithFallback } from './listen.js';

/** Broker settings shared by this open development broker and the hardened gateway broker. */
export const AEDES_DEFAULTS = {
  // estate/v1/gw/{id}/sync/<section> is the deepest topic: 6 levels
  maxTopicLevels: 8,
  // a frozen subscriber must not stall door commands to everyone else
  drainTimeout: 10_000,
  connectTimeout: 10_000,
  heartbeatInterval: 60_000,
} as const;

export interface LocalBrokerOptions {
  host?: string;
  /** Preferred port; a free one is used when it is taken. 0 = any. */
  port?: number;
}

export interface LocalBroker {
  readonly broker: Aedes;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * An open MQTT 3.1.1 broker (Aedes) for development and `npm start`: no
 * credentials, no ACLs. Real gateways use startGatewayBroker (gateway-broker.ts).
 */
export async function startLocalBroker(opts: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const host = opts.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker({ ...AEDES_DEFAULTS });
  // noDelay: Nagle + delayed ACK would add up to 40 ms to a door command (see BENCHMARKS.md)
  const server: Server = createServer({ noDelay: true }, broker.handle);
  const port = await listenWithFallback(server, host, opts.port ?? 1883);
  return {
    broker,
    port,
    url: `mqtt://${host}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
