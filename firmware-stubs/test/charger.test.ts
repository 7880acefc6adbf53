import type { ChargerCommand, ChargerEvent, ChargerMeter, ChargerState } from '@estate/protocols';
import { describe, expect, it } from 'vitest';
import { Charger, type ChargerOptions } from '../src/index.js';
import { aHeader, deviceSuite, ManualClock } from './helpers.js';

const suite = deviceSuite<Charger>();
const { running } = suite;
let n = 0;

type Body = ChargerCommand extends infer C
  ? C extends unknown
    ? Omit<C, 'cmdId' | 'issuedAt' | 'expiresAt'>
    : never
  : never;

async function aCharger(options: Partial<ChargerOptions> = {}) {
  const clock = new ManualClock();
  const charger = new Charger({
    id: `ev-${++n}`,
    broker: { url: suite.b.url },
    clock,
    startSeq: 0,
    maxPowerW: 7_400,
    meterIntervalMs: 60_000,
    ...options,
  });
  running.push(charger);
  await charger.start();
  const id = charger.id;
  const command = async (body: Body) => {
    const cmd = { ...aHeader(clock), ...body } as ChargerCommand;
    await suite.wire.send('chargerCommand', { deviceId: id }, cmd);
    return suite.wire.waitFor('chargerAck', (a) => a.cmdId === cmd.cmdId, id);
  };
  const event = <T extends ChargerEvent['type']>(type: T) =>
    suite.wire.waitFor('chargerEvent', (e) => e.type === type, id) as Promise<Extract<ChargerEvent, { type: T }>>;
  const meter = (where: (m: ChargerMeter) => boolean) => suite.wire.waitFor('chargerMeter', where, id);
  const state = (where: (s: ChargerState) => boolean) => suite.wire.waitFor('chargerState', where, id);
  return { charger, clock, command, event, meter, state };
}

describe('charger', () => {
  it('goes available → preparing → charging → finishing → available', async () => {
    const { charger, command, event, state } = await aCharger();
    expect(charger.state.status).toBe('available');
    await charger.plug();
    expect(charger.state.status).toBe('preparing');
    expect((await command({ action: 'start', sessionId: 's-1' })).result).toBe('done');
    expect(await event('session_started')).toMatchObject({ sessionId: 's-1', meterStartWh: 0 });
    expect(charger.state).toMatchObject({ status: 'charging', sessionId: 's-1' });
    expect((await command({ action: 'stop', sessionId: 's-1' })).result).toBe('done');
    expect(await event('session_stopped')).toMatchObject({ reason: 'remote' });
    expect(charger.state.status).toBe('finishing');
    await charger.unplug();
    await state((s) => s.status === 'available' && !s.plugged);
  });

  it('meters power × elapsed as an integer Wh register, every meter interval, and honours the power limit', async () => {
    const { charger, clock, command, event, meter } = await aCharger({ startEnergyWh: 1_000 });
    await charger.plug();
    await command({ action: 'start', sessionId: 's-2' });
    clock.advance(30 * 60_000); // 30 meter ticks at 7.4 kW
    const half = await meter((m) => m.energyWh === 1_000 + 3_700);
    expect(half).toMatchObject({ sessionId: 's-2', powerW: 7_400, voltageV: 230, currentA: 32.2 });
    expect(suite.wire.all('chargerMeter', charger.id)).toHaveLength(31);
    expect((await command({ action: 'set_power_limit', powerLimitW: 3_680 })).result).toBe('done');
    clock.advance(60 * 60_000);
    const limited = await meter((m) => m.energyWh === 1_000 + 3_700 + 3_680);
    expect(limited).toMatchObject({ powerW: 3_680, currentA: 16 });
    const registers = suite.wire.all('chargerMeter', charger.id).map((m) => m.energyWh);
    expect(registers).toEqual([...registers].sort((x, y) => x - y));
    expect((await command({ action: 'stop', sessionId: 's-2' })).result).toBe('done');
    expect(await event('session_stopped')).toMatchObject({ meterStopWh: 8_380, energyWh: 7_380 });
  });

  it('suspends at a zero limit and delivers nothing while suspended', async () => {
    const { charger, clock, command } = await aCharger();
    await charger.plug();
    await command({ action: 'start', sessionId: 's-3' });
    await command({ action: 'set_power_limit', powerLimitW: 0 });
    expect(charger.state.status).toBe('suspended');
    clock.advance(60 * 60_000);
    expect(charger.registerWh).toBe(0);
  });

  it('stops an active session with reason fault on a fault, refuses to start until cleared', async () => {
    const { charger, clock, command, event, state } = await aCharger();
    await charger.plug();
    await command({ action: 'start', sessionId: 's-4' });
    clock.advance(10 * 60_000);
    await charger.injectFault('ground_failure', 'RCD tripped');
    expect(await event('fault')).toMatchObject({ faultCode: 'ground_failure', detail: 'RCD tripped' });
    const stopped = await event('session_stopped');
    expect(stopped).toMatchObject({ sessionId: 's-4', reason: 'fault', meterStopWh: 1_233, energyWh: 1_233 });
    await state((s) => s.status === 'faulted' && s.faultCode === 'ground_failure' && !s.sessionId);
    expect(await command({ action: 'start', sessionId: 's-5' })).toMatchObject({
      result: 'refused',
      reason: 'faulted',
    });
    clock.advance(60 * 60_000);
    expect(charger.registerWh).toBe(1_233);
    await charger.clearFault();
    expect(await event('fault_cleared')).toMatchObject({ faultCode: 'ground_failure' });
    expect(charger.state.status).toBe('preparing');
  });

  it('refuses start when unplugged or busy, and stop for another session', async () => {
    const { charger, command } = await aCharger();
    expect(await command({ action: 'start', sessionId: 's-6' })).toMatchObject({ reason: 'not_plugged' });
    await charger.plug();
    await command({ action: 'start', sessionId: 's-6' });
    expect(await command({ action: 'start', sessionId: 's-7' })).toMatchObject({ reason: 'busy' });
    expect(await command({ action: 'stop', sessionId: 's-7' })).toMatchObject({ reason: 'unknown_session' });
  });

  it('ends the session with ev_disconnected when the car leaves mid-charge', async () => {
    const { charger, event } = await aCharger();
    await charger.plug();
    await charger.startLocal('local-1');
    await charger.unplug();
    expect(await event('session_stopped')).toMatchObject({ sessionId: 'local-1', reason: 'ev_disconnected' });
    expect(charger.state.status).toBe('available');
  });
});
