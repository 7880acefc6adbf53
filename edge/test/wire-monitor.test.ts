import { once } from 'node:events';
import { formatMessage, type Rejection, startLocalBroker, WireMonitor } from '@estate/edge';
import { type Decoded, encode, examples, type ProtocolErrorCode, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('wire monitor on the embedded broker', () => {
  let local: Awaited<ReturnType<typeof startLocalBroker>>;
  let monitor: WireMonitor;
  let client: mqtt.MqttClient;

  beforeAll(async () => {
    local = await startLocalBroker({ port: 0 });
    monitor = new WireMonitor(local.broker);
    monitor.start();
    client = await mqtt.connectAsync(local.url, { protocolVersion: 4, clientId: 'door-test', reconnectPeriod: 0 });
  });

  afterAll(async () => {
    monitor.stop();
    await client.endAsync();
    await local.close();
  });

  it('passes a valid device message through, typed', async () => {
    const seen = once(monitor, 'message');
    await client.publishAsync(topicFor('doorEvent', { deviceId: 'door-1' }), encode('doorEvent', examples.doorEvent), {
      qos: 1,
    });
    const [d, clientId] = (await seen) as [Decoded, string];
    expect(d.name).toBe('doorEvent');
    expect(d.message).toEqual(examples.doorEvent);
    expect(clientId).toBe('door-test');
  });

  const cases: [string, string, Buffer, ProtocolErrorCode, string][] = [
    ['random bytes', 'estate/v1/dev/door/door-1/event', Buffer.from([0xff, 0x00, 0x13, 0x37]), 'NOT_UTF8', ''],
    [
      'wrong type',
      'estate/v1/dev/door/door-1/event',
      Buffer.from('{"seq":"1","ts":1,"type":"opened"}'),
      'SCHEMA',
      '/seq',
    ],
    ['missing field', 'estate/v1/dev/door/door-1/event', Buffer.from('{"seq":1,"type":"opened"}'), 'SCHEMA', '/ts'],
    ['oversized', 'estate/v1/dev/door/door-1/event', Buffer.alloc(5_000, 0x7b), 'TOO_LARGE', ''],
    ['unknown topic', 'estate/v1/dev/door/door-1/selfdestruct', Buffer.from('{}'), 'TOPIC_UNKNOWN', ''],
  ];
  for (const [what, topic, payload, code, field] of cases) {
    it(`rejects ${what} with a reason, and keeps running`, async () => {
      const rejected = once(monitor, 'rejected');
      await client.publishAsync(topic, payload, { qos: 1 });
      const [r] = (await rejected) as [Rejection];
      expect(r.error.code).toBe(code);
      expect(r.error.field).toBe(field);
      // the broker and the monitor still serve the next valid message
      const ok = once(monitor, 'message');
      await client.publishAsync(topicFor('doorEvent', { deviceId: 'door-1' }), encode('doorEvent', examples.doorEvent));
      await ok;
    });
  }

  it('counts valid and rejected messages by route and by code', () => {
    expect(monitor.counts.rejected).toBe(cases.length);
    expect(monitor.counts.byCode.get('SCHEMA')).toBe(2);
    expect(monitor.counts.byName.get('doorEvent')).toBe(cases.length + 1);
  });

  it('never prints a PIN', () => {
    const line = formatMessage({
      name: 'readerInput',
      params: { deviceId: 'kp-1' },
      message: { seq: 1, ts: 0, method: 'pin', value: '482916' },
    });
    expect(line).not.toContain('482916');
    expect(line).toContain('••••••');
  });
});
