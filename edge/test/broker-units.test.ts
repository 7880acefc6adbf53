import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_KINDS, MESSAGE_NAMES, routes } from '@estate/protocols';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { aclFor, checkPublish, checkSubscribe } from '../src/broker/acl.js';
import { DeviceDirectoryError, FileDeviceDirectory } from '../src/broker/device-directory.js';
import { FrameScanner } from '../src/broker/packet-guard.js';
import { ConnectRateLimiter } from '../src/broker/rate-limit.js';
import { hashSecret, verifySecret } from '../src/broker/secret.js';
import { aDataDir, remainingLength } from './fixtures/broker/helpers.js';

describe('device secrets', () => {
  it('stores a salted scrypt PHC string that verifies only the right secret', async () => {
    const a = await hashSecret('s3cret');
    const b = await hashSecret('s3cret');
    expect(a).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b); // salted
    expect(await verifySecret('s3cret', a)).toBe(true);
    expect(await verifySecret(Buffer.from('s3cret'), a)).toBe(true);
    expect(await verifySecret('s3cres', a)).toBe(false);
  });

  it('treats a malformed or greedy stored hash as a mismatch, never an exception', async () => {
    const good = await hashSecret('x');
    for (const bad of [
      '',
      'plain',
      good.replace('ln=14', 'ln=30'),
      good.replace('$scrypt$', '$argon2id$'),
      `${good}$`,
    ]) {
      expect(await verifySecret('x', bad)).toBe(false);
    }
  });
});

