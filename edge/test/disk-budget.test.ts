// The disk budget: telemetry goes first (oldest first, counted), events never; the alarm; a physically full disk.
import { CloudLink, DiskBudget, EventLog, openGatewayDb, TelemetryBuffer } from '@estate/edge';
import { Door, Reader } from '@estate/firmware-stubs';
import { afterEach, describe, expect, it } from 'vitest';
import { aCloud, until } from './helpers/cloud.js';
import { aCloudSigner, aGateway, anEstate, aPass } from './helpers/estate.js';

const anEvent = (i: number) => ({
  ts: 1_000 + i,
  priority: 'high' as const,
  type: 'access_decision' as const,
  doorId: 'b1-main',
  deviceId: 'reader-b1',
  method: 'pin' as const,
  granted: false,
  reason: 'pin_unknown',
  latencyMs: 2,
});
const aSample = (i: number) => ({ deviceId: 'energy-1', kind: 'energy' as const, ts: i, metrics: { powerW: i } });

function aBudget(budgetBytes: number) {
  const db = openGatewayDb(':memory:');
  const log = new EventLog(db);
  const telemetry = new TelemetryBuffer(db);
  const warnings: string[] = [];
  const budget = new DiskBudget({ log, telemetry, budgetBytes, warn: (m) => warnings.push(m) });
  budget.start();
  const alarms = () =>
    log
      .read(0, 100_000)
      .flatMap((e) => (e.type === 'alarm' && e.alarm === 'disk_near_full' ? [`${e.state}: ${e.detail}`] : []));
  return { log, telemetry, budget, warnings, alarms };
}

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('disk budget', () => {
  it('drops the oldest telemetry first, counts it, and never lets telemetry push events out', () => {
    const { log, telemetry, budget } = aBudget(40_000);
    for (let i = 0; i < 10; i++)
      telemetry.push(budget.admitTelemetry(Array.from({ length: 100 }, (_, j) => aSample(i * 100 + j))));
    const u = budget.usage();
    expect(u.bytes).toBeLessThanOrEqual(40_000);
    expect(u.droppedTelemetry).toBeGreaterThan(0);
    expect(telemetry.count + u.droppedTelemetry).toBe(1_000);
    // what is left is the newest
    expect(telemetry.read(0, 1).samples[0]?.ts).toBe(u.droppedTelemetry);
    // events grow: telemetry shrinks to make room, events are all kept
    for (let i = 0; i < 150; i++) log.append(anEvent(i));
    expect(log.backlog().events).toBeGreaterThanOrEqual(150);
    expect(budget.usage().bytes).toBeLessThanOrEqual(40_000 + 1_000); // one event over at most, before telemetry went
    expect(telemetry.count).toBeLessThan(1_000 - u.droppedTelemetry);
  });

  it('raises disk_near_full once at 90 %, clears it below 80 %, and says loudly when events exhaust the budget', () => {
    const { log, budget, warnings, alarms } = aBudget(30_000);
    while (budget.usage().bytes < 27_000) log.append(anEvent(1));
    log.append(anEvent(2));
    log.append(anEvent(3));
    expect(alarms()).toHaveLength(1);
    expect(alarms()[0]).toMatch(/^raised: near full/);
    expect(budget.usage().state).toBe('near_full');
    // past the budget with events only: appends go on, a second alarm and a warning say so
    const before = log.lastSeq;
    while (budget.usage().bytes < 32_000) log.append(anEvent(4));
    expect(log.lastSeq).toBeGreaterThan(before);
    expect(budget.usage().state).toBe('exhausted');
    expect(warnings.join('\n')).toMatch(/DISK BUDGET EXHAUSTED/);
    expect(alarms().at(-1)).toMatch(/^raised: budget exhausted by undroppable events/);
    // the cloud acks most of it: below 80 % the alarm clears, once
    log.ack(log.lastSeq - 5);
    log.append(anEvent(5));
    log.append(anEvent(6));
    expect(budget.usage().state).toBe('ok');
    expect(alarms().filter((a) => a.startsWith('cleared'))).toHaveLength(1);
  });

  it('keeps the door shut when the disk is physically full (SQLITE_FULL from max_page_count)', async () => {
    const { local, gw } = await aGateway();
    cleanup.push(async () => {
      await gw.stop();
      await local.close();
    });
    const cloud = aCloudSigner();
    anEstate(gw, cloud);
    const door = new Door({ id: 'door-b1', broker: { url: local.url } });
    const reader = new Reader({ id: 'reader-b1', broker: { url: local.url } });
    const commands: string[] = [];
    door.on('received', (w) => {
      if (w.name === 'doorCommand') commands.push(w.message.action);
    });
    await Promise.all([door.start(), reader.start()]);
    cleanup.push(() => Promise.all([door.stop(), reader.stop()]).then(() => undefined));
    const { db, log } = gw.parts;
    // a disk with a few pages left, filled by the log itself: the last rows are the smallest event there is,
    // so an access decision (larger) can no longer fit in the last page
    db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 3}`);
    const tiny = {
      ts: 1,
      priority: 'low' as const,
      type: 'door' as const,
      doorId: 'd',
      deviceId: 'd',
      event: 'closed' as const,
    };
    expect(() => {
      for (;;) log.append(anEvent(0));
    }).toThrow(/full/);
    expect(() => {
      for (;;) log.append(tiny);
    }).toThrow(/full/);
    const before = log.lastSeq;
    const fb = await reader.scanQr(aPass(cloud, Date.now(), { id: 'v-full' }));
    expect(fb).toMatchObject({ granted: false, reason: 'log_unavailable' });
    expect(() => log.append(anEvent(1))).toThrow(/full/);
    await new Promise((r) => setTimeout(r, 150));
    expect(commands).toEqual([]);
    expect(door.state.relay).toBe('locked');
    expect(log.lastSeq).toBe(before);
    // room again: the next valid pass opens, with the next seq (no number was burnt)
    db.pragma('max_page_count = 1073741823');
    expect((await reader.scanQr(aPass(cloud, Date.now(), { id: 'v-room' }))).granted).toBe(true);
    const next = log.read(before, 10)[0];
    expect(next).toMatchObject({ seq: before + 1, type: 'access_decision', credentialId: 'v-room', granted: true });
  });
});

describe('health', () => {
  it('publishes retained GatewayHealth with the backlog, dropped telemetry, disk, devices and versions', async () => {
    const cloud = await aCloud();
    cleanup.push(cloud.close);
    const { local, gw, dataDir } = await aGateway();
    cleanup.push(async () => {
      await gw.stop();
      await local.close();
    });
    anEstate(gw, aCloudSigner());
    const link = new CloudLink({
      url: cloud.url,
      gatewayId: 'gw-health',
      parts: gw.parts,
      dataDir,
      healthIntervalMs: 60_000,
      budgetBytes: 4_000,
      window: 1,
    });
    cleanup.push(() => link.stop());
    cloud.setAcking(false); // the backlog stays
    for (let i = 0; i < 3; i++) gw.parts.log.append(anEvent(i));
    await link.start();
    const door = new Door({ id: 'door-b1', broker: { url: local.url } });
    await door.start();
    await until(
      () => cloud.health.some((h) => h.devices.some((d) => d.deviceId === 'door-b1' && d.online)),
      5_000,
      'online',
    );
    link.collector.add(aSample(1));
    for (let i = 0; i < 200; i++) link.collector.add(aSample(i + 2));
    link.collector.flush();
    await door.stop();
    await until(
      () => cloud.health.some((h) => h.devices.some((d) => d.deviceId === 'door-b1' && !d.online)),
      5_000,
      'offline',
    );
    const h = cloud.health.at(-1);
    expect(h?.backlog.events).toBeGreaterThanOrEqual(3);
    expect(h?.backlog.oldestTs).toBe(1_000);
    expect(h?.backlog.droppedTelemetry).toBeGreaterThan(0);
    expect(h?.diskFreeMb).toBeGreaterThan(0);
    expect(h?.rssMb).toBeGreaterThan(10);
    expect(h?.appliedVersion).toBe(1);
    expect(h?.desiredVersion).toBe(1);
  });
});
