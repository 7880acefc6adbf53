import { describe, expect, it } from 'vitest';
import { Door, type DoorOptions } from '../src/index.js';
import { aHeader, cutLink, deviceSuite, ManualClock, settle, Wire } from './helpers.js';

// Every message any test provoked must be a valid contract message (checked after each test).
const suite = deviceSuite<Door>();
const { running } = suite;
let n = 0;

async function aDoor(options: Partial<DoorOptions> = {}) {
  const clock = new ManualClock();
  const door = new Door({ id: `door-${++n}`, broker: { url: suite.b.url }, clock, startSeq: 0, ...options });
  running.push(door);
  await door.start();
  const events = (type: string) => suite.wire.all('doorEvent', door.id).filter((e) => e.type === type);
  const stateOf = () => suite.wire.all('doorState', door.id).at(-1);
  const command = (
    body: Omit<Parameters<typeof suite.wire.send<'doorCommand'>>[2], 'cmdId' | 'issuedAt' | 'expiresAt'>,
  ) => {
    const cmd = { ...aHeader(clock), ...body };
    return { cmd, sent: suite.wire.send('doorCommand', { deviceId: door.id }, cmd) };
  };
  const ackOf = (cmdId: string) => suite.wire.waitFor('doorAck', (a) => a.cmdId === cmdId, door.id);
  const waitEvent = (type: string) => suite.wire.waitFor('doorEvent', (e) => e.type === type, door.id);
  return { door, clock, events, stateOf, command, ackOf, waitEvent };
}