describe('file device directory', () => {
  const data = aDataDir();
  const file = join(data.dir, 'devices.json');
  afterEach(() => writeFileSync(file, '{"version":1,"devices":{}}'));
  afterAll(() => data.remove());

  it('returns the secret once and keeps only its hash, in a 0600 file', async () => {
    const dir = new FileDeviceDirectory(file);
    const secret = await dir.addDevice('door-1', 'door');
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const rec = await dir.lookup('door-1');
    expect(rec).toMatchObject({ id: 'door-1', kind: 'door' });
    expect(await verifySecret(secret, rec?.secretHash ?? '')).toBe(true);
  });

  it('refuses bad ids, unknown kinds and duplicates, changing nothing', async () => {
    const dir = new FileDeviceDirectory(file);
    await dir.addDevice('door-1', 'door');
    const before = readFileSync(file, 'utf8');
    await expect(dir.addDevice('Door/1', 'door')).rejects.toThrow(DeviceDirectoryError);
    await expect(dir.addDevice('door-2', 'toaster' as 'door')).rejects.toThrow(/unknown device kind/);
    await expect(dir.addDevice('door-1', 'door')).rejects.toThrow(/already exists/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('sees changes another process made to the file (the provisioning CLI)', async () => {
    const gateway = new FileDeviceDirectory(file);
    expect(await gateway.lookup('door-7')).toBeUndefined();
    const cli = new FileDeviceDirectory(file);
    await cli.addDevice('door-7', 'door');
    expect(await gateway.lookup('door-7')).toMatchObject({ kind: 'door' });
    cli.setDisabled('door-7', true);
    expect(await gateway.lookup('door-7')).toMatchObject({ disabled: true });
    expect(cli.remove('door-7')).toBe(true);
    expect(await gateway.lookup('door-7')).toBeUndefined();
  });

  it('fails closed on a hand-corrupted file, naming it', async () => {
    const dir = new FileDeviceDirectory(file);
    writeFileSync(file, '{"version":1,"devices":{"door-1":{"kind":"door","secretHash":"plain-text!"}}}');
    await expect(dir.lookup('door-1')).rejects.toThrow(`${file}: devices.door-1.secretHash is malformed`);
    writeFileSync(file, '{ nope');
    await expect(dir.lookup('door-1')).rejects.toThrow(/not JSON/);
  });
});

describe('topic ACLs derived from the topic map', () => {
  it('gives each kind exactly its own uplink and downlink topics', () => {
    const door = aclFor('door', 'door-1');
    expect([...door.publish].sort()).toEqual(
      ['ack', 'event', 'presence', 'state'].map((l) => `estate/v1/dev/door/door-1/${l}`),
    );
    expect([...door.subscribe]).toEqual(['estate/v1/dev/door/door-1/cmd']);
    expect([...door.retain].sort()).toEqual(['presence', 'state'].map((l) => `estate/v1/dev/door/door-1/${l}`));
    expect([...aclFor('ble', 'ble-1').subscribe].sort()).toEqual([
      'estate/v1/dev/ble/ble-1/challenge',
      'estate/v1/dev/ble/ble-1/result',
    ]);
    expect([...aclFor('leak', 'leak-1').subscribe]).toEqual([]);
  });

  it('lets some kind use every device route in the map, and no kind any gateway route', () => {
    for (const name of MESSAGE_NAMES) {
      const r = routes[name];
      const usedBy = DEVICE_KINDS.filter((kind) => {
        const acl = aclFor(kind, 'dev-1');
        const topic = r.pattern.replace('{kind}', kind).replace('{deviceId}', 'dev-1');
        return acl.publish.has(topic) || acl.subscribe.has(topic);
      });
      const isDevice = r.direction === 'device→gateway' || r.direction === 'gateway→device';
      expect(usedBy.length > 0, name).toBe(isDevice);
    }
  });

  it('tells impersonation apart from firmware mistakes', () => {
    const acl = aclFor('door', 'door-1');
    expect(checkPublish(acl, 'estate/v1/dev/door/door-1/state', true)).toBeUndefined();
    expect(checkPublish(acl, 'estate/v1/dev/door/door-1/event', true)).toBe('publishNotAllowed'); // retained event
    expect(checkPublish(acl, 'estate/v1/dev/door/door-1/cmd', false)).toBe('publishNotAllowed');
    expect(checkPublish(acl, 'estate/v1/dev/door/door-2/state', false)).toBe('publishForeign');
    expect(checkPublish(acl, 'estate/v1/dev/camera/door-1/state', false)).toBe('publishForeign');
    expect(checkPublish(acl, 'estate/v1/gw/gw-1/cmd', false)).toBe('publishNotAllowed');
    expect(checkSubscribe(acl, 'estate/v1/dev/door/door-1/cmd')).toBeUndefined();
    expect(checkSubscribe(acl, 'estate/v1/dev/door/door-2/cmd')).toBe('subscribeForeign');
    expect(checkSubscribe(acl, 'estate/v1/dev/door/door-1/+')).toBe('subscribeWildcard');
    expect(checkSubscribe(acl, '$SYS/#')).toBe('subscribeWildcard');
    expect(checkSubscribe(acl, 'estate/v1/gw/gw-1/desired')).toBe('subscribeNotAllowed');
  });
});

describe('MQTT frame scanner', () => {
  const MAX = 4096;
  const packet = (len: number) => Buffer.concat([Buffer.from([0x30]), remainingLength(len), Buffer.alloc(len, 0xaa)]);
  /** Splits a buffer at the given cut points, as TCP may. */
  const split = (buf: Buffer, cuts: number[]) => {
    const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
    return [0, ...at].map((from, i) => buf.subarray(from, at[i] ?? buf.length));
  };

  it('passes any stream of packets within the limit, however TCP splits it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lengths, cuts) => {
          const s = new FrameScanner(MAX);
          return split(Buffer.concat(lengths.map(packet)), cuts).every((c) => s.feed(c) === 'ok');
        },
      ),
    );
  });

  it('flags a packet over the limit from its header alone, wherever it sits in the stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX }), { maxLength: 4 }),
        fc.integer({ min: MAX + 1, max: 268_435_455 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lengths, huge, cuts) => {
          const s = new FrameScanner(MAX);
          const header = Buffer.concat([Buffer.from([0x30]), remainingLength(huge)]); // no body at all
          const verdicts = split(Buffer.concat([...lengths.map(packet), header]), cuts).map((c) => s.feed(c));
          return verdicts.includes('oversized') && !verdicts.includes('malformed');
        },
      ),
    );
  });

  it('flags a remaining length longer than four bytes as malformed', () => {
    expect(new FrameScanner(MAX).feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x00]))).toBe('malformed');
  });
});

describe('connect rate limiter', () => {
  it('allows a burst, then refills at the configured rate, per address', () => {
    let now = 0;
    const l = new ConnectRateLimiter({ burst: 3, perSecond: 2 }, () => now);
    expect([1, 2, 3, 4].map(() => l.take('10.0.0.5'))).toEqual([true, true, true, false]);
    expect(l.take('10.0.0.6')).toBe(true); // a neighbour is unaffected
    now += 499;
    expect(l.take('10.0.0.5')).toBe(false);
    now += 1;
    expect(l.take('10.0.0.5')).toBe(true);
  });

  it('refuses a nonsensical configuration at start', () => {
    expect(() => new ConnectRateLimiter({ burst: 0, perSecond: 1 })).toThrow(RangeError);
    expect(() => new ConnectRateLimiter({ burst: 5, perSecond: Number.NaN })).toThrow(RangeError);
  });
});
