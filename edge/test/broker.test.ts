import { setTimeout as sleep } from 'node:timers/promises';
import type { AedesPublishPacket } from 'aedes';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Refusal } from '../src/broker/counters.js';
import { DEFAULT_MAX_PACKET_BYTES } from '../src/broker/gateway-broker.js';
import {
  aGateway,
  closedWithin,
  connectDevice,
  connectPacket,
  granted,
  rawSocket,
  refusal,
  remainingLength,
  untilClosed,
} from './fixtures/broker/helpers.js';

const door = (id: string, leaf: string) => `estate/v1/dev/door/${id}/${leaf}`;

async function waitFor(cond: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('gateway broker: credentials, ACLs, packet size', () => {
  let g: Awaited<ReturnType<typeof aGateway>>;
  const secrets: Record<string, string> = {};
  const open: MqttClient[] = [];

  /** What in-process gateway features see on a topic (they use broker.subscribe, no client). */
  const watch = (topic: string) => {
    const seen: AedesPublishPacket[] = [];
    g.gw.broker.subscribe(
      topic,
      (p, cb) => {
        seen.push(p);
        cb();
      },
      () => {},
    );
    return seen;
  };
  const device = async (id: string, kind = 'door') => {
    const c = await connectDevice(g.gw.url, id, kind, secrets[id] as string);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    // generous rate limit here: the rate limit has its own broker below
    g = await aGateway({ connectRate: { burst: 1000, perSecond: 1000 } });
    for (const id of ['door-1', 'door-2', 'door-off']) secrets[id] = await g.add(id, 'door');
    secrets['camera-1'] = await g.add('camera-1', 'camera');
    g.devices.setDisabled('door-off', true);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.endAsync(true)));
    await g.stop();
  });

  it('lets a provisioned device in with its id and secret', async () => {
    const c = await device('door-1');
    expect(c.connected).toBe(true);
  });

  // `real` = the device's own secret, so only the thing named is wrong
  const refusals: [string, number, { clientId: string; username?: string; password?: string }, Refusal][] = [
    ['an unknown device', 4, { clientId: 'door-9', username: 'door-9', password: 'x'.repeat(43) }, 'unknownDevice'],
    ['a wrong secret', 4, { clientId: 'door-1', username: 'door-1', password: 'not-the-secret' }, 'badPassword'],
    ['missing credentials', 4, { clientId: 'door-1' }, 'missingCredentials'],
    [
      'a client id other than the username',
      2,
      { clientId: 'door-2', username: 'door-1', password: 'real' },
      'clientIdMismatch',
    ],
    ['a disabled device', 5, { clientId: 'door-off', username: 'door-off', password: 'real' }, 'disabled'],
  ];
  // [MQTT-3.2.2-5]: a refused CONNECT gets a non-zero return code, then the broker closes
  it.each(refusals)('refuses %s with CONNACK %i and counts it', async (_what, code, opts, reason) => {
    const before = g.gw.counters().refusedConnections[reason];
    const password = opts.password === 'real' ? secrets[opts.username ?? ''] : opts.password;
    expect(await refusal(g.gw.url, { ...opts, ...(password ? { password } : {}) })).toBe(code);
    expect(g.gw.counters().refusedConnections[reason]).toBe(before + 1);
    // the broker keeps serving
    expect((await device('door-2')).connected).toBe(true);
  });

  it("refuses a Will on another device's topic at CONNECT", async () => {
    const will = { topic: door('door-2', 'presence'), payload: Buffer.from('{}'), qos: 1 as const, retain: true };
    expect(await refusal(g.gw.url, { clientId: 'door-1', username: 'door-1', password: secrets['door-1'], will })).toBe(
      5,
    );
    expect(g.gw.counters().refusedConnections.willNotAllowed).toBe(1);
  });

  it('delivers what a device publishes on its own topics', async () => {
    const seen = watch(door('door-1', 'state'));
    const c = await device('door-1');
    await c.publishAsync(door('door-1', 'state'), '{"locked":true}', { qos: 1, retain: true });
    await c.publishAsync(door('door-1', 'event'), '{"seq":1}', { qos: 1 });
    expect(seen.map((p) => p.payload.toString())).toEqual(['{"locked":true}']);
    expect(c.connected).toBe(true);
  });

  // Issue 3, bad input: "a device publishing on another device's topic"
  it("refuses a device publishing on another device's topic; that device never sees it", async () => {
    const victim = await device('door-2');
    const got: string[] = [];
    victim.on('message', (_t, payload) => got.push(payload.toString()));
    expect((await victim.subscribeAsync(door('door-2', 'cmd'), { qos: 1 }))[0]?.qos).toBe(1);
    const stateSeen = watch(door('door-2', 'state'));

    const before = g.gw.counters().aclDenials.publishForeign;
    const forger = await device('door-1');
    forger.publish(door('door-2', 'cmd'), '{"forged":"open"}', { qos: 1 });
    await untilClosed(forger); // MQTT 3.1.1 has no negative PUBACK: the broker hangs up
    const forger2 = await device('door-1');
    forger2.publish(door('door-2', 'state'), '{"forged":"state"}', { qos: 0 });
    await untilClosed(forger2);
    expect(g.gw.counters().aclDenials.publishForeign).toBe(before + 2);

    // a real command from the gateway arrives, and it is the only thing that did
    const arrived = new Promise((r) => victim.once('message', r));
    g.gw.broker.publish(
      {
        cmd: 'publish',
        topic: door('door-2', 'cmd'),
        payload: Buffer.from('{"real":1}'),
        qos: 1,
        retain: false,
        dup: false,
      },
      () => {},
    );
    await arrived;
    expect(got).toEqual(['{"real":1}']);
    expect(stateSeen).toEqual([]);
  });

  it('refuses a device publishing to its own command topic (that is the gateway’s to send)', async () => {
    const before = g.gw.counters().aclDenials.publishNotAllowed;
    const c = await device('door-1');
    c.publish(door('door-1', 'cmd'), '{}', { qos: 0 });
    await untilClosed(c);
    expect(g.gw.counters().aclDenials.publishNotAllowed).toBe(before + 1);
  });

  it("grants a device its own command topic and refuses another device's, keeping the connection", async () => {
    const c = await device('door-1');
    expect(await granted(c, [door('door-1', 'cmd'), door('door-2', 'cmd'), door('door-1', 'state')])).toEqual([
      1, 128, 128,
    ]);
    expect(g.gw.counters().aclDenials.subscribeForeign).toBeGreaterThanOrEqual(1);
    expect(g.gw.counters().aclDenials.subscribeNotAllowed).toBeGreaterThanOrEqual(1);
    expect(c.connected).toBe(true);
  });

  it('refuses wildcard subscriptions, even over its own topics', async () => {
    const c = await device('door-1');
    expect(await granted(c, ['estate/v1/dev/door/door-1/#', 'estate/v1/dev/+/+/cmd', '#'])).toEqual([128, 128, 128]);
    expect(g.gw.counters().aclDenials.subscribeWildcard).toBe(3);
  });

  it('closes a connection announcing an oversized packet, and keeps serving the others', async () => {
    const bystander = await device('door-2');
    const camera = await device('camera-1', 'camera');
    camera.publish('estate/v1/dev/camera/camera-1/frame', Buffer.alloc(DEFAULT_MAX_PACKET_BYTES + 1), { qos: 0 });
    await untilClosed(camera);
    expect(g.gw.counters().oversizedPackets).toBe(1);
    // the largest legal frame still passes
    const seen = watch('estate/v1/dev/camera/camera-1/frame');
    const camera2 = await device('camera-1', 'camera');
    await camera2.publishAsync('estate/v1/dev/camera/camera-1/frame', Buffer.alloc(2 * 1024 * 1024), { qos: 0 });
    await waitFor(() => seen.length === 1);
    expect(bystander.connected).toBe(true);
  });

  it('hangs up on a 100 MiB header before any body arrives (nothing is buffered)', async () => {
    const s = await rawSocket(g.gw.port);
    s.write(Buffer.concat([Buffer.from([0x30]), remainingLength(100 * 1024 * 1024)]));
    expect(await closedWithin(s, 1_000)).toBe(true);
    const m = await rawSocket(g.gw.port);
    m.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])); // a fifth length byte
    expect(await closedWithin(m, 1_000)).toBe(true);
    expect(g.gw.counters()).toMatchObject({ oversizedPackets: 2, malformedPackets: 1 });
  });

  it('survives random bytes on raw sockets, before and after a valid CONNECT', async () => {
    const hello = connectPacket('door-1', 'door-1', secrets['door-1'] as string);
    const send = async (bytes: Uint8Array, afterConnack = false) => {
      const s = await rawSocket(g.gw.port);
      s.on('error', () => {});
      if (afterConnack) {
        // past the handshake, random packets reach the publish/subscribe handlers and the ACL hooks
        const connack = new Promise<Buffer>((resolve) => s.once('data', resolve));
        s.write(hello);
        expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
      }
      s.write(bytes);
      await closedWithin(s, 20);
      s.destroy();
    };
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), (b) => send(b)),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), (b) => send(b, true)),
      { numRuns: 25 },
    );
    expect((await device('door-2')).connected).toBe(true);
  });
});

