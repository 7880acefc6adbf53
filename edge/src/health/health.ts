import { statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { encode, type GatewayHealth, topicFor } from '@estate/protocols';
import type { DiskBudget } from '../log/disk-budget.js';
import type { EventLog } from '../log/event-log.js';
import type { Uplink } from '../uplink/uplink.js';
import type { DevicePresence } from './presence.js';

export interface HealthOptions {
  gatewayId: string;
  uplink: Uplink;
  log: EventLog;
  /** where gateway.db lives: its file system's free space is reported */
  dataDir: string;
  presence?: DevicePresence;
  budget?: DiskBudget;
  /** desired (from the cloud) and applied (running) desired-state versions */
  versions?: () => { desired: number; applied: number };
  software?: string;
  /** periodic publish (default 60 s); changes publish at once (debounced by `debounceMs`) */
  intervalMs?: number;
  debounceMs?: number;
  now?: () => number;
}

const MB = 1024 * 1024;
const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Publishes GatewayHealth, retained, on the gateway's health topic: every
 * `intervalMs`, on every (re)connect, and soon after a change (a device going
 * on/offline, the disk budget changing state).
 */
export class HealthPublisher {
  readonly #started: number;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #unhooks: (() => void)[] = [];
  #last: GatewayHealth | undefined;
  readonly #now: () => number;

  constructor(private readonly o: HealthOptions) {
    this.#now = o.now ?? Date.now;
    this.#started = this.#now();
  }

  start(): void {
    this.#timer = setInterval(() => void this.publish(), this.o.intervalMs ?? 60_000);
    this.#timer.unref();
    this.#unhooks.push(this.o.uplink.onConnect(() => this.changed()));
    if (this.o.presence) this.#unhooks.push(this.o.presence.onChange(() => this.changed()));
    if (this.o.budget) this.#unhooks.push(this.o.budget.onChange(() => this.changed()));
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    for (const u of this.#unhooks) u();
    this.#unhooks = [];
  }

  /** Something changed: publish soon (several changes in a burst make one message). */
  changed(): void {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.publish();
    }, this.o.debounceMs ?? 200);
  }

  /** The last report published (or built, when offline). */
  get last(): GatewayHealth | undefined {
    return this.#last;
  }

  async report(): Promise<GatewayHealth> {
    const backlog = this.o.log.backlog();
    const fs = await statfs(this.o.dataDir).catch(() => undefined);
    const v = this.o.versions?.() ?? { desired: 0, applied: 0 };
    const load1 = loadavg()[0] ?? 0;
    return {
      ts: this.#now(),
      software: this.o.software ?? 'estate-gateway',
      uptimeS: Math.max(0, Math.round((this.#now() - this.#started) / 1000)),
      backlog: {
        events: backlog.events,
        bytes: backlog.bytes,
        ...(backlog.oldestTs === undefined ? {} : { oldestTs: backlog.oldestTs }),
        droppedTelemetry: this.o.budget?.usage().droppedTelemetry ?? 0,
      },
      diskFreeMb: fs ? round1((fs.bavail * fs.bsize) / MB) : 0,
      rssMb: round1(process.memoryUsage.rss() / MB),
      load1: round1(load1),
      desiredVersion: v.desired,
      appliedVersion: v.applied,
      devices: this.o.presence?.list() ?? [],
    };
  }

  /** Builds and publishes a report (retained, QoS 1) when the link is up; returns it either way. */
  async publish(): Promise<GatewayHealth> {
    const h = await this.report();
    this.#last = h;
    const client = this.o.uplink.client;
    if (client && this.o.uplink.stats.connected) {
      const topic = topicFor('gatewayHealth', { gatewayId: this.o.gatewayId });
      client.publish(topic, encode('gatewayHealth', h), { qos: 1, retain: true }, () => {});
    }
    return h;
  }
}
