import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CameraCommand } from '@estate/protocols';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Camera, type CameraOptions } from '../src/index.js';
import { jpegSize } from '../src/jpeg.js';
import { aHeader, aJpeg, ManualClock, settle, startBroker, type TestBroker, Wire } from './helpers.js';

let b: TestBroker;
let wire: Wire;
let dir: string;
const running: Camera[] = [];
let n = 0;

beforeAll(async () => {
  b = await startBroker();
  wire = await Wire.connect(b.url);
  dir = await mkdtemp(join(tmpdir(), 'estate-cam-'));
  await mkdir(join(dir, 'photos', 'nested'), { recursive: true });
  await writeFile(join(dir, 'photos', 'a.jpg'), aJpeg(64, 48));
  await writeFile(join(dir, 'photos', 'nested', 'b.jpeg'), aJpeg(64, 48));
  await writeFile(join(dir, 'photos', 'broken.jpg'), Buffer.from('not a jpeg'));
  await writeFile(join(dir, 'photos', 'notes.txt'), 'ignored');
  await mkdir(join(dir, 'empty'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  expect(wire.invalid).toEqual([]);
});
afterAll(async () => {
  await wire.close();
  await b.close();
  await rm(dir, { recursive: true, force: true });
});

async function aCamera(options: Partial<CameraOptions> = {}) {
  const clock = new ManualClock();
  const camera = new Camera({
    id: `cam-${++n}`,
    broker: { url: b.url },
    clock,
    photos: join(dir, 'photos'),
    ...options,
  });
  running.push(camera);
  await camera.start();
  const command = async (body: Omit<CameraCommand, 'cmdId' | 'issuedAt' | 'expiresAt'>) => {
    const cmd = { ...aHeader(clock), ...body };
    await wire.send('cameraCommand', { deviceId: camera.id }, cmd);
    return wire.waitFor('cameraAck', (a) => a.cmdId === cmd.cmdId, camera.id);
  };
  const frames = () => wire.all('cameraFrame', camera.id);
  return { camera, clock, command, frames };
}

describe('JPEG size', () => {
  it('reads width and height from SOF0, past APP segments and fill bytes', () => {
    expect(jpegSize(aJpeg(37, 21))).toEqual({ width: 37, height: 21 });
    const jpeg = aJpeg(640, 480);
    const filled = Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xff]), jpeg.subarray(2)]);
    expect(jpegSize(filled)).toEqual({ width: 640, height: 480 });
  });

  it('reads progressive (SOF2) frames too', () => {
    const jpeg = Buffer.from(aJpeg(100, 50));
    jpeg[jpeg.indexOf(Buffer.from([0xff, 0xc0])) + 1] = 0xc2;
    expect(jpegSize(jpeg)).toEqual({ width: 100, height: 50 });
  });

  it.each([
    ['no SOI marker', Buffer.from('GIF89a..'), /SOI/],
    ['image data before any SOF', Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9]), /no SOF/],
    ['a truncated header', aJpeg(8, 8).subarray(0, 30), /no SOF/],
    ['garbage between segments', Buffer.from([0xff, 0xd8, 0x00, 0x00]), /marker at byte 2/],
  ])('says what is wrong with %s', (_, bytes, message) => {
    expect(() => jpegSize(bytes)).toThrow(message);
  });
});

describe('camera', () => {
  it('publishes a given JPEG as a valid binary frame with its size from the SOF marker', async () => {
    const { camera } = await aCamera({ streaming: false });
    const header = await camera.publishJpeg(aJpeg(320, 240), 'face_crop');
    expect(header).toMatchObject({ width: 320, height: 240, kind: 'face_crop', format: 'jpeg' });
    const frame = await wire.waitFor('cameraFrame', () => true, camera.id);
    expect(frame).toMatchObject({ width: 320, height: 240, kind: 'face_crop', seq: header.seq });
    expect(Buffer.from(frame.data).equals(aJpeg(320, 240))).toBe(true);
    await expect(camera.publishJpeg(Buffer.from('nope'))).rejects.toThrow(/not a JPEG/);
  });

  it('streams the folder at the set fps, cycling through the usable JPEGs', async () => {
    const { camera, clock } = await aCamera({ fps: 2 });
    expect(await wire.waitFor('cameraState', () => true, camera.id)).toMatchObject({ streaming: true, fps: 2 });
    clock.advance(2_000);
    const seen = await wire.atLeast(4, 'cameraFrame', camera.id);
    expect(seen.map((f) => f.seq)).toEqual([0, 1, 2, 3]);
    expect(seen.every((f) => f.width === 64 && f.height === 48)).toBe(true);
  });

  it('obeys stop, set_rate, start and snapshot commands', async () => {
    const { clock, command, frames, camera } = await aCamera({ fps: 1 });
    expect((await command({ action: 'stop' })).result).toBe('done');
    clock.advance(5_000);
    await settle(50);
    expect(frames()).toHaveLength(0);
    expect((await command({ action: 'snapshot' })).result).toBe('done');
    expect(await wire.atLeast(1, 'cameraFrame', camera.id)).toHaveLength(1);
    expect(await command({ action: 'set_rate' })).toMatchObject({ result: 'refused', reason: 'fps_required' });
    expect((await command({ action: 'start', fps: 4 })).result).toBe('done');
    expect(camera.state).toMatchObject({ streaming: true, fps: 4 });
    clock.advance(1_000);
    expect(await wire.atLeast(5, 'cameraFrame', camera.id)).toHaveLength(5);
  });

  it('fails to start with a clear error when the folder is missing or holds no JPEG', async () => {
    const missing = new Camera({ id: 'cam-missing', broker: { url: b.url }, photos: join(dir, 'nope') });
    await expect(missing.start()).rejects.toThrow(/photos folder '.*nope' cannot be read \(ENOENT\)/);
    const empty = new Camera({ id: 'cam-empty', broker: { url: b.url }, photos: join(dir, 'empty') });
    await expect(empty.start()).rejects.toThrow(/holds no \.jpg\/\.jpeg files/);
  });

  it('answers start with failed no_images when it has nothing to stream', async () => {
    const { command } = await aCamera({ streaming: false, photos: join(dir, 'empty') });
    expect(await command({ action: 'start' })).toMatchObject({ result: 'failed', reason: 'no_images' });
  });
});
