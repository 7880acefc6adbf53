import { EventEmitter } from 'node:events';
import { type Decoded, decode, type ProtocolError } from '@estate/protocols';
import type { Aedes, AedesPublishPacket, Client } from 'aedes';

export interface Rejection {
  topic: string;
  clientId: string | undefined;
  error: ProtocolError;
}

export interface WireMonitorEvents {
  message: [d: Decoded, clientId: string | undefined];
  rejected: [r: Rejection];
}

/**
 * Sees every publish on the gateway broker and checks it against the wire
 * contract. Receivers downstream only ever get valid messages; invalid ones
 * are counted by error code and reported, and never throw.
 */
export class WireMonitor extends EventEmitter<WireMonitorEvents> {
  readonly counts = { valid: 0, rejected: 0, byName: new Map<string, number>(), byCode: new Map<string, number>() };
  readonly #onPublish = (packet: AedesPublishPacket, client: Client | null) => this.#inspect(packet, client);

  constructor(private readonly broker: Aedes) {
    super();
  }

  start(): void {
    this.broker.on('publish', this.#onPublish);
  }

  stop(): void {
    this.broker.off('publish', this.#onPublish);
  }

  #inspect(packet: AedesPublishPacket, client: Client | null): void {
    // $SYS heartbeats are the broker's own, not wire-contract traffic
    if (packet.topic.startsWith('$SYS/')) return;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const r = decode(packet.topic, payload);
    if (r.ok) {
      this.counts.valid++;
      this.counts.byName.set(r.value.name, (this.counts.byName.get(r.value.name) ?? 0) + 1);
      this.emit('message', r.value, client?.id);
    } else {
      this.counts.rejected++;
      this.counts.byCode.set(r.error.code, (this.counts.byCode.get(r.error.code) ?? 0) + 1);
      this.emit('rejected', { topic: packet.topic, clientId: client?.id, error: r.error });
    }
  }
}
