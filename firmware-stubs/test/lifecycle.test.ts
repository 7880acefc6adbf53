import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BleReader, LeakSensor, Reader, type WireMessage } from '../src/index.js';
import { cutLink, ManualClock, startBroker, type TestBroker, Wire } from './helpers.js';
import { TEST_CERT, TEST_KEY } from './tls-fixture.js';

let b: TestBroker;
let wire: Wire;

beforeAll(async () => {
  b = await startBroker();
  wire = await Wire.connect(b.url);
});
afterAll(async () => {
  await wire.close();
  await b.close();
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('device lifecycle', () => {
  it('does nothing in its constructor, and reports what it publishes to observers', async () => {
    const clock = new ManualClock();
    const leak = new LeakSensor({ id: 'life-1', broker: { url: b.url }, clock, fw: '1.2.3' });
    const published: WireMessage[] = [];
    leak.on('published', (m) => published.push(m));
    expect(leak.online).toBe(false);
    expect(b.clients.has('leak-life-1')).toBe(false);
    await leak.start();
    expect(leak.online).toBe(true);
    expect(published.map((m) => m.name)).toEqual(['devicePresence', 'leakTelemetry']);
    expect(await wire.waitFor('devicePresence', (p) => p.online, 'life-1')).toMatchObject({ fw: '1.2.3' });
    await expect(leak.start()).rejects.toThrow(/already started/);
    await leak.stop();
    await leak.stop(); // idempotent
    expect(leak.online).toBe(false);
  });

  it('numbers events from the clock by default, so a restart never reuses an idempotency key', async () => {
    const clock = new ManualClock();
    const leak = new LeakSensor({ id: 'life-2', broker: { url: b.url }, clock });
    await leak.start();
    await leak.leak(true);
    expect((await wire.waitFor('leakEvent', () => true, 'life-2')).seq).toBe(clock.now());
    await leak.stop();
  });

  it('connects over TLS with a CA file, and refuses an untrusted broker certificate at once', async () => {
    const broker = await Aedes.createBroker();
    const server = createTlsServer({ key: TEST_KEY, cert: TEST_CERT }, broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const dir = await mkdtemp(join(tmpdir(), 'estate-tls-'));
    await writeFile(join(dir, 'ca.pem'), TEST_CERT);
    const url = `mqtts://127.0.0.1:${port}`;
    const trusted = new LeakSensor({ id: 'life-8', broker: { url, ca: join(dir, 'ca.pem') } });
    await trusted.start();
    expect(trusted.online).toBe(true);
    await trusted.stop();
    const untrusting = new LeakSensor({ id: 'life-9', broker: { url } });
    await expect(untrusting.start()).rejects.toThrow(/self-signed certificate/);
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('names a TLS file it cannot read', async () => {
    const leak = new LeakSensor({ id: 'life-7', broker: { url: 'mqtts://127.0.0.1:8883', ca: '/nonexistent/ca.pem' } });
    await expect(leak.start()).rejects.toThrow(/cannot read TLS ca file '\/nonexistent\/ca.pem'/);
  });

  it('can be stopped while it still waits for an absent broker', async () => {
    const leak = new LeakSensor({ id: 'life-3', broker: { url: `mqtt://127.0.0.1:${await deadPort()}` } });
    const starting = leak.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await leak.stop();
    await expect(starting).rejects.toThrow(/stopped before broker/);
  });

  it('stops promptly when the broker has gone away, with messages still queued', async () => {
    const own = await startBroker();
    const leak = new LeakSensor({ id: 'life-4', broker: { url: own.url } });
    await leak.start();
    const lost = new Promise<void>((resolve) => leak.once('disconnected', () => resolve()));
    own.server.close(); // no more connections...
    cutLink(own, 'life-4'); // ...and the current one is gone
    await lost;
    void leak.leak(true).catch(() => {}); // QoS 1, queued while offline: never acknowledged
    const t0 = Date.now();
    await leak.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    await new Promise<void>((resolve) => own.broker.close(() => resolve()));
  });

  it('lets a reader or phone wait time out while offline instead of hanging or crashing', async () => {
    const own = await startBroker();
    const reader = new Reader({ id: 'life-5', broker: { url: own.url }, timeoutMs: 200 });
    const ble = new BleReader({ id: 'life-6', broker: { url: own.url }, timeoutMs: 200 });
    await Promise.all([reader.start(), ble.start()]);
    const lost = Promise.all([reader, ble].map((d) => new Promise<void>((r) => d.once('disconnected', () => r()))));
    own.server.close();
    cutLink(own, 'life-5');
    cutLink(own, 'life-6');
    await lost;
    const { privateKey } = generateKeyPairSync('ed25519');
    await expect(reader.enterPin('1234')).rejects.toThrow(/no reader feedback/);
    await expect(ble.present({ credential: 'k', privateKey })).rejects.toThrow(/no BLE result/);
    await Promise.all([reader.stop(), ble.stop()]);
    await new Promise<void>((resolve) => own.broker.close(() => resolve()));
  });
});
