// Pure parts: configuration, key ring, file names, demo data generator. No database.
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyRing, randomKey } from '../src/core/crypto.js';
import { safeFileName } from '../src/core/files.js';
import { ConfigError, generateDemo, loadConfig } from '../src/index.js';
import { idCheckDigit } from '../src/seed/generator.js';

const dir = () => mkdtempSync(join(tmpdir(), 'estate-cfg-'));

describe('configuration', () => {
  it('refuses an unknown ESTATE_CLOUD_ key, naming it', () => {
    expect(() => loadConfig({ ESTATE_CLOUD_DATA_DIR: dir(), ESTATE_CLOUD_PROT: '80' })).toThrow(/ESTATE_CLOUD_PROT/);
  });

  it('refuses a bad value, naming the key', () => {
    expect(() => loadConfig({ ESTATE_CLOUD_DATA_DIR: dir(), ESTATE_CLOUD_PORT: 'eighty' })).toThrow(
      /ESTATE_CLOUD_PORT/,
    );
  });

  it('requires every secret in production and has no default for any', () => {
    try {
      loadConfig({ NODE_ENV: 'production', ESTATE_CLOUD_DATA_DIR: dir() });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(
        /ESTATE_CLOUD_JWT_SECRET.*ESTATE_CLOUD_DATA_KEYS.*ESTATE_CLOUD_BLIND_INDEX_KEY/,
      );
    }
  });

  it('generates development secrets once into the data folder, private to the owner', () => {
    const d = dir();
    const a = loadConfig({ ESTATE_CLOUD_DATA_DIR: d });
    const b = loadConfig({ ESTATE_CLOUD_DATA_DIR: d });
    expect(a.jwtSecret.equals(b.jwtSecret)).toBe(true);
    const file = join(d, 'dev-secrets.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('ESTATE_CLOUD_DATA_KEYS');
    expect(a.mqttServiceSecret).toBe(b.mqttServiceSecret);
    expect(loadConfig({ ESTATE_CLOUD_DATA_DIR: dir() }).jwtSecret.equals(a.jwtSecret)).toBe(false);
  });

  it('uses given secrets in production', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      ESTATE_CLOUD_DATA_DIR: dir(),
      ESTATE_CLOUD_JWT_SECRET: 'j'.repeat(40),
      ESTATE_CLOUD_DATA_KEYS: `k2:${randomKey()},k1:${randomKey()}`,
      ESTATE_CLOUD_BLIND_INDEX_KEY: 'b'.repeat(40),
      ESTATE_CLOUD_MQTT_SERVICE_SECRET: 'm'.repeat(40),
    });
    expect(c.keyRing.currentKeyId).toBe('k2');
    expect(c.mqttServiceSecret).toBe('m'.repeat(40));
  });
});

describe('key ring', () => {
  const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
  const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };

  it('opens what older keys sealed after rotation, and seals with the newest', () => {
    const old = new KeyRing([k1]).seal('13812345678', 'persons.phone:1');
    const rotated = new KeyRing([k2, k1]);
    expect(rotated.open(old, 'persons.phone:1')).toBe('13812345678');
    const fresh = rotated.seal('13812345678', 'persons.phone:1');
    expect(rotated.keyIdOf(fresh)).toBe('k2');
    expect(() => new KeyRing([k1]).open(fresh, 'persons.phone:1')).toThrow(/k2/);
  });

  it('binds ciphertext to its row and detects tampering', () => {
    const ring = new KeyRing([k1]);
    const sealed = ring.seal('secret', 'persons.phone:1');
    expect(() => ring.open(sealed, 'persons.phone:2')).toThrow();
    const bytes = Buffer.from(sealed, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => ring.open(bytes.toString('base64'), 'persons.phone:1')).toThrow();
  });

  it('refuses short keys', () => {
    expect(() => new KeyRing([{ id: 'x', key: Buffer.alloc(16) }])).toThrow(/32 bytes/);
  });
});

describe('file names', () => {
  it('keeps ordinary names, Chinese included', () => {
    expect(safeFileName('房产证 (1).pdf')).toBe('房产证 (1).pdf');
  });
  it.each(['../x.pdf', 'a/b.pdf', 'a\\b.pdf', '.env', 'x.pdf.', '', 'a\nb.pdf', '%2e%2e/x'])('refuses %j', (n) => {
    expect(() => safeFileName(n)).toThrow();
  });
});

describe('demo data generator', () => {
  it('is deterministic and at pilot size', () => {
    const a = generateDemo({ estates: 12, households: 8000, seed: 1 });
    const b = generateDemo({ estates: 12, households: 8000, seed: 1 });
    expect(a.length).toBe(12);
    expect(a.reduce((n, e) => n + e.households.length, 0)).toBe(8000);
    expect(JSON.stringify(a[3]?.households.slice(0, 5))).toBe(JSON.stringify(b[3]?.households.slice(0, 5)));
    const people = a.flatMap((e) => e.households.flatMap((h) => h.persons));
    expect(people.every((p) => /^[\u4e00-\u9fa5]{2,4}$/.test(p.name))).toBe(true);
    expect(people.filter((p) => p.phone).every((p) => /^1[3-9]\d{9}$/.test(p.phone ?? ''))).toBe(true);
    expect(people.every((p) => p.idNumber && idCheckDigit(p.idNumber.slice(0, 17)) === p.idNumber[17])).toBe(true);
    for (const e of a) expect(new Set(e.units.map((u) => u.number)).size).toBe(e.units.length);
  });

  it('computes the GB 11643 check digit', () => {
    expect(idCheckDigit('11010519491231002')).toBe('X');
  });
});
