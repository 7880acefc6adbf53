import { SECTIONS } from '@estate/protocols';
import type { LocalBus } from '../bus.js';
import { HealthPublisher } from '../health/health.js';
import { DevicePresence } from '../health/presence.js';
import { DiskBudget } from '../log/disk-budget.js';
import type { EventLog } from '../log/event-log.js';
import { TelemetryBuffer } from '../log/telemetry-buffer.js';
import type { SectionStore } from '../state/section-store.js';
import { TelemetryCollector } from './telemetry-collector.js';
import { Uplink, type UplinkOptions } from './uplink.js';

/** What a started gateway offers (Gateway.parts has all of it). */
export interface CloudLinkParts {
  db: ConstructorParameters<typeof TelemetryBuffer>[0];
  bus: LocalBus;
  log: EventLog;
  store?: SectionStore;
}

export interface CloudLinkOptions extends Omit<UplinkOptions, 'log' | 'telemetry'> {
  parts: CloudLinkParts;
  dataDir: string;
  /** bytes for the event log + telemetry buffer (default 256 MiB) */
  budgetBytes?: number;
  healthIntervalMs?: number;
  /** default: the highest section version the store runs, for both (the sync client knows the desired one) */
  versions?: () => { desired: number; applied: number };
  warn?: (message: string) => void;
}

/**
 * The gateway's side of the cloud link, assembled: uplink (events + telemetry),
 * telemetry collector, disk budget and health publisher over one MQTT client.
 */
export class CloudLink {
  readonly telemetry: TelemetryBuffer;
  readonly budget: DiskBudget;
  readonly uplink: Uplink;
  readonly presence: DevicePresence;
  readonly collector: TelemetryCollector;
  readonly health: HealthPublisher;

  constructor(o: CloudLinkOptions) {
    const { parts, dataDir, budgetBytes, healthIntervalMs, versions, warn, ...uplink } = o;
    this.telemetry = new TelemetryBuffer(parts.db);
    this.budget = new DiskBudget({
      log: parts.log,
      telemetry: this.telemetry,
      budgetBytes: budgetBytes ?? 256 * 1024 * 1024,
      ...(o.now ? { now: o.now } : {}),
      ...(warn ? { warn } : {}),
    });
    this.uplink = new Uplink({ ...uplink, log: parts.log, telemetry: this.telemetry });
    this.presence = new DevicePresence(parts.bus, o.now);
    this.collector = new TelemetryCollector({ bus: parts.bus, buffer: this.telemetry, budget: this.budget });
    const store = parts.store;
    const fromStore = () => {
      const v = store ? Math.max(...SECTIONS.map((s) => store.version(s))) : 0;
      return { desired: v, applied: v };
    };
    this.health = new HealthPublisher({
      gatewayId: o.gatewayId,
      uplink: this.uplink,
      log: parts.log,
      dataDir,
      presence: this.presence,
      budget: this.budget,
      versions: versions ?? fromStore,
      ...(healthIntervalMs ? { intervalMs: healthIntervalMs } : {}),
      ...(o.now ? { now: o.now } : {}),
    });
  }

  async start(): Promise<void> {
    this.budget.start();
    await this.presence.start();
    await this.collector.start();
    await this.uplink.start();
    this.health.start();
  }

  async stop(): Promise<void> {
    this.health.stop();
    this.collector.stop();
    this.presence.stop();
    this.budget.stop();
    await this.uplink.stop();
  }
}
