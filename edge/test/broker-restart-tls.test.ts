import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayBroker } from '../src/broker/gateway-broker.js';
import { aDataDir, aGateway, connectDevice, refusal } from './fixtures/broker/helpers.js';

const state = 'estate/v1/dev/door/door-1/state';
const presence = 'estate/v1/dev/door/door-1/presence';

describe('gateway broker: retained state across restarts', () => {
  const data = aDataDir();
  afterAll(() => data.remove());

  it('keeps the last retained state of each device, and forgets what was cleared', async () => {
    const first = await aGateway({ dataDir: data.dir });
    const secret = await first.add('door-1', 'door');
    const c = await connectDevice(first.gw.url, 'door-1', 'door', secret);
    await c.publishAsync(state, '{"v":1}', { qos: 1, retain: true });
    await c.publishAsync(state, '{"v":2}', { qos: 1, retain: true });
    await c.publishAsync(presence, '{"online":true}', { qos: 1, retain: true });
    await c.publishAsync(presence, '', { qos: 1, retain: true }); // MQTT 3.1.1 §3.3.1.3: empty clears it
    await c.endAsync(); // a clean DISCONNECT: no Will
    const before = await first.gw.retained('estate/v1/dev/#');
    await first.stop();

    const second = await aGateway({ dataDir: data.dir });
    try {
      const after = await second.gw.retained('estate/v1/dev/#');
      expect(after.map((p) => [p.topic, p.payload.toString()])).toEqual([[state, '{"v":2}']]);
      expect(after).toEqual(before);
      // and the device directory came back too: same secret works
      const again = await connectDevice(second.gw.url, 'door-1', 'door', secret);
      await again.endAsync();
    } finally {
      await second.stop();
    }
  });
});

describe('gateway broker: TLS', () => {
  const data = aDataDir();
  const file = (name: string) => join(data.dir, name);
  /** A throwaway self-signed P-256 certificate; no private key is ever committed. */
  const selfSigned = (name: string, cn: string) => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        file(`${name}.key`),
        '-out',
        file(`${name}.crt`),
      ],
      { stdio: 'ignore' },
    );
    return { cert: file(`${name}.crt`), key: file(`${name}.key`) };
  };
  let server: { cert: string; key: string };
  let device: { cert: string; key: string };
  const pem = (path: string) => readFileSync(path);

  beforeAll(() => {
    server = selfSigned('server', 'gateway');
    device = selfSigned('device', 'door-1');
  });
  afterAll(() => data.remove());

  it('accepts a device over TLS and refuses plain MQTT on the TLS port', async () => {
    const g = await aGateway({ tls: server });
    try {
      expect(g.gw.url).toMatch(/^mqtts:\/\//);
      const secret = await g.add('door-1', 'door');
      const c = await connectDevice(g.gw.url, 'door-1', 'door', secret, { ca: pem(server.cert) });
      await c.publishAsync(state, '{"v":1}', { qos: 1, retain: true });
      expect((await g.gw.retained(state)).length).toBe(1);
      await c.endAsync();

      const plain = g.gw.url.replace('mqtts:', 'mqtt:');
      expect(await refusal(plain, { clientId: 'door-1', username: 'door-1', password: secret })).toBe('closed');
      for (let i = 0; i < 50 && g.gw.counters().tlsHandshakeFailures === 0; i++) await sleep(10);
      expect(g.gw.counters().tlsHandshakeFailures).toBeGreaterThanOrEqual(1);
    } finally {
      await g.stop();
    }
  });

  it('with requireClientCert, refuses a device without a certificate from the CA', async () => {
    const g = await aGateway({ tls: { ...server, ca: device.cert, requireClientCert: true } });
    try {
      const secret = await g.add('door-1', 'door');
      const tlsOpts = { ca: pem(server.cert), cert: pem(device.cert), key: pem(device.key) };
      const c = await connectDevice(g.gw.url, 'door-1', 'door', secret, tlsOpts);
      await c.endAsync();
      const bare = await refusal(g.gw.url, {
        clientId: 'door-1',
        username: 'door-1',
        password: secret,
        ca: pem(server.cert),
      });
      expect(bare).not.toBe('accepted');
    } finally {
      await g.stop();
    }
  });

  it('refuses to start with a TLS setting it cannot honour, naming the key', async () => {
    await expect(
      startGatewayBroker({ dataDir: data.dir, port: 0, tls: { ...server, requireClientCert: true } }),
    ).rejects.toThrow(/requireClientCert needs tls.ca/);
    await expect(
      startGatewayBroker({ dataDir: data.dir, port: 0, tls: { cert: file('nope.crt'), key: server.key } }),
    ).rejects.toThrow(/tls.cert: cannot read/);
  });
});
