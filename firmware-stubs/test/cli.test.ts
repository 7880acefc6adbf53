import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { main } from '../src/cli.js';
import { Door } from '../src/index.js';
import { aJpeg, startBroker, type TestBroker, Wire } from './helpers.js';

let b: TestBroker;
let wire: Wire;
let dir: string;
let stderr: MockInstance;
let stdout: MockInstance;
const printed = (spy: MockInstance) => spy.mock.calls.map((c) => String(c[0])).join('');

beforeAll(async () => {
  // Per-device credentials, as the gateway broker will demand them.
  b = await startBroker({
    authenticate: (_client, username, password, done) =>
      done(null, username === undefined || password?.toString() === `${username}-secret`),
  });
  wire = await Wire.connect(b.url);
  dir = await mkdtemp(join(tmpdir(), 'estate-cli-'));
  await writeFile(join(dir, 'face.jpg'), aJpeg(32, 32));
});
beforeAll(() => {
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  stderr.mockClear();
  stdout.mockClear();
  expect(wire.invalid).toEqual([]);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await wire.close();
  await b.close();
  await rm(dir, { recursive: true, force: true });
});

describe('estate-sim', () => {
  it('prints usage and per-kind help', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(printed(stdout)).toMatch(/estate-sim fleet --file/);
    expect(await main(['door', '--help'])).toBe(0);
    expect(printed(stdout)).toMatch(/--pulse-ms\s+unlock pulse, ms/);
    expect(await main(['fleet', '--help'])).toBe(0);
    expect(await main([])).toBe(2);
  });

  it('refuses bad flags naming the flag', async () => {
    expect(await main(['toaster'])).toBe(2);
    expect(printed(stderr)).toMatch(/unknown command 'toaster'/);
    expect(await main(['door', '--id', 'd1', '--pulse-ms', 'soon'])).toBe(2);
    expect(printed(stderr)).toMatch(/--pulse-ms: must be an integer/);
    expect(await main(['door', '--pulse-ms', '500'])).toBe(2);
    expect(printed(stderr)).toMatch(/--id: is required/);
    expect(await main(['door', '--id', 'd1', '--colour', 'red'])).toBe(2);
    expect(printed(stderr)).toMatch(/colour/);
    expect(await main(['fleet'])).toBe(2);
    expect(printed(stderr)).toMatch(/--file: is required/);
  });

  it('runs one device with its credentials until stopped', async () => {
    const stop = new AbortController();
    const args = [
      'door',
      '--id',
      'cli-door',
      '--broker',
      b.url,
      '--username',
      'cli-door',
      '--password',
      'cli-door-secret',
    ];
    const exit = main([...args, '--no-stdin', '--mode', 'fail_safe'], stop.signal);
    expect(await wire.waitFor('doorState', () => true, 'cli-door')).toMatchObject({ mode: 'fail_safe' });
    stop.abort();
    expect(await exit).toBe(0);
    expect(await wire.waitFor('devicePresence', (p) => !p.online, 'cli-door')).toBeTruthy();
  });

  it('exits 1 with the broker reason when the credentials are refused', async () => {
    const args = ['leak', '--id', 'cli-leak', '--broker', b.url, '--username', 'cli-leak', '--password', 'wrong'];
    expect(await main([...args, '--no-stdin'])).toBe(1);
    expect(printed(stderr)).toMatch(/Connection refused: Not authorized/);
  });

  it('runs a fleet file with the broker overridden', async () => {
    const file = join(dir, 'fleet.yaml');
    await writeFile(
      file,
      `estate: t\nbroker: mqtt://127.0.0.1:1\ndevices:\n  - {kind: camera, id: cli-cam, photos: ., fps: 1}\n`,
    );
    const stop = new AbortController();
    const exit = main(['fleet', '--file', file, '--broker', b.url], stop.signal);
    await wire.waitFor('cameraState', () => true, 'cli-cam');
    stop.abort();
    expect(await exit).toBe(0);
  });

  it('lets a library user pass per-device credentials', async () => {
    const door = new Door({
      id: 'lib-door',
      broker: { url: b.url, username: 'lib-door', password: 'lib-door-secret' },
    });
    await door.start();
    await door.stop();
    const bad = new Door({ id: 'lib-door-2', broker: { url: b.url, username: 'lib-door-2', password: 'nope' } });
    await expect(bad.start()).rejects.toThrow(/Connection refused: Not authorized/);
  });
});
