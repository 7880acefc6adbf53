import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEVICE_KINDS } from '@estate/protocols';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Charger, Door, type Fleet, FleetError, type FleetSpec, loadFleet, startFleet } from '../src/index.js';
import { aJpeg, ManualClock, settle, startBroker, type TestBroker, Wire } from './helpers.js';

const DEMO = resolve(import.meta.dirname, '../fleets/demo-estate.yaml');
let b: TestBroker;
let wire: Wire;
let dir: string;
const running: Fleet[] = [];

beforeAll(async () => {
  b = await startBroker();
  wire = await Wire.connect(b.url);
  dir = await mkdtemp(join(tmpdir(), 'estate-fleet-'));
  await writeFile(join(dir, 'face.jpg'), aJpeg(64, 48));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  expect(wire.invalid).toEqual([]);
});
afterAll(async () => {
  await wire.close();
  await b.close();
  await rm(dir, { recursive: true, force: true });
});

/** The demo estate with its camera pointed at a folder this test controls (models/photos may not exist yet). */
async function demo(): Promise<FleetSpec> {
  const spec = await loadFleet(DEMO);
  return { ...spec, devices: spec.devices.map((d) => (d.kind === 'camera' ? { ...d, photos: dir } : d)) };
}

async function badFile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('fleet', () => {
  it('loads the example estate: every kind, paths resolved against the file', async () => {
    const spec = await loadFleet(DEMO);
    expect(spec.estate).toBe('demo');
    expect(spec.scenario).toEqual({ everyMs: 4_000 });
    expect(new Set(spec.devices.map((d) => d.kind))).toEqual(new Set(DEVICE_KINDS));
    const camera = spec.devices.find((d) => d.kind === 'camera');
    expect(camera).toMatchObject({ photos: resolve(import.meta.dirname, '../../models/photos'), fps: 2 });
  });

  it('starts every device of the example estate, each announcing itself online, and stops them', async () => {
    const spec = await demo();
    const fleet = await startFleet(spec, { broker: { url: b.url }, scenario: false });
    running.push(fleet);
    for (const d of spec.devices) await wire.waitFor('devicePresence', (p) => p.online, d.id);
    expect(fleet.device('door-b1-main', Door).state.relay).toBe('locked');
    expect(() => fleet.device('door-b1-main', Charger)).toThrow(/no Charger 'door-b1-main'/);
    await fleet.stop();
    for (const d of spec.devices) await wire.waitFor('devicePresence', (p) => !p.online, d.id);
  });

  it('fails to start as a whole, naming the device, and leaves nothing running', async () => {
    const spec = await loadFleet(DEMO);
    const broken = {
      ...spec,
      devices: spec.devices.map((d) => (d.kind === 'camera' ? { ...d, photos: join(dir, 'none') } : d)),
    };
    await expect(startFleet(broken, { broker: { url: b.url } })).rejects.toThrow(
      /camera\/cam-b1-main: camera photos folder/,
    );
    await settle();
    const door = wire.all('devicePresence', 'door-b1-fire-exit').at(-1);
    expect(door?.online).toBe(false);
  });

  it('runs a living-estate scenario whose every message is valid', async () => {
    const clock = new ManualClock();
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const fleet = await startFleet(await demo(), { broker: { url: b.url }, clock, random, scenario: true });
    running.push(fleet);
    for (let i = 0; i < 60; i++) {
      clock.advance(15_000);
      await settle(10);
    }
    await settle();
    expect(wire.all('chargerEvent', 'ev-p1-01').map((e) => e.type)).toContain('session_started');
    expect(wire.all('doorEvent').length).toBeGreaterThan(0);
    expect(
      wire.all('readerInput', 'reader-b1-main').length + wire.all('bleHello', 'ble-b1-main').length,
    ).toBeGreaterThan(0);
    expect(wire.all('energyTelemetry', 'meter-b1-main').length).toBeGreaterThan(10);
  });

  it.each([
    [
      'an unknown device key',
      'estate: x\ndevices:\n  - {kind: door, id: d1}\n  - {kind: camera, id: c1, fpz: 2}\n',
      /devices\[1\]\.fpz: is not a known key/,
    ],
    [
      'a value of the wrong type',
      'estate: x\ndevices:\n  - {kind: camera, id: c1, fps: fast}\n',
      /devices\[0\]\.fps: must be a number from 0\.1 to 60/,
    ],
    [
      'an unknown kind',
      'estate: x\ndevices:\n  - {kind: toaster, id: t1}\n',
      /devices\[0\]\.kind: must be one of door/,
    ],
    ['a missing id', 'estate: x\ndevices:\n  - {kind: leak}\n', /devices\[0\]\.id: is required/],
    [
      'an id that is not a topic segment',
      'estate: x\ndevices:\n  - {kind: leak, id: Leak/1}\n',
      /devices\[0\]\.id: must match/,
    ],
    [
      'a duplicate id',
      'estate: x\ndevices:\n  - {kind: leak, id: a}\n  - {kind: door, id: a}\n',
      /devices\[1\]\.id: duplicate id 'a'/,
    ],
    ['no devices', 'estate: x\ndevices: []\n', /devices: must be a non-empty list/],
    ['an unknown top-level key', 'estate: x\ndevice: []\n', /device: is not a known key/],
    [
      'a bad broker key',
      'estate: x\nbroker: {url: "mqtt://h", user: u}\ndevices: [{kind: leak, id: a}]\n',
      /broker\.user: is not a known key/,
    ],
    ['a bad broker URL', 'estate: x\nbroker: http://h\ndevices: [{kind: leak, id: a}]\n', /broker\.url: must match/],
    [
      'a bad scenario key',
      'estate: x\nscenario: {every: 5}\ndevices: [{kind: leak, id: a}]\n',
      /scenario\.every: is not a known key/,
    ],
    ['broken YAML', 'estate: [x\n', /not valid YAML or JSON/],
  ])('refuses a fleet file with %s, naming the file and the key', async (name, text, message) => {
    const file = await badFile(`${name.replace(/\W+/g, '-')}.yaml`, text);
    const error = await loadFleet(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(file);
  });

  it('reads JSON fleet files and per-device credentials', async () => {
    const file = await badFile(
      'ok.json',
      JSON.stringify({ estate: 'j', devices: [{ kind: 'door', id: 'd1', username: 'd1', password: 'pw' }] }),
    );
    const spec = await loadFleet(file);
    expect(spec.broker.url).toBe('mqtt://127.0.0.1:1883');
    expect(spec.devices[0]).toMatchObject({ kind: 'door', id: 'd1', username: 'd1', password: 'pw' });
  });
});
