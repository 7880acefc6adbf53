import { describe, expect, it } from 'vitest';
import { ClimateSensor, EnergyMeter, LeakSensor } from '../src/index.js';
import { deviceSuite, ManualClock } from './helpers.js';

const suite = deviceSuite<LeakSensor | ClimateSensor | EnergyMeter>();
const { running } = suite;

/** A seeded generator (mulberry32) so the walks are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function start<T extends LeakSensor | ClimateSensor | EnergyMeter>(sensor: T): Promise<T> {
  running.push(sensor);
  await sensor.start();
  return sensor;
}

describe('sensors', () => {
  it('leak: reports on connect and every interval, and raises leak and battery edges', async () => {
    const clock = new ManualClock();
    const leak = await start(new LeakSensor({ id: 'leak-1', broker: { url: suite.b.url }, clock, intervalMs: 30_000 }));
    clock.advance(90_000);
    expect(await suite.wire.atLeast(4, 'leakTelemetry', 'leak-1')).toHaveLength(4);
    await leak.leak(true);
    await leak.leak(true); // no second edge while still wet
    await leak.leak(false);
    await leak.setBattery(12);
    await suite.wire.atLeast(3, 'leakEvent', 'leak-1');
    await suite.wire.waitFor('leakTelemetry', (t) => t.batteryPct === 12, 'leak-1');
    expect(suite.wire.all('leakEvent', 'leak-1').map((e) => e.type)).toEqual([
      'leak_detected',
      'leak_cleared',
      'battery_low',
    ]);
    expect(suite.wire.all('leakTelemetry', 'leak-1').at(-1)).toMatchObject({ leak: false, batteryPct: 12 });
  });

  it('climate: temperature and humidity drift plausibly and stay in bounds', async () => {
    const clock = new ManualClock();
    const climate = await start(
      new ClimateSensor({ id: 'climate-1', broker: { url: suite.b.url }, clock, temperatureC: 22, random: seeded(7) }),
    );
    for (let i = 0; i < 300; i++) await climate.report();
    const readings = await suite.wire.atLeast(301, 'climateTelemetry', 'climate-1');
    const steps = readings.slice(1).map((r, i) => Math.abs(r.temperatureC - (readings[i]?.temperatureC ?? 0)));
    expect(Math.max(...steps)).toBeLessThanOrEqual(0.8);
    expect(readings.every((r) => r.temperatureC >= 14 && r.temperatureC <= 30)).toBe(true);
    expect(readings.every((r) => r.humidityPct >= 15 && r.humidityPct <= 95)).toBe(true);
    expect(new Set(readings.map((r) => r.temperatureC)).size).toBeGreaterThan(5);
  });

  it('energy: the register only grows, by power × elapsed', async () => {
    const clock = new ManualClock();
    const meter = await start(
      new EnergyMeter({
        id: 'meter-1',
        broker: { url: suite.b.url },
        clock,
        intervalMs: 60_000,
        powerW: 3_000,
        startEnergyWh: 500,
        random: seeded(3),
      }),
    );
    clock.advance(60 * 60_000);
    const readings = await suite.wire.atLeast(61, 'energyTelemetry', 'meter-1');
    expect(readings).toHaveLength(61);
    const registers = readings.map((r) => r.energyWh);
    expect(registers).toEqual([...registers].sort((x, y) => x - y));
    // An hour around 3 kW.
    expect(meter.registerWh - 500).toBeGreaterThan(2_500);
    expect(meter.registerWh - 500).toBeLessThan(3_500);
    expect(readings.every((r) => r.powerW >= 0 && Math.abs(r.currentA - r.powerW / r.voltageV) < 0.1)).toBe(true);
  });
});
