// The broker's internal self-test user: short-lived, watches every device, may pulse a relay or ask a snapshot,
// never unlock; and no device can pass itself off as one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileInternalUsers, type GatewayBroker, SELF_TEST_USER, startGatewayBroker } from '@estate/edge';
import { encode, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let data: string;
let broker: GatewayBroker;
let users: FileInternalUsers;
beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), 'estate-internal-'));
  broker = await startGatewayBroker({ dataDir: data, port: 0 });
  users = new FileInternalUsers(data);
});
afterAll(async () => {
  await broker?.close();
  rmSync(data, { recursive: true, force: true });
});

const connect = (password: string, username = SELF_TEST_USER) =>
  mqtt.connectAsync(broker.url, { clientId: username, username, password, protocolVersion: 4, reconnectPeriod: 0 });
const command = (action: 'unlock' | 'test_pulse') =>
  encode('doorCommand', { cmdId: 'cmd-12345678', issuedAt: Date.now(), expiresAt: Date.now() + 2_000, action });

describe('internal users of the gateway broker', () => {
  it('admits a live secret only, and refuses an expired or revoked one', async () => {
    const secret = await users.issue(SELF_TEST_USER, 60_000);
    await expect(connect('wrong')).rejects.toThrow(/Bad username or password/i);
    const c = await connect(secret);
    await c.endAsync();
    const stale = await users.issue(SELF_TEST_USER, 60_000, Date.now() - 120_000);
    await expect(connect(stale)).rejects.toThrow(/Bad username or password/i);
    const again = await users.issue(SELF_TEST_USER, 60_000);
    users.revoke(SELF_TEST_USER);
    await expect(connect(again)).rejects.toThrow(/Bad username or password/i);
    expect(broker.counters().refusedConnections.badPassword + broker.counters().refusedConnections.unknownDevice).toBe(
      3,
    );
  });

  it('may watch devices and send a test pulse, but an unlock closes its connection', async () => {
    const c = await connect(await users.issue(SELF_TEST_USER, 60_000));
    expect((await c.subscribeAsync('estate/v1/dev/#'))[0]?.qos).toBe(0);
    await expect(c.subscribeAsync('estate/v1/gw/+/events')).rejects.toThrow(/Subscribe error/);
    expect(broker.counters().aclDenials.subscribeNotAllowed).toBe(1);
    const topic = topicFor('doorCommand', { deviceId: 'door-1' });
    await c.publishAsync(topic, command('test_pulse'), { qos: 1 });
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish(topic, command('unlock'), { qos: 1 });
    await closed;
    expect(broker.counters().aclDenials.publishNotAllowed).toBe(1);
    c.end(true);
  });

  it('cannot be made through the device directory: internal names are not device ids', async () => {
    await expect(broker.devices.lookup('_selftest')).resolves.toBeUndefined();
    await expect(users.issue('door-1', 60_000)).rejects.toThrow(/start with '_'/);
  });
});
