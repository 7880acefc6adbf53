import { type Static, Type } from '@sinclair/typebox';
import { Enum, Obj, Percent, Seq, Ts } from '../common.js';

export const LeakTelemetry = Obj({ ts: Ts, leak: Type.Boolean(), batteryPct: Percent }, 'water-leak sensor reading');
export type LeakTelemetry = Static<typeof LeakTelemetry>;

export const LeakEvent = Obj(
  {
    seq: Seq,
    ts: Ts,
    type: Enum(['leak_detected', 'leak_cleared', 'battery_low']),
  },
  'water-leak alarm edge',
);
export type LeakEvent = Static<typeof LeakEvent>;

export const ClimateTelemetry = Obj(
  {
    ts: Ts,
    temperatureC: Type.Number({ minimum: -40, maximum: 125 }),
    humidityPct: Percent,
    batteryPct: Percent,
  },
  'temperature / humidity reading',
);
export type ClimateTelemetry = Static<typeof ClimateTelemetry>;

export const EnergyTelemetry = Obj(
  {
    ts: Ts,
    energyWh: Type.Integer({ minimum: 0, maximum: 1e12, description: 'register, cumulative' }),
    powerW: Type.Number({ minimum: -1e6, maximum: 1e6 }),
    voltageV: Type.Number({ minimum: 0, maximum: 1_000 }),
    currentA: Type.Number({ minimum: 0, maximum: 5_000 }),
  },
  'energy meter reading',
);
export type EnergyTelemetry = Static<typeof EnergyTelemetry>;
