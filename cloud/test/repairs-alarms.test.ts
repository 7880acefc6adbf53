// Alarms become work orders (issue 8 §4): the same domain event the gateway ↔ cloud link will emit — a gateway
// `alarm` event (protocols GatewayEvent) with the estate it was resolved to — opens an order of the right
// category, a repeat from the same device updates it, and a redelivered event (same gateway + seq) is a no-op.
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlarmEvent, type AlarmOutcome, alarmListener } from '../src/modules/repairs/alarms.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { aTechnician } from './repairs-helpers.js';

let c: TestCloud;
let bus: EventEmitter;
const outcomes: Promise<AlarmOutcome>[] = [];
beforeAll(async () => {
  c = await testCloud();
  await aTechnician(c, { name: 'Locksmith', skills: ['door_access'] });
  // Until the link lands, a bus stands in for it: the listener is wired exactly as the link will wire it.
  bus = new EventEmitter();
  const onAlarm = alarmListener(c.deps);
  bus.on('alarm', (e: AlarmEvent) => outcomes.push(onAlarm(e)));
});
afterAll(() => c?.close());

const alarm = (over: Partial<AlarmEvent>): AlarmEvent => ({
  type: 'alarm',
  estateId: c.world.estateA,
  gatewayId: 'gw-a-1',
  seq: 1,
  ts: new Date().toISOString(),
  alarm: 'door_forced',
  state: 'raised',
  doorId: 'b1-main',
  deviceId: 'door-b1-main',
  ...over,
});
const emit = async (e: AlarmEvent) => {
  bus.emit('alarm', e);
  return outcomes.at(-1) as Promise<AlarmOutcome>;
};

describe('alarm → work order', () => {
  it('door_forced opens a door_access order, dispatched at once', async () => {
    const r = await emit(alarm({ seq: 1 }));
    expect(r.outcome).toBe('opened');
    if (r.outcome !== 'opened') return;
    const o = await c.deps.prisma.repairOrder.findUniqueOrThrow({ where: { id: r.orderId } });
    expect(o).toMatchObject({
      category: 'door_access',
      source: 'alarm',
      deviceId: 'door-b1-main',
      alarmCount: 1,
      status: 'assigned',
    });
    expect(await c.deps.prisma.auditEntry.count({ where: { entityId: o.id, action: 'repair.alarm_open' } })).toBe(1);
  });

  it('the same device again updates the open order instead of opening another', async () => {
    const r = await emit(alarm({ seq: 2 }));
    expect(r.outcome).toBe('updated');
    const orders = await c.deps.prisma.repairOrder.findMany({ where: { deviceId: 'door-b1-main' } });
    expect(orders).toHaveLength(1);
    expect(orders[0]?.alarmCount).toBe(2);
  });

  it('a redelivered event (same gateway and seq) changes nothing', async () => {
    const r = await emit(alarm({ seq: 2 }));
    expect(r.outcome).toBe('duplicate');
    const orders = await c.deps.prisma.repairOrder.findMany({ where: { deviceId: 'door-b1-main' } });
    expect(orders[0]?.alarmCount).toBe(2);
  });

  it('water_leak → plumbing and charger_fault → charger; other alarms and cleared ones open nothing', async () => {
    const leak = await emit(alarm({ seq: 3, alarm: 'water_leak', deviceId: 'leak-b2-b1', doorId: undefined }));
    const charger = await emit(alarm({ seq: 4, alarm: 'charger_fault', deviceId: 'chg-p1-07', doorId: undefined }));
    for (const [r, category] of [
      [leak, 'plumbing'],
      [charger, 'charger'],
    ] as const) {
      expect(r.outcome).toBe('opened');
      if (r.outcome === 'opened') {
        expect((await c.deps.prisma.repairOrder.findUniqueOrThrow({ where: { id: r.orderId } })).category).toBe(
          category,
        );
      }
    }
    expect((await emit(alarm({ seq: 5, alarm: 'clock_skew' }))).outcome).toBe('ignored');
    expect((await emit(alarm({ seq: 6, state: 'cleared' }))).outcome).toBe('ignored');
  });

  it('once the order is completed, a new alarm from the device opens a new order', async () => {
    const open = await c.deps.prisma.repairOrder.findFirstOrThrow({ where: { deviceId: 'door-b1-main' } });
    await c.deps.prisma.repairOrder.update({
      where: { id: open.id },
      data: { status: 'completed', completedAt: new Date() },
    });
    const r = await emit(alarm({ seq: 7 }));
    expect(r.outcome).toBe('opened');
    expect(await c.deps.prisma.repairOrder.count({ where: { deviceId: 'door-b1-main' } })).toBe(2);
  });
});
