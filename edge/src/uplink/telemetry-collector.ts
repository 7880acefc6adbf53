import type { DeviceKind, MessageName } from '@estate/protocols';
import type { LocalBus } from '../bus.js';
import type { DiskBudget } from '../log/disk-budget.js';
import type { TelemetryBuffer, TelemetrySample } from '../log/telemetry-buffer.js';

/** Device telemetry topics on the local broker, and the device kind each belongs to. */
const SOURCES = [
  ['leakTelemetry', 'leak'],
  ['climateTelemetry', 'climate'],
  ['energyTelemetry', 'energy'],
  ['chargerMeter', 'charger'],
] as const satisfies readonly (readonly [MessageName, DeviceKind])[];

export interface TelemetryCollectorOptions {
  bus: LocalBus;
  buffer: TelemetryBuffer;
  budget: DiskBudget;
  /** readings are gathered in memory this long, then stored in one transaction (one fsync) */
  flushMs?: number;
  /** … or as soon as this many are waiting */
  flushAt?: number;
}

/**
 * Device telemetry → the durable telemetry buffer, through the disk budget.
 * Readings are numbers and booleans only (TelemetryBatch's metrics); a
 * reading lost in the ≤ flushMs before a crash is acceptable for telemetry,
 * which is best-effort by contract — events never pass through here.
 */
export class TelemetryCollector {
  #pending: TelemetrySample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(private readonly o: TelemetryCollectorOptions) {}

  async start(): Promise<void> {
    for (const [name, kind] of SOURCES) {
      const off = await this.o.bus.subscribe(name, (m, { deviceId }) => {
        const { ts, ...rest } = m as { ts: number } & Record<string, unknown>;
        const metrics: Record<string, number | boolean> = {};
        for (const [k, v] of Object.entries(rest)) if (typeof v === 'number' || typeof v === 'boolean') metrics[k] = v;
        if (Object.keys(metrics).length > 0) this.add({ deviceId, kind, ts, metrics });
      });
      this.#unsubscribe.push(off);
    }
  }

  stop(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.flush();
  }

  add(sample: TelemetrySample): void {
    this.#pending.push(sample);
    if (this.#pending.length >= (this.o.flushAt ?? 500)) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.o.flushMs ?? 1_000);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const samples = this.#pending;
    this.#pending = [];
    try {
      this.o.buffer.push(this.o.budget.admitTelemetry(samples));
    } catch {
      // disk full: telemetry is the first thing to give up
      this.o.buffer.countDropped(samples.length);
    }
  }
}
