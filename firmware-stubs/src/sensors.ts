import { Device, type DeviceOptions } from './device.js';

export interface SensorOptions extends DeviceOptions {
  /** Telemetry period; default 60 000 ms. */
  intervalMs?: number | undefined;
  /** Source of randomness for the walks, in [0, 1); inject one for reproducible runs. */
  random?: (() => number) | undefined;
}

/** Mean-reverting, bounded random walk: drifts plausibly around `centre` and never wanders off. */
function walk(value: number, centre: number, step: number, min: number, max: number, random: () => number): number {
  const next = value + (centre - value) * 0.05 + (random() * 2 - 1) * step;
  return Math.min(max, Math.max(min, next));
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** A device that reports telemetry on connect and then every intervalMs while the link is up. */
abstract class Sensor extends Device {
  protected readonly random: () => number;
  private readonly intervalMs: number;
  private cancelReports = () => {};

  constructor(options: SensorOptions) {
    super(options);
    this.random = options.random ?? Math.random;
    this.intervalMs = options.intervalMs ?? 60_000;
  }

  /** Publishes one reading now. */
  abstract report(): Promise<void>;

  protected override async onConnected(): Promise<void> {
    await this.report();
    this.cancelReports();
    this.cancelReports = this.every(this.intervalMs, () => {
      if (this.online) this.spawn(this.report());
    });
  }
}

export interface LeakSensorOptions extends SensorOptions {
  /** Default 95. */
  batteryPct?: number | undefined;
}

const BATTERY_LOW_PCT = 20;

export class LeakSensor extends Sensor {
  readonly kind = 'leak';
  private wet = false;
  private batteryPct: number;

  constructor(options: LeakSensorOptions) {
    super(options);
    this.batteryPct = options.batteryPct ?? 95;
  }

  get leaking(): boolean {
    return this.wet;
  }

  /** Water reaches (true) or leaves (false) the probe: an alarm edge, then a reading. */
  async leak(on: boolean): Promise<void> {
    if (on === this.wet) return;
    this.wet = on;
    await this.together(this.event('leakEvent', { type: on ? 'leak_detected' : 'leak_cleared' }), this.report());
  }

  async setBattery(pct: number): Promise<void> {
    const crossedLow = this.batteryPct >= BATTERY_LOW_PCT && pct < BATTERY_LOW_PCT;
    this.batteryPct = pct;
    await this.together(
      crossedLow ? this.event('leakEvent', { type: 'battery_low' }) : Promise.resolve(),
      this.report(),
    );
  }

  async report(): Promise<void> {
    await this.publish('leakTelemetry', { ts: this.now(), leak: this.wet, batteryPct: this.batteryPct });
  }
}

export interface ClimateSensorOptions extends SensorOptions {
  /** Centre of the temperature walk; default 21 °C. */
  temperatureC?: number | undefined;
  /** Centre of the humidity walk; default 50 %. */
  humidityPct?: number | undefined;
  /** Default 90. */
  batteryPct?: number | undefined;
}

export class ClimateSensor extends Sensor {
  readonly kind = 'climate';
  private readonly centreC: number;
  private readonly centrePct: number;
  private readonly batteryPct: number;
  private temperatureC: number;
  private humidityPct: number;

  constructor(options: ClimateSensorOptions) {
    super(options);
    this.centreC = options.temperatureC ?? 21;
    this.centrePct = options.humidityPct ?? 50;
    this.batteryPct = options.batteryPct ?? 90;
    this.temperatureC = this.centreC;
    this.humidityPct = this.centrePct;
  }

  async report(): Promise<void> {
    // ±8 °C around the centre and 15–95 % RH: what a room or a plant cupboard plausibly sees.
    this.temperatureC = walk(this.temperatureC, this.centreC, 0.2, this.centreC - 8, this.centreC + 8, this.random);
    this.humidityPct = walk(this.humidityPct, this.centrePct, 1, 15, 95, this.random);
    await this.publish('climateTelemetry', {
      ts: this.now(),
      temperatureC: round1(Math.min(125, Math.max(-40, this.temperatureC))),
      humidityPct: round1(this.humidityPct),
      batteryPct: this.batteryPct,
    });
  }
}

export interface EnergyMeterOptions extends SensorOptions {
  /** Centre of the power walk; default 2500 W. */
  powerW?: number | undefined;
  /** Upper bound of the power walk; default 20 000 W. */
  maxPowerW?: number | undefined;
  /** Register at power-up; default 0 Wh. */
  startEnergyWh?: number | undefined;
  /** Nominal voltage; default 230 V. */
  voltageV?: number | undefined;
}

export class EnergyMeter extends Sensor {
  readonly kind = 'energy';
  private readonly centreW: number;
  private readonly maxPowerW: number;
  private readonly nominalV: number;
  private powerW: number;
  private voltageV: number;
  /** Energy in mJ (W × ms), an integer: the Wh register published only ever grows and never drifts. */
  private energyMj: number;
  private reportedAt: number | undefined;

  constructor(options: EnergyMeterOptions) {
    super(options);
    this.centreW = options.powerW ?? 2_500;
    this.maxPowerW = options.maxPowerW ?? 20_000;
    this.nominalV = options.voltageV ?? 230;
    this.powerW = this.centreW;
    this.voltageV = this.nominalV;
    this.energyMj = (options.startEnergyWh ?? 0) * 3_600_000;
  }

  get registerWh(): number {
    return Math.floor(this.energyMj / 3_600_000);
  }

  async report(): Promise<void> {
    const now = this.now();
    // The power of the last period was drawn for the whole period.
    if (this.reportedAt !== undefined) this.energyMj += Math.round(this.powerW * Math.max(0, now - this.reportedAt));
    this.reportedAt = now;
    this.powerW = walk(this.powerW, this.centreW, this.centreW * 0.05, 0, this.maxPowerW, this.random);
    this.voltageV = walk(this.voltageV, this.nominalV, 0.5, this.nominalV * 0.94, this.nominalV * 1.06, this.random);
    await this.publish('energyTelemetry', {
      ts: now,
      energyWh: this.registerWh,
      powerW: round1(this.powerW),
      voltageV: round1(this.voltageV),
      currentA: round1(this.powerW / this.voltageV),
    });
  }
}
