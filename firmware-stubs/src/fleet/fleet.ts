import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DeviceKind } from '@estate/protocols';
import { parse } from 'yaml';
import { BleReader } from '../ble.js';
import { Camera } from '../camera.js';
import { Charger } from '../charger.js';
import type { Clock } from '../clock.js';
import type { BrokerOptions } from '../connection.js';
import type { Device, DeviceOptions } from '../device.js';
import { Door } from '../door.js';
import { type Logger, silentLogger } from '../log.js';
import { Reader } from '../reader.js';
import { ClimateSensor, EnergyMeter, LeakSensor } from '../sensors.js';
import { Scenario } from './scenario.js';
import {
  DEFAULT_SCENARIO_MS,
  type FleetDevice,
  FleetError,
  type FleetSpec,
  type OptionsByKind,
  parseFleet,
} from './spec.js';

const CLASSES: { [K in DeviceKind]: new (options: OptionsByKind[K]) => Device } = {
  door: Door,
  camera: Camera,
  ble: BleReader,
  reader: Reader,
  charger: Charger,
  leak: LeakSensor,
  climate: ClimateSensor,
  energy: EnergyMeter,
};

/** Reads a fleet description (YAML or JSON) and validates it; errors name the file and the key. */
export async function loadFleet(file: string): Promise<FleetSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new FleetError('', `cannot read fleet file (${(e as NodeJS.ErrnoException).code ?? e})`, file);
  }
  let raw: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    raw = parse(text);
  } catch (e) {
    throw new FleetError('', `not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`, file);
  }
  try {
    return parseFleet(raw, dirname(resolve(file)));
  } catch (e) {
    throw e instanceof FleetError ? new FleetError(e.key, e.problem, file) : e;
  }
}

export interface FleetRunOptions {
  /** Overrides the file's broker settings (e.g. the CLI's --broker). */
  broker?: Partial<BrokerOptions> | undefined;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  /** Overrides the file's scenario: false turns it off, true turns it on with the file's or default period. */
  scenario?: boolean | undefined;
  random?: (() => number) | undefined;
}

/** An estate's worth of simulated devices, started and stopped together. */
export class Fleet {
  readonly devices: ReadonlyMap<string, Device>;
  private readonly scenario: Scenario | undefined;
  private readonly logger: Logger;

  constructor(
    readonly spec: FleetSpec,
    options: FleetRunOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    const broker = { ...spec.broker, ...options.broker };
    const shared = { clock: options.clock, logger: this.logger, random: options.random };
    this.devices = new Map(spec.devices.map((d) => [d.id, create(d, broker, shared)]));
    const everyMs =
      options.scenario === false
        ? undefined
        : (spec.scenario?.everyMs ?? (options.scenario ? DEFAULT_SCENARIO_MS : undefined));
    this.scenario =
      everyMs === undefined ? undefined : new Scenario([...this.devices.values()], { ...shared, everyMs });
  }

  /** The device with `id`, checked to be of `type`: `fleet.device('door-1', Door).forceOpen()`. */
  device<T extends Device>(id: string, type: abstract new (...args: never[]) => T): T {
    const d = this.devices.get(id);
    if (!(d instanceof type)) throw new Error(`fleet ${this.spec.estate} has no ${type.name} '${id}'`);
    return d;
  }

  /** Starts every device; if any fails, stops the others and rejects naming each failure. */
  async start(): Promise<void> {
    const all = [...this.devices.values()];
    const results = await Promise.allSettled(all.map((d) => d.start()));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${all[i]?.source}: ${reason(r)}`] : []));
    if (failures.length > 0) {
      await this.stop();
      throw new Error(
        `fleet ${this.spec.estate}: ${failures.length} device(s) failed to start:\n  ${failures.join('\n  ')}`,
      );
    }
    this.scenario?.start();
    this.logger({ level: 'info', source: 'fleet', message: `${all.length} devices of ${this.spec.estate} running` });
  }

  async stop(): Promise<void> {
    this.scenario?.stop();
    await Promise.allSettled([...this.devices.values()].map((d) => d.stop()));
  }
}

export async function startFleet(spec: FleetSpec, options: FleetRunOptions = {}): Promise<Fleet> {
  const fleet = new Fleet(spec, options);
  await fleet.start();
  return fleet;
}

type Shared = Pick<DeviceOptions, 'clock' | 'logger'> & { random: (() => number) | undefined };

function create(d: FleetDevice, broker: BrokerOptions, shared: Shared): Device {
  const { kind, username, password, ...rest } = d;
  const credentials = { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  // The union of kinds and the union of option types correlate; TS cannot see that through the index.
  const Class = CLASSES[kind] as new (options: DeviceOptions) => Device;
  return new Class({ ...rest, ...shared, broker: { ...broker, ...credentials } });
}

const reason = (r: PromiseRejectedResult) => (r.reason instanceof Error ? r.reason.message : String(r.reason));
