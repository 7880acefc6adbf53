// The telemetry API on a real cloud (roles, estates, bounds) and the offline watch: one alarm per outage, staff told
// through the outbox when it is raised and when it clears.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetWatch } from '../src/telemetry/fleet.js';
import { telemetryStore } from '../src/telemetry/store.js';
import { type TestCloud, testCloud } from './helpers/cloud.js';
import { GATEWAY, meterBatch } from './telemetry-helpers.js';

let c: TestCloud;
const HOUR = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;

beforeAll(async () => {
  c = await testCloud();
  const { prisma } = c.deps;
  await prisma.gateway.createMany({
    data: [
      {
        id: GATEWAY,
        estateId: c.world.estateA,
        name: 'Gate 1',
        status: 'active',
        online: true,
        lastSeenAt: new Date(),
      },
      { id: 'gw-t2', estateId: c.world.estateA, name: 'Gate 2', status: 'active' },
      {
        id: 'gw-b1',
        estateId: c.world.estateB,
        name: 'B Gate',
        status: 'active',
        online: true,
        lastSeenAt: new Date(),
      },
    ],
  });
  await prisma.gatewayDevice.create({ data: { gatewayId: GATEWAY, deviceId: 'meter-1', kind: 'energy' } });
  await telemetryStore(c.deps).ingest(GATEWAY, meterBatch(HOUR));
}, 120_000);
afterAll(async () => c?.close());

