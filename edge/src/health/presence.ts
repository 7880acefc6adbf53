import type { DeviceKind, GatewayHealth } from '@estate/protocols';
import type { LocalBus } from '../bus.js';

type DeviceHealth = GatewayHealth['devices'][number];

/**
 * Which devices are online, from their retained presence on the local broker
 * (a device publishes online:true on connect; the broker publishes its
 * online:false last will when the link drops).
 */
export class DevicePresence {
  readonly #devices = new Map<string, DeviceHealth>();
  readonly #listeners = new Set<() => void>();
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: LocalBus,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    this.#unsubscribe = await this.bus.subscribe('devicePresence', (p, { kind, deviceId }) => {
      const before = this.#devices.get(deviceId);
      const lastSeen = p.online ? this.now() : before?.lastSeen;
      this.#devices.set(deviceId, {
        deviceId,
        kind: kind as DeviceKind,
        online: p.online,
        ...(lastSeen === undefined ? {} : { lastSeen }),
      });
      if (before?.online !== p.online) for (const fn of this.#listeners) fn();
    });
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  /** Called when a device comes online or goes offline. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Sorted by device id; at most `max` (the contract's limit). */
  list(max = 1_000): DeviceHealth[] {
    return [...this.#devices.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1)).slice(0, max);
  }
}
