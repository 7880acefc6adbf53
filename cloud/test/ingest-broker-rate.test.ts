// The embedded cloud broker's per-source connect rate limit: a burst of CONNECTs over the limit from one address is
// closed before any gateway lookup or secret check (counted, logged once), and once the bucket refills a real
// gateway connects and delivers as usual. The limiter, its config key and the address keying are checked alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import type { SqlDriver } from '../src/db/driver.js';
import { type CloudBroker, startCloudBroker } from '../src/ingest/broker.js';
import { SERVICE_USER } from '../src/ingest/broker-auth.js';
import { type Ingest, startIngest } from '../src/ingest/ingest.js';
import {
  ConnectRateLimiter,
  DEFAULT_CONNECT_RATE,
  LogThrottle,
  parseConnectRate,
  sourceOf,
} from '../src/ingest/rate-limit.js';
import {
  ackListener,
  aGateway,
  asGateway,
  type IngestCloud,
  ingestCloud,
  sendBatch,
  storedSeqs,
  waitFor,
} from './ingest-helpers.js';

describe('the limiter', () => {
  it('allows a burst, then the refill rate, per source', () => {
    let now = 1_000_000;
    const l = new ConnectRateLimiter({ burst: 3, perSecond: 2 }, () => now);
    expect([1, 2, 3, 4].map(() => l.take('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(l.take('10.0.0.2')).toBe(true); // a neighbour has its own bucket
    now += 499;
    expect(l.take('10.0.0.1')).toBe(false); // 0.998 of a token
    now += 1;
    expect(l.take('10.0.0.1')).toBe(true);
    now += 60_000; // refills to the burst, not beyond
    expect([1, 2, 3, 4].map(() => l.take('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(() => new ConnectRateLimiter({ burst: 0, perSecond: 1 })).toThrow(RangeError);
  });

  it('keys IPv4 (also mapped) by address and IPv6 by its /64', () => {
    expect(sourceOf('203.0.113.7')).toBe('203.0.113.7');
    expect(sourceOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(sourceOf('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(sourceOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(sourceOf('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(sourceOf('2001:db8:0:3::5')).not.toBe(sourceOf('2001:db8::5'));
    expect(sourceOf(undefined)).toBe('unknown');
  });

  it('logs a key once per interval and tells how many lines it held back', () => {
    let now = 0;
    const t = new LogThrottle(60_000, () => now);
    expect(t.pass('a')).toBe(0);
    expect(t.pass('a')).toBeUndefined();
    expect(t.pass('b')).toBe(0);
    expect(t.pass('a')).toBeUndefined();
    now = 60_000;
    expect(t.pass('a')).toBe(2);
  });

  it('is configured as burst/per-second, 50/10 by default', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-rate-config-'));
    try {
      expect(loadConfig({ ESTATE_CLOUD_DATA_DIR: dataDir }).mqttConnectRate).toEqual({ burst: 50, perSecond: 10 });
      expect(DEFAULT_CONNECT_RATE).toEqual({ burst: 50, perSecond: 10 });
      const set = (v: string) => loadConfig({ ESTATE_CLOUD_DATA_DIR: dataDir, ESTATE_CLOUD_MQTT_CONNECT_RATE: v });
      expect(set('200/ 25').mqttConnectRate).toEqual({ burst: 200, perSecond: 25 });
      expect(set('5/0.5').mqttConnectRate).toEqual({ burst: 5, perSecond: 0.5 });
      for (const bad of ['0/10', '50/0', '50', 'fast', '-1/2']) expect(() => set(bad)).toThrow(ConfigError);
      expect(parseConnectRate('10/1')).toEqual({ burst: 10, perSecond: 1 });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** A CONNECT attempt's outcome: its CONNACK code (0 = in), or 'closed' when the broker hung up without one. */
function attempt(url: string, o: mqtt.IClientOptions): Promise<number | 'closed'> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...o });
  return new Promise((resolve) => {
    const settle = (r: number | 'closed') => {
      client.end(true);
      resolve(r);
    };
    client.once('connect', () => settle(0));
    client.once('error', (err: Error & { code?: unknown }) => settle(typeof err.code === 'number' ? err.code : -1));
    client.once('close', () => settle('closed'));
  });
}

const RATE = { burst: 5, perSecond: 2 };
const BURST = 20;
const GATEWAY_LOOKUP = 'SELECT status, secret_hash FROM gateways';

let c: IngestCloud;
let broker: CloudBroker;
let ingest: Ingest;
let lookups = 0;
const warnings: { msg: string; source?: string; suppressed?: number }[] = [];

beforeAll(async () => {
  c = await ingestCloud();
  // the real driver, counting the broker's credential lookups: a refused-early CONNECT must not make one
  const driver: SqlDriver = new Proxy(c.deps.driver, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver);
      return (sql: string, params?: unknown[]) => {
        if (sql.startsWith(GATEWAY_LOOKUP)) lookups++;
        return target.query(sql, params);
      };
    },
  });
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
  broker = await startCloudBroker({ ...c.deps, driver }, { host: '127.0.0.1', port: 0, connectRate: RATE, logger });
  ingest = await startIngest(c.deps, {
    url: broker.url,
    username: SERVICE_USER,
    password: c.deps.config.mqttServiceSecret,
  });
  await ingest.ready;
}, 120_000);
afterAll(async () => {
  await ingest?.close();
  await broker?.close();
  await c?.close();
});

describe('the embedded broker over its connect rate', () => {
  it('closes a burst from one address before any secret check; a gateway gets in once the bucket refills', async () => {
    const g = await aGateway(c.deps, c.estateA);
    // the ingest client's CONNECT came from 127.0.0.1 too: wait until the bucket is full again
    await new Promise((r) => setTimeout(r, 1_000 / RATE.perSecond + 50));
    const before = broker.counters();
    const lookupsBefore = lookups;

    // wrong secrets, all at once: what a gateway with a stale secret in a tight reconnect loop looks like
    const outcomes = await Promise.all(
      Array.from({ length: BURST }, () =>
        attempt(broker.url, { clientId: g.id, username: g.id, password: 'x'.repeat(43) }),
      ),
    );
    const checked = outcomes.filter((o) => o === 4).length;
    const closed = outcomes.filter((o) => o === 'closed').length;
    expect(checked + closed).toBe(BURST); // nothing else: no connection got in, none failed another way
    // the burst, plus at most what refilled while the attempts were in flight on a loaded machine
    expect(checked).toBeGreaterThanOrEqual(RATE.burst);
    expect(checked).toBeLessThanOrEqual(RATE.burst + 2);

    const after = broker.counters();
    expect(after.rateLimited - before.rateLimited).toBe(closed);
    // only the admitted ones were looked up and had their secret compared
    expect(after.refused.badPassword - before.refused.badPassword).toBe(checked);
    expect(lookups - lookupsBefore).toBe(checked);
    // one warning for the address, not one per refusal
    const rateLines = warnings.filter((w) => w.msg.startsWith('MQTT connect rate exceeded'));
    expect(rateLines).toHaveLength(1);
    expect(rateLines[0]?.source).toBe('127.0.0.1');

    // still over the limit right away: the right secret does not help (nor is it checked)
    expect(await attempt(broker.url, { clientId: g.id, username: g.id, password: g.secret })).toBe('closed');
    expect(lookups - lookupsBefore).toBe(checked);

    // after the window the real gateway connects and delivers, and the cloud stores and acknowledges it
    await new Promise((r) => setTimeout(r, 1_000 / RATE.perSecond + 50));
    const client = await asGateway(broker.url, g);
    const acks = await ackListener(client, g.id);
    await sendBatch(client, g.id, [1, 2, 3]);
    await waitFor(
      'ack',
      () => Math.max(-1, ...acks.map((a) => a.ackedSeq)),
      (s) => s === 3,
    );
    expect(await storedSeqs(c.deps, g.id)).toEqual([1, 2, 3]);
    await client.endAsync();
    // the connected service client was never touched by any of it
    expect(ingest.counters().handlerErrors).toBe(0);
    // the refusal after the first line fell in the same minute: held back, not logged
    expect(warnings.filter((w) => w.msg.startsWith('MQTT connect rate exceeded'))).toHaveLength(1);
  });
});