const get = (role: keyof TestCloud['tokens'], url: string) => c.call(c.tokens[role], { method: 'GET', url });
const rollupUrl = (bucket: string, from: number, to: number) =>
  `/api/telemetry/rollup?gatewayId=${GATEWAY}&deviceId=meter-1&metric=power&bucket=${bucket}` +
  `&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;

describe('telemetry API', () => {
  it('gives staff, technicians and admin the latest values of their estate, and refuses residents', async () => {
    const staff = await get('staff', '/api/telemetry/latest');
    expect(staff.statusCode).toBe(200);
    expect(staff.json().items).toEqual([
      expect.objectContaining({ gatewayId: GATEWAY, deviceId: 'meter-1', metric: 'power', value: 359 }),
    ]);
    expect((await get('technician', `/api/telemetry/latest?gatewayId=${GATEWAY}`)).statusCode).toBe(200);
    expect((await get('admin', `/api/telemetry/latest?estateId=${c.world.estateA}`)).json().items).toHaveLength(1);
    expect((await get('admin', '/api/telemetry/latest')).statusCode).toBe(400);
    expect((await get('resident', '/api/telemetry/latest')).statusCode).toBe(403);
    // another estate's staff: the gateway does not exist for them, and their own estate has no readings
    expect((await get('staffB', `/api/telemetry/latest?gatewayId=${GATEWAY}`)).statusCode).toBe(404);
    expect((await get('staffB', '/api/telemetry/latest')).json().items).toEqual([]);
  });

  it('answers per-minute and per-hour rollups within bounds', async () => {
    const minutes = await get('staff', rollupUrl('minute', HOUR, HOUR + 10 * 60_000));
    expect(minutes.statusCode).toBe(200);
    expect(minutes.json().items).toHaveLength(10);
    expect(minutes.json().items[0]).toEqual({ ts: new Date(HOUR).toISOString(), avg: 1, min: 0, max: 2, count: 3 });
    const hours = await get('technician', rollupUrl('hour', HOUR, HOUR + 2 * 3_600_000));
    expect(hours.json().items.map((p: { count: number }) => p.count)).toEqual([180, 180]);
    // a day and a bit of minutes is more than 1,440 buckets; a reversed range is empty
    expect((await get('staff', rollupUrl('minute', HOUR, HOUR + 25 * 3_600_000))).statusCode).toBe(400);
    expect((await get('staff', rollupUrl('minute', HOUR, HOUR - 60_000))).statusCode).toBe(400);
    expect((await get('staff', rollupUrl('second', HOUR, HOUR + 60_000))).statusCode).toBe(400);
    expect((await get('resident', rollupUrl('hour', HOUR, HOUR + 3_600_000))).statusCode).toBe(403);
    expect((await get('staffB', rollupUrl('hour', HOUR, HOUR + 3_600_000))).statusCode).toBe(404);
  });

  it('shows gateway and device online state with last-seen times', async () => {
    const res = await get('staff', '/api/telemetry/state');
    expect(res.statusCode).toBe(200);
    const gateways = res.json().gateways as { gatewayId: string; online: boolean; devices: { lastSeenAt: string }[] }[];
    expect(gateways.map((g) => [g.gatewayId, g.online])).toEqual([
      [GATEWAY, true],
      ['gw-t2', false],
    ]);
    expect(gateways[0]?.devices[0]?.lastSeenAt).toBe(new Date(HOUR + 359 * 20_000).toISOString());
  });
});

describe('offline gateways', () => {
  const notifications = async () =>
    (await c.deps.prisma.outboxEvent.findMany({ where: { topic: 'notification.requested' }, orderBy: { id: 'asc' } }))
      .map((e) => e.payload as { kind: string; accountIds: string[] })
      .filter((p) => p.kind.startsWith('gateway.'));

  it('marks a silent gateway offline, raises one alarm, and tells the estate staff once', async () => {
    const watch = fleetWatch(c.deps);
    expect(watch.offlineAfterS).toBe(90);
    const now = new Date(Date.now() + 91_000);
    expect(await watch.tick(now)).toEqual({
      markedOffline: ['gw-b1', GATEWAY],
      raised: ['gw-b1', GATEWAY],
      cleared: [],
    });
    // the next pass changes nothing: raised once; gw-t2 was never seen, so it raises nothing
    expect(await watch.tick(new Date(now.getTime() + 15_000))).toEqual({ markedOffline: [], raised: [], cleared: [] });
    const told = await notifications();
    expect(told.map((n) => n.kind)).toEqual(['gateway.offline', 'gateway.offline']);
    const staffA = await c.deps.prisma.account.findUniqueOrThrow({ where: { login: c.world.logins.staff } });
    const staffB = await c.deps.prisma.account.findUniqueOrThrow({ where: { login: c.world.logins.staffB } });
    // each estate's staff hear of their own gateway only
    expect(told.map((n) => [n.accountIds.includes(staffA.id), n.accountIds.includes(staffB.id)])).toEqual([
      [false, true],
      [true, false],
    ]);
    const open = await get('staff', '/api/telemetry/alarms');
    expect(open.json().items).toEqual([
      expect.objectContaining({ gatewayId: GATEWAY, kind: 'gateway_offline', reason: 'silent', clearedAt: null }),
    ]);
    expect((await get('admin', '/api/telemetry/alarms')).json().items).toHaveLength(2);
    expect((await get('resident', '/api/telemetry/alarms')).statusCode).toBe(403);
  });

  it('clears the alarm when the gateway is back, and raises a new one when its presence says offline', async () => {
    const watch = fleetWatch(c.deps);
    const back = new Date(Date.now() + 200_000);
    await c.deps.prisma.gateway.update({ where: { id: GATEWAY }, data: { online: true, lastSeenAt: back } });
    expect(await watch.tick(back)).toEqual({ markedOffline: [], raised: [], cleared: [GATEWAY] });
    expect((await get('staff', '/api/telemetry/alarms')).json().items).toEqual([]);
    expect((await get('staff', '/api/telemetry/alarms?state=all')).json().items[0].clearedAt).toBe(back.toISOString());
    // the broker's last will: ingest sets online = false at once, before the silence threshold
    await c.deps.prisma.gateway.update({ where: { id: GATEWAY }, data: { online: false } });
    const later = new Date(back.getTime() + 5_000);
    expect(await watch.tick(later)).toEqual({ markedOffline: [], raised: [GATEWAY], cleared: [] });
    const open = (await get('staff', '/api/telemetry/alarms')).json().items;
    expect(open).toEqual([expect.objectContaining({ reason: 'presence', raisedAt: later.toISOString() })]);
    expect((await notifications()).map((n) => n.kind)).toEqual([
      'gateway.offline',
      'gateway.offline',
      'gateway.online',
      'gateway.offline',
    ]);
  });
});
