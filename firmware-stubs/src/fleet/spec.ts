import { resolve } from 'node:path';
import { DEVICE_KINDS, type DeviceKind, ID_PATTERN } from '@estate/protocols';
import type { BleReaderOptions } from '../ble.js';
import type { CameraOptions } from '../camera.js';
import type { ChargerOptions } from '../charger.js';
import type { BrokerOptions } from '../connection.js';
import type { DeviceOptions } from '../device.js';
import type { DoorOptions } from '../door.js';
import type { ReaderOptions } from '../reader.js';
import type { ClimateSensorOptions, EnergyMeterOptions, LeakSensorOptions } from '../sensors.js';

/** A bad fleet description or CLI flag; `key` is the path to the culprit, e.g. `devices[2].fps`. */
export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(
    readonly key: string,
    readonly problem: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${key ? `${key}: ` : ''}${problem}`);
  }
}

export interface OptionsByKind {
  door: DoorOptions;
  camera: CameraOptions;
  ble: BleReaderOptions;
  reader: ReaderOptions;
  charger: ChargerOptions;
  leak: LeakSensorOptions;
  climate: ClimateSensorOptions;
  energy: EnergyMeterOptions;
}

/** What a fleet file may set per device kind: the class options minus what the fleet supplies. */
type Tunables<O> = Omit<O, keyof DeviceOptions | 'random'>;
interface Common {
  id: string;
  /** Per-device MQTT credentials, overriding the fleet's broker ones. */
  username?: string | undefined;
  password?: string | undefined;
  startSeq?: number | undefined;
  fw?: string | undefined;
}
export type FleetDevice = { [K in DeviceKind]: { kind: K } & Common & Tunables<OptionsByKind[K]> }[DeviceKind];

export interface ScenarioOptions {
  /** One scenario action per period, across the whole fleet; default 15 000 ms. */
  everyMs: number;
}

export interface FleetSpec {
  estate: string;
  broker: BrokerOptions;
  scenario?: ScenarioOptions | undefined;
  devices: FleetDevice[];
}

export interface Field {
  /** How a CLI string becomes a value; `path` is resolved against the fleet file's folder. */
  type: 'string' | 'path' | 'number' | 'boolean' | 'list';
  help: string;
  /** The problem with `v`, or undefined when it is fine. */
  check(v: unknown): string | undefined;
}

const text = (help: string, pattern?: RegExp): Field => ({
  type: 'string',
  help,
  check: (v) =>
    typeof v !== 'string' || v.length === 0 || v.length > 256
      ? 'must be a non-empty string'
      : pattern && !pattern.test(v)
        ? `must match ${pattern.source}`
        : undefined,
});
const path = (help: string): Field => ({ ...text(help), type: 'path' });
const num = (min: number, max: number, help: string, integer = false): Field => ({
  type: 'number',
  help,
  check: (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))
      ? undefined
      : `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
});
const int = (min: number, max: number, help: string) => num(min, max, help, true);
const bool = (help: string): Field => ({
  type: 'boolean',
  help: `${help} (true | false)`,
  check: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
});
const oneOf = (values: readonly string[], help: string): Field => ({
  type: 'string',
  help: `${help} (${values.join(' | ')})`,
  check: (v) => (typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}`),
});
const listOf = (values: readonly string[], help: string): Field => ({
  type: 'list',
  help: `${help} (comma-separated: ${values.join(', ')})`,
  check: (v) =>
    Array.isArray(v) && v.length > 0 && new Set(v).size === v.length && v.every((x) => values.includes(x))
      ? undefined
      : `must be a non-empty list of distinct values from ${values.join(', ')}`,
});

const ms = (help: string, min = 1) => int(min, 86_400_000, `${help}, ms`);
const ID = new RegExp(ID_PATTERN);

export const COMMON_FIELDS: { [K in keyof Common]-?: Field } = {
  id: text('device id (lower case, digits, - and _)', ID),
  username: text('MQTT username for this device'),
  password: text('MQTT password for this device'),
  startSeq: int(0, Number.MAX_SAFE_INTEGER, 'first event sequence number'),
  fw: text('firmware version reported in presence'),
};

type Fields<O> = { [K in keyof Tunables<O>]-?: Field };
const sensor = { intervalMs: ms('telemetry period') };

export const KIND_FIELDS: { [K in DeviceKind]: Fields<OptionsByKind[K]> } = {
  door: {
    mode: oneOf(['fail_secure', 'fail_safe'], 'lock type'),
    pulseMs: ms('unlock pulse'),
    testPulseMs: ms('test_pulse pulse'),
    heldOpenMs: ms('open longer than this raises held_open'),
    walkMs: ms('how long a walk-through keeps the door open'),
    fireRelease: bool('unlock while the fire input is active'),
  },
  camera: {
    photos: path('folder of JPEG files'),
    fps: num(0.1, 60, 'frames per second'),
    streaming: bool('stream from start'),
  },
  ble: { rssi: int(-127, 20, 'reported signal strength, dBm'), timeoutMs: ms('wait for the gateway') },
  reader: { capabilities: listOf(['qr', 'pin'], 'input methods'), timeoutMs: ms('wait for feedback') },
  charger: {
    maxPowerW: int(1, 350_000, 'rated power, W'),
    vehiclePowerW: int(1, 350_000, 'power the car draws, W'),
    voltageV: num(1, 1_000, 'voltage, V'),
    meterIntervalMs: ms('meter values period while charging'),
    startEnergyWh: int(0, 1e9, 'energy register at start, Wh'),
  },
  leak: { ...sensor, batteryPct: num(0, 100, 'battery, %') },
  climate: {
    ...sensor,
    temperatureC: num(-30, 60, 'typical temperature, °C'),
    humidityPct: num(0, 100, 'typical humidity, %'),
    batteryPct: num(0, 100, 'battery, %'),
  },
  energy: {
    ...sensor,
    powerW: num(0, 1e6, 'typical power, W'),
    maxPowerW: num(1, 1e6, 'highest power, W'),
    startEnergyWh: int(0, 1e9, 'energy register at start, Wh'),
    voltageV: num(1, 1_000, 'nominal voltage, V'),
  },
};

const BROKER_FIELDS: { [K in keyof BrokerOptions]-?: Field } = {
  url: text('broker URL', /^(mqtts?|tcp|ssl|wss?):\/\/[^\s]+$/),
  username: text('MQTT username'),
  password: text('MQTT password'),
  ca: path('CA certificate (PEM)'),
  cert: path('client certificate (PEM)'),
  key: path('client private key (PEM)'),
  rejectUnauthorized: bool('verify the broker certificate'),
};

export const DEFAULT_BROKER = 'mqtt://127.0.0.1:1883';
export const DEFAULT_SCENARIO_MS = 15_000;
const at = (base: string, key: string) => (base ? `${base}.${key}` : key);

function record(v: unknown, key: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FleetError(key, 'must be an object');
  return v as Record<string, unknown>;
}

/** Checks every key of `raw` against `fields`; unknown keys are errors, not silently ignored. */
function fieldsOf(raw: Record<string, unknown>, fields: Record<string, Field>, base: string, dir: string) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const f = fields[key];
    if (!f) throw new FleetError(at(base, key), `is not a known key (known: ${Object.keys(fields).join(', ')})`);
    const problem = f.check(value);
    if (problem) throw new FleetError(at(base, key), problem);
    out[key] = f.type === 'path' ? resolve(dir, value as string) : value;
  }
  return out;
}

export function parseDevice(raw: unknown, base: string, dir: string): FleetDevice {
  const { kind, ...rest } = record(raw, base);
  if (typeof kind !== 'string' || !(DEVICE_KINDS as readonly string[]).includes(kind)) {
    throw new FleetError(at(base, 'kind'), `must be one of ${DEVICE_KINDS.join(', ')}`);
  }
  const fields = { ...COMMON_FIELDS, ...KIND_FIELDS[kind as DeviceKind] } as Record<string, Field>;
  const device = fieldsOf(rest, fields, base, dir);
  if (device.id === undefined) throw new FleetError(at(base, 'id'), 'is required');
  return { kind, ...device } as FleetDevice;
}

export function parseBroker(raw: unknown, base: string, dir: string): BrokerOptions {
  const b = fieldsOf(typeof raw === 'string' ? { url: raw } : record(raw, base), BROKER_FIELDS, base, dir);
  if (b.url === undefined) throw new FleetError(at(base, 'url'), 'is required');
  return b as unknown as BrokerOptions;
}

function parseScenario(raw: unknown): ScenarioOptions | undefined {
  if (raw === false) return undefined;
  if (raw === true) return { everyMs: DEFAULT_SCENARIO_MS };
  const { everyMs = DEFAULT_SCENARIO_MS, ...rest } = record(raw, 'scenario');
  const unknown = Object.keys(rest)[0];
  if (unknown) throw new FleetError(`scenario.${unknown}`, 'is not a known key (known: everyMs)');
  const problem = ms('scenario period', 100).check(everyMs);
  if (problem) throw new FleetError('scenario.everyMs', problem);
  return { everyMs: everyMs as number };
}

/** Validates a parsed fleet description; relative paths resolve against `dir` (the file's folder). */
export function parseFleet(raw: unknown, dir = process.cwd()): FleetSpec {
  const { estate, broker = DEFAULT_BROKER, scenario = false, devices, ...rest } = record(raw, '');
  const unknown = Object.keys(rest)[0];
  if (unknown) throw new FleetError(unknown, 'is not a known key (known: estate, broker, scenario, devices)');
  const estateProblem = text('estate id', ID).check(estate);
  if (estateProblem) throw new FleetError('estate', estateProblem);
  if (!Array.isArray(devices) || devices.length === 0) throw new FleetError('devices', 'must be a non-empty list');
  const parsed = devices.map((d, i) => parseDevice(d, `devices[${i}]`, dir));
  const seen = new Set<string>();
  parsed.forEach((d, i) => {
    // Ids are unique within a gateway (protocols DeviceId), whatever the kind.
    if (seen.has(d.id)) throw new FleetError(`devices[${i}].id`, `duplicate id '${d.id}'`);
    seen.add(d.id);
  });
  return {
    estate: estate as string,
    broker: parseBroker(broker, 'broker', dir),
    scenario: parseScenario(scenario),
    devices: parsed,
  };
}
