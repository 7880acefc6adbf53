// The gateway link's configuration: an embedded broker on 1884 by default, an external one by URL, and the service
// secret generated once outside production — also into a dev-secrets.json written before the key existed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'estate-ingest-config-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('MQTT configuration', () => {
  it('defaults to the embedded broker on 1884; an external URL and a public URL are taken as given', () => {
    const d = dir();
    expect(loadConfig({ ESTATE_CLOUD_DATA_DIR: d })).toMatchObject({ mqttPort: 1884, mqttUrl: undefined });
    const c = loadConfig({
      ESTATE_CLOUD_DATA_DIR: d,
      ESTATE_CLOUD_MQTT_URL: 'mqtt://127.0.0.1:1883',
      ESTATE_CLOUD_MQTT_PUBLIC_URL: 'mqtts://mqtt.example.cn:8883',
      ESTATE_CLOUD_MQTT_PORT: '0',
    });
    expect(c).toMatchObject({
      mqttPort: 0,
      mqttUrl: 'mqtt://127.0.0.1:1883',
      mqttPublicUrl: 'mqtts://mqtt.example.cn:8883',
    });
    expect(() => loadConfig({ ESTATE_CLOUD_DATA_DIR: d, ESTATE_CLOUD_MQTT_URL: 'http://x' })).toThrow(ConfigError);
  });

  it('adds the service secret to an older dev-secrets.json once, and keeps it', () => {
    const d = dir();
    const first = loadConfig({ ESTATE_CLOUD_DATA_DIR: d });
    const file = join(d, 'dev-secrets.json');
    const { ESTATE_CLOUD_MQTT_SERVICE_SECRET: _, ...older } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(older), { mode: 0o600 });
    const second = loadConfig({ ESTATE_CLOUD_DATA_DIR: d });
    expect(second.mqttServiceSecret).toHaveLength(43);
    expect(second.jwtSecret.equals(first.jwtSecret)).toBe(true);
    expect(loadConfig({ ESTATE_CLOUD_DATA_DIR: d }).mqttServiceSecret).toBe(second.mqttServiceSecret);
  });

  it('requires the service secret in production', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        ESTATE_CLOUD_DATA_DIR: dir(),
        ESTATE_CLOUD_JWT_SECRET: 'j'.repeat(40),
        ESTATE_CLOUD_DATA_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
        ESTATE_CLOUD_BLIND_INDEX_KEY: 'b'.repeat(40),
      }),
    ).toThrow(/ESTATE_CLOUD_MQTT_SERVICE_SECRET/);
  });

  it('takes the dynamic-security admin login only as a pair, and only for an external broker', () => {
    const d = dir();
    const url = { ESTATE_CLOUD_DATA_DIR: d, ESTATE_CLOUD_MQTT_URL: 'mqtt://127.0.0.1:1883' };
    expect(loadConfig(url).mqttDynsec).toBeUndefined();
    const login = { ESTATE_CLOUD_MQTT_DYNSEC_USER: 'estate-admin', ESTATE_CLOUD_MQTT_DYNSEC_PASSWORD: 'long enough' };
    expect(loadConfig({ ...url, ...login }).mqttDynsec).toEqual({ username: 'estate-admin', password: 'long enough' });
    expect(() => loadConfig({ ...url, ESTATE_CLOUD_MQTT_DYNSEC_USER: 'estate-admin' })).toThrow(/go together/);
    expect(() => loadConfig({ ESTATE_CLOUD_DATA_DIR: d, ...login })).toThrow(/needs ESTATE_CLOUD_MQTT_URL/);
  });
});
