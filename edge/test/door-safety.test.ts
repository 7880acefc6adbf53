// EN 60839-11-1 spirit: no fault opens a door; egress and fire release always work.
import { Door } from '@estate/firmware-stubs';
import { encode, examples, topicFor } from '@estate/protocols';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aCloudSigner, aGateway, anEstate, aPass } from './helpers/estate.js';

describe('door safety', () => {
  let ctx: Awaited<ReturnType<typeof aGateway>>;
  let door: Door;
  let intruder: mqtt.MqttClient;
  const commands: string[] = [];
  const cloud = aCloudSigner();

  beforeAll(async () => {
    ctx = await aGateway();
    anEstate(ctx.gw, cloud);
    door = new Door({ id: 'door-b1', broker: { url: ctx.local.url } });
    door.on('received', (w) => {
      if (w.name === 'doorCommand') commands.push(w.message.action);
    });
    await door.start();
    intruder = await mqtt.connectAsync(ctx.local.url, { protocolVersion: 4, clientId: 'reader-b1' });
  });

  afterAll(async () => {
    await Promise.all([door.stop(), intruder.endAsync()]);
    await ctx.gw.stop();
    await ctx.local.close();
  });

  const settle = () => new Promise((r) => setTimeout(r, 150));

  it('opens nothing for malformed, oversized or random messages from a reader', async () => {
    const topic = topicFor('readerInput', { deviceId: 'reader-b1' });
    for (const payload of [
      Buffer.from([0, 1, 2, 255]),
      Buffer.from('{"seq":1,"ts":1,"method":"qr","value":"x","extra":1}'),
      Buffer.from('{"seq":1,"ts":1,"method":"pin","value":"12"}'),
      Buffer.alloc(10_000, 0x41),
      Buffer.from('null'),
    ]) {
      await intruder.publishAsync(topic, payload, { qos: 1 });
    }
    await settle();
    expect(commands).toEqual([]);
    expect(ctx.invalid.length).toBe(5);
    expect(ctx.invalid[0]).toMatch(/UTF-8/);
  });

  it('opens nothing on a gateway restart, and keeps deciding after it', async () => {
    await ctx.gw.stop();
    await ctx.gw.start();
    await settle();
    expect(commands).toEqual([]);
    expect(door.state.relay).toBe('locked');
    const topic = topicFor('readerInput', { deviceId: 'reader-b1' });
    const pass = aPass(cloud, Date.now(), { id: 'v-after-restart' });
    await intruder.publishAsync(topic, encode('readerInput', { seq: 2, ts: Date.now(), method: 'qr', value: pass }));
    await settle();
    expect(commands).toEqual(['unlock']);
  });

  it('refuses to act on a decision it could not log (full disk): the door stays shut', async () => {
    const { db } = ctx.gw.parts;
    // a trigger stands in for a full disk: every insert into the log fails
    db.exec(
      "CREATE TEMP TRIGGER disk_full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    try {
      const topic = topicFor('readerInput', { deviceId: 'reader-b1' });
      const pass = aPass(cloud, Date.now(), { id: 'v-disk-full' });
      await intruder.publishAsync(topic, encode('readerInput', { seq: 3, ts: Date.now(), method: 'qr', value: pass }));
      await settle();
      expect(commands).toEqual(['unlock']);
    } finally {
      db.exec('DROP TRIGGER disk_full');
    }
  });

  it('releases a fire door on the fire input and logs the alarm', async () => {
    await door.fireAlarm(true);
    await settle();
    expect(commands.at(-1)).toBe('hold_open');
    const alarms = ctx.gw.parts.log.read(0, 10_000).filter((e) => e.type === 'alarm');
    expect(alarms.at(-1)).toMatchObject({ alarm: 'fire', state: 'raised', doorId: 'b1-main' });
    await door.fireAlarm(false);
    await settle();
    expect(commands.at(-1)).toBe('release_hold');
  });

  it('the door controller refuses a late command: an expired unlock never opens', async () => {
    const before = door.state.relay;
    await intruder.publishAsync(
      topicFor('doorCommand', { deviceId: 'door-b1' }),
      encode('doorCommand', { ...examples.doorCommand, issuedAt: Date.now() - 60_000, expiresAt: Date.now() - 30_000 }),
    );
    await settle();
    expect(before).toBe('locked');
    expect(door.state.relay).toBe('locked');
  });

  it('with the log failing (full disk), egress and fire release still work and the gateway keeps running', async () => {
    const { db } = ctx.gw.parts;
    db.exec(
      "CREATE TEMP TRIGGER disk_full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    try {
      const before = commands.length;
      await door.pressExit();
      await settle();
      expect(commands.slice(before)).toEqual(['unlock']);
      await door.fireAlarm(true);
      await settle();
      expect(commands.at(-1)).toBe('hold_open');
      await door.fireAlarm(false);
      await settle();
      expect(commands.at(-1)).toBe('release_hold');
    } finally {
      db.exec('DROP TRIGGER disk_full');
    }
    // and the gateway still decides and logs once the disk has room again
    await door.pressExit();
    await settle();
    const last = ctx.gw.parts.log.read(0, 10_000).at(-1);
    expect(last).toMatchObject({ type: 'access_decision', method: 'exit_button', granted: true });
  });
});