describe('door', () => {
  it('publishes retained presence and a locked, closed state when it starts', async () => {
    const { door } = await aDoor();
    const presence = await suite.wire.waitFor('devicePresence', (p) => p.online, door.id);
    expect(presence.online).toBe(true);
    const state = await suite.wire.waitFor('doorState', () => true, door.id);
    expect(state).toMatchObject({ relay: 'locked', contact: 'closed', mode: 'fail_secure', held: false });
    // Retained: a gateway that subscribes later still learns the state.
    const late = await Wire.connect(suite.b.url, `estate/v1/dev/door/${door.id}/#`);
    await late.waitFor('doorState', () => true, door.id);
    expect(late.seen.every((s) => s.retain)).toBe(true);
    expect(late.seen.map((s) => s.decoded.name).sort()).toEqual(['devicePresence', 'doorState']);
    await late.close();
  });

  it('unlocks for the pulse on an unlock command, acks done, and relocks after it', async () => {
    const { door, clock, events, stateOf, command, ackOf, waitEvent } = await aDoor();
    const { cmd } = command({ action: 'unlock', pulseMs: 1_000 });
    expect((await ackOf(cmd.cmdId)).result).toBe('done');
    await waitEvent('relay_unlocked');
    expect(stateOf()?.relay).toBe('unlocked');
    clock.advance(999);
    await settle(50);
    expect(events('relay_locked')).toHaveLength(0);
    clock.advance(1);
    await waitEvent('relay_locked');
    await settle(50);
    expect(stateOf()?.relay).toBe('locked');
    expect(door.state.relay).toBe('locked');
  });

  it('uses the configured pulse when the command gives none', async () => {
    const { clock, events, command, ackOf, waitEvent } = await aDoor({ pulseMs: 3_000 });
    await ackOf(command({ action: 'unlock' }).cmd.cmdId);
    clock.advance(2_999);
    await settle(50);
    expect(events('relay_locked')).toHaveLength(0);
    clock.advance(1);
    await waitEvent('relay_locked');
  });

  it('clicks the relay for test_pulse, and lock ends a pulse early', async () => {
    const { clock, events, command, ackOf, waitEvent } = await aDoor({ testPulseMs: 500 });
    await ackOf(command({ action: 'test_pulse' }).cmd.cmdId);
    clock.advance(500);
    await waitEvent('relay_locked');
    await ackOf(command({ action: 'unlock', pulseMs: 60_000 }).cmd.cmdId);
    expect((await ackOf(command({ action: 'lock' }).cmd.cmdId)).result).toBe('done');
    await settle(50);
    expect(events('relay_locked')).toHaveLength(2);
    clock.advance(60_000); // the cancelled pulse must not fire a third relock
    await settle(50);
    expect(events('relay_locked')).toHaveLength(2);
  });

  // DESIGN.md: an expired command is refused, never executed late (a door must not open late).
  it('refuses an expired unlock with reason expired and stays locked', async () => {
    const { door, clock, events, ackOf } = await aDoor();
    const cmd = { ...aHeader(clock, 1_000), action: 'unlock' as const };
    clock.advance(5_000);
    await suite.wire.send('doorCommand', { deviceId: door.id }, cmd);
    const ack = await ackOf(cmd.cmdId);
    expect(ack).toMatchObject({ result: 'refused', reason: 'expired' });
    await settle();
    expect(events('relay_unlocked')).toHaveLength(0);
    expect(door.state.relay).toBe('locked');
  });

  it.each([
    ['random bytes', () => Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x00, 0x81]), 'not_utf8'],
    ['text that is not JSON', () => Buffer.from('unlock please'), 'not_json'],
    ['an empty payload', () => Buffer.alloc(0), 'empty'],
    ['a payload over the size limit', () => Buffer.alloc(4_096, 0x20), 'too_large'],
  ])('refuses %s with an unidentified ack and keeps running', async (_, payload, reason) => {
    const { door, events, command, ackOf } = await aDoor();
    const rejected = new Promise((resolve) => door.once('rejected', resolve));
    await suite.wire.sendRaw(`estate/v1/dev/door/${door.id}/cmd`, payload());
    await rejected;
    const ack = await suite.wire.waitFor('doorAck', (a) => a.reason === reason, door.id);
    expect(ack).toMatchObject({ cmdId: 'unidentified', result: 'refused' });
    expect(events('relay_unlocked')).toHaveLength(0);
    // Still alive: the next valid command works.
    expect((await ackOf(command({ action: 'unlock' }).cmd.cmdId)).result).toBe('done');
  });

  it('refuses a command with a wrong field, echoing its cmdId, and names the field to observers', async () => {
    const { door, clock, events } = await aDoor();
    const rejected = new Promise<{ error: { code: string; field: string } }>((r) => door.once('rejected', r));
    const bad = { ...aHeader(clock), action: 'open_sesame' };
    await suite.wire.sendRaw(`estate/v1/dev/door/${door.id}/cmd`, JSON.stringify(bad));
    const ack = await suite.wire.waitFor('doorAck', (a) => a.cmdId === bad.cmdId, door.id);
    expect(ack).toMatchObject({ result: 'refused', reason: 'schema' });
    expect((await rejected).error).toMatchObject({ code: 'SCHEMA', field: '/action' });
    const extra = { ...aHeader(clock), action: 'unlock', pulseMs: 1_000, colour: 'red' };
    await suite.wire.sendRaw(`estate/v1/dev/door/${door.id}/cmd`, JSON.stringify(extra));
    expect(await suite.wire.waitFor('doorAck', (a) => a.cmdId === extra.cmdId, door.id)).toMatchObject({
      reason: 'schema',
    });
    expect(events('relay_unlocked')).toHaveLength(0);
  });

  it('answers a redelivered command again without acting twice', async () => {
    const { door, clock, events, ackOf } = await aDoor();
    const cmd = { ...aHeader(clock), action: 'unlock' as const };
    await suite.wire.send('doorCommand', { deviceId: door.id }, cmd);
    await suite.wire.send('doorCommand', { deviceId: door.id }, cmd);
    await ackOf(cmd.cmdId);
    await settle();
    expect(suite.wire.all('doorAck', door.id).filter((a) => a.cmdId === cmd.cmdId)).toHaveLength(2);
    expect(events('relay_unlocked')).toHaveLength(1);
  });

  it('reports forced when the contact opens while the relay is locked', async () => {
    const { door, events, waitEvent } = await aDoor();
    await door.forceOpen();
    await door.close();
    await waitEvent('closed');
    // In order: the forced opening, then the close.
    expect(suite.wire.all('doorEvent', door.id).map((e) => e.type)).toEqual(['opened', 'forced', 'closed']);
    expect(events('forced')).toHaveLength(1);
  });

  it('walks through after an unlock without forced, and refuses to walk through a locked door', async () => {
    const { door, clock, events, command, ackOf, waitEvent } = await aDoor({ walkMs: 1_500 });
    await expect(door.walkThrough()).rejects.toThrow(/needs an unlocked door/);
    await ackOf(command({ action: 'unlock' }).cmd.cmdId);
    const walk = door.walkThrough();
    await settle(50);
    clock.advance(1_500);
    await walk;
    await waitEvent('closed');
    expect(events('opened')).toHaveLength(1);
    expect(events('closed')).toHaveLength(1);
    expect(events('forced')).toHaveLength(0);
  });

  it('raises held_open when the door stays open past the threshold, not while held by command', async () => {
    const { door, clock, events, command, ackOf, waitEvent } = await aDoor({ heldOpenMs: 10_000 });
    await ackOf(command({ action: 'hold_open' }).cmd.cmdId);
    await door.holdOpen();
    clock.advance(20_000);
    await settle();
    expect(events('held_open')).toHaveLength(0);
    await ackOf(command({ action: 'release_hold' }).cmd.cmdId);
    await door.close();
    await door.holdOpen(); // relay locked again: this opening is forced, and then held
    await waitEvent('forced');
    clock.advance(10_000);
    await waitEvent('held_open');
    expect(events('held_open')).toHaveLength(1);
  });

  it('reports the exit button and leaves the decision to the gateway', async () => {
    const { door, events, waitEvent } = await aDoor();
    await door.pressExit();
    await waitEvent('exit_button');
    await settle();
    expect(events('exit_button')).toHaveLength(1);
    expect(events('relay_unlocked')).toHaveLength(0);
    expect(door.state.relay).toBe('locked');
  });

  it('releases a fail_safe door on fire and relocks when the alarm clears; fail_secure stays locked', async () => {
    const safe = await aDoor({ mode: 'fail_safe' });
    await safe.door.fireAlarm(true);
    await safe.waitEvent('fire_alarm');
    expect(safe.door.state.relay).toBe('unlocked');
    const lock = safe.command({ action: 'lock' }).cmd;
    expect(await safe.ackOf(lock.cmdId)).toMatchObject({ result: 'refused', reason: 'fire_alarm' });
    await safe.door.fireAlarm(false);
    await safe.waitEvent('relay_locked');
    const secure = await aDoor({ mode: 'fail_secure' });
    await secure.door.fireAlarm(true);
    expect(secure.door.state).toMatchObject({ fire: true, relay: 'locked' });
  });

  it('publishes tamper edges', async () => {
    const { door, events, stateOf, waitEvent } = await aDoor();
    await door.tamper(true);
    await door.tamper(false);
    await waitEvent('tamper_cleared');
    await suite.wire.waitFor('doorState', (s) => !s.tamper && s.ts > 0, door.id);
    expect(events('tamper')).toHaveLength(1);
    expect(events('tamper_cleared')).toHaveLength(1);
    expect(stateOf()?.tamper).toBe(false);
  });

  // DESIGN.md: a door never opens because of a fault (link loss).
  it('on link loss: the broker publishes the last will, the hold is released, and the door comes back locked', async () => {
    const { door, command, ackOf, events, waitEvent } = await aDoor();
    await ackOf(command({ action: 'hold_open' }).cmd.cmdId);
    expect(door.state.relay).toBe('unlocked');
    const lost = new Promise<void>((r) => door.once('disconnected', () => r()));
    const back = new Promise<void>((r) => door.once('connected', () => r()));
    cutLink(suite.b, door.id);
    await lost;
    expect(door.state).toMatchObject({ relay: 'locked', held: false });
    await suite.wire.waitFor('devicePresence', (p) => !p.online, door.id);
    await back;
    await suite.wire.waitFor('doorState', (s) => s.relay === 'locked' && !s.held, door.id);
    // The relock happened offline; its event (QoS 1) is delivered once the link is back.
    await waitEvent('relay_locked');
    expect(events('relay_unlocked')).toHaveLength(1);
  });

  it('starts locked after a restart even if it was pulsing when stopped', async () => {
    const { door, command, ackOf } = await aDoor();
    await ackOf(command({ action: 'unlock', pulseMs: 60_000 }).cmd.cmdId);
    await door.stop();
    await suite.wire.waitFor('devicePresence', (p) => !p.online, door.id);
    await door.start();
    expect(door.state.relay).toBe('locked');
  });
});