describe('gateway broker: connection limits', () => {
  it('refuses a burst of connects from one address past the bucket, and counts it', async () => {
    const g = await aGateway({ connectRate: { burst: 3, perSecond: 0.01 } });
    try {
      const results: (number | 'closed' | 'accepted')[] = [];
      for (let i = 0; i < 5; i++) results.push(await refusal(g.gw.url, { clientId: `x${i}` }));
      // the first three reach authentication (and fail it: no credentials); the rest are cut off before
      expect(results).toEqual([4, 4, 4, 'closed', 'closed']);
      expect(g.gw.counters().rateLimited).toBe(2);
    } finally {
      await g.stop();
    }
  });

  it('drops sockets beyond the concurrent-connection cap, and closes promptly with idle sockets open', async () => {
    const g = await aGateway({ maxConnections: 2 });
    const idle = [await rawSocket(g.gw.port), await rawSocket(g.gw.port)];
    const third = await rawSocket(g.gw.port);
    expect(await closedWithin(third, 1_000)).toBe(true);
    expect(g.gw.counters().tooManyClients).toBe(1);
    // two sockets that never sent CONNECT must not hold shutdown for the 10 s connect timeout
    const started = Date.now();
    await g.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await Promise.all(idle.map((s) => closedWithin(s, 100)))).toEqual([true, true]);
  });
});
