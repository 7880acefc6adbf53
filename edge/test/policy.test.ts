import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOpen, localTime, type Schedule } from '../src/access/schedule.js';

// 2026-11-25 is a Wednesday. 01:30 UTC = 09:30 in Shanghai (UTC+8, no DST).
const WED_0930_SHANGHAI = Date.UTC(2026, 10, 25, 1, 30);
const at = (utc: number) => localTime(utc, 'Asia/Shanghai');
const H = 3_600_000;

const weekdays: Schedule = {
  windows: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00' }],
  holidays: [],
  holidayWindows: [],
};
const nights: Schedule = { windows: [{ days: [3], from: '22:00', to: '06:00' }], holidays: [], holidayWindows: [] };

describe('access schedules in estate local time', () => {
  it('reads the local weekday, minute and date of a UTC instant', () => {
    expect(at(WED_0930_SHANGHAI)).toEqual({ day: 3, minute: 9 * 60 + 30, date: '2026-11-25' });
    // 17:00 UTC Wednesday is already Thursday 01:00 in Shanghai
    expect(at(Date.UTC(2026, 10, 25, 17, 0))).toMatchObject({ day: 4, minute: 60, date: '2026-11-26' });
  });

  it('opens inside a window and not outside it, nor at its end', () => {
    expect(isOpen(weekdays, at(WED_0930_SHANGHAI))).toBe(true);
    expect(isOpen(weekdays, at(WED_0930_SHANGHAI + 10 * H))).toBe(false); // 19:30
    expect(isOpen(weekdays, at(WED_0930_SHANGHAI - 2.5 * H))).toBe(true); // 07:00 sharp
    expect(isOpen(weekdays, at(WED_0930_SHANGHAI + 9.5 * H))).toBe(false); // 19:00 sharp: end is exclusive
    expect(isOpen(weekdays, at(WED_0930_SHANGHAI + 3 * 24 * H))).toBe(false); // Saturday
  });

  it('runs an overnight window into the next morning, on the day it started', () => {
    expect(isOpen(nights, at(WED_0930_SHANGHAI + 13 * H))).toBe(true); // Wed 22:30
    expect(isOpen(nights, at(WED_0930_SHANGHAI + 19 * H))).toBe(true); // Thu 04:30, Wednesday's night
    expect(isOpen(nights, at(WED_0930_SHANGHAI + 21 * H))).toBe(false); // Thu 06:30
    expect(isOpen(nights, at(WED_0930_SHANGHAI - 5 * H))).toBe(false); // Wed 04:30 belongs to Tuesday's night
  });

  it('on a holiday applies only the holiday windows', () => {
    const s: Schedule = { ...weekdays, holidays: ['2026-11-25'], holidayWindows: [{ from: '10:00', to: '12:00' }] };
    expect(isOpen(s, at(WED_0930_SHANGHAI))).toBe(false);
    expect(isOpen(s, at(WED_0930_SHANGHAI + H))).toBe(true);
  });

  it('is always open with no windows', () => {
    expect(isOpen({ windows: [], holidays: [], holidayWindows: [] }, at(0))).toBe(true);
  });
});

describe('access policy', async () => {
  const { startLocalBroker, Gateway } = await import('@estate/edge');
  const { aCloudSigner, anEstate } = await import('./helpers/estate.js');

  async function aPolicy(antiPassback: 'off' | 'hard', schedule?: Schedule) {
    const local = await startLocalBroker({ port: 0 });
    const gw = new Gateway({ broker: local.broker, dataDir: mkdtempSync(join(tmpdir(), 'estate-policy-')) });
    await gw.start();
    anEstate(gw, aCloudSigner(), { antiPassback });
    if (schedule) {
      gw.apply({
        section: 'access',
        fromVersion: 1,
        toVersion: 2,
        deletes: [],
        upserts: [{ kind: 'group', id: 'g-b1', doors: ['b1-main'], schedule }],
      });
    }
    const door = gw.parts.model.doors.get('b1-main');
    const close = async () => {
      await gw.stop();
      await local.close();
    };
    return { policy: gw.parts.policy, door, close };
  }

  it('says why it refuses: not in a group, outside the schedule, unknown door, revoked', async () => {
    const { policy, door, close } = await aPolicy('off', weekdays);
    expect(policy.forPerson('p-alice', door, WED_0930_SHANGHAI)).toEqual({ granted: true, reason: 'granted' });
    expect(policy.forPerson('p-alice', door, WED_0930_SHANGHAI + 10 * H).reason).toBe('outside_schedule');
    expect(policy.forPerson('p-bob', door, WED_0930_SHANGHAI).reason).toBe('not_permitted');
    expect(policy.forPerson('p-alice', undefined, WED_0930_SHANGHAI).reason).toBe('unknown_door');
    policy.setLockdown('b1-main', true);
    expect(policy.forPerson('p-alice', door, WED_0930_SHANGHAI).reason).toBe('lockdown');
    await close();
  });

  it('keeps a lockdown through a restart; a timed one ends at its end time, restart or not', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'estate-lockdown-'));
    let clock = WED_0930_SHANGHAI;
    const local = await startLocalBroker({ port: 0 });
    const open = async () => {
      const gw = new Gateway({ broker: local.broker, dataDir, now: () => clock });
      await gw.start();
      return gw;
    };
    try {
      let gw = await open();
      anEstate(gw, aCloudSigner(), { antiPassback: 'off' });
      gw.parts.policy.setLockdown('*', true);
      gw.parts.policy.setLockdown('b1-main', true, clock + 60_000);
      gw.parts.policy.setLockdown('b2-main', true);
      gw.parts.policy.releaseLockdown('b2-main');
      await gw.stop();

      gw = await open();
      const door = gw.parts.model.doors.get('b1-main');
      expect(gw.parts.policy.forPerson('p-alice', door, clock).reason).toBe('lockdown');
      expect(gw.parts.policy.isLockedDown('b2-main')).toBe(true); // the gateway-wide one still holds
      gw.parts.policy.releaseLockdown('*');
      expect(gw.parts.policy.isLockedDown('b2-main')).toBe(false);
      expect(gw.parts.policy.isLockedDown('b1-main')).toBe(true); // its own, timed, has 60 s to run
      await gw.stop();

      clock += 61_000;
      gw = await open();
      expect(gw.parts.policy.isLockedDown('b1-main')).toBe(false);
      expect(gw.parts.policy.forPerson('p-alice', door, clock)).toEqual({ granted: true, reason: 'granted' });
      await gw.stop();
    } finally {
      await local.close();
    }
  });

  it('with hard anti-passback refuses a second entry without an exit', async () => {
    const { policy, door, close } = await aPolicy('hard');
    expect(policy.forPerson('p-alice', door, WED_0930_SHANGHAI).granted).toBe(true);
    expect(policy.forPerson('p-alice', door, WED_0930_SHANGHAI + 1000).reason).toBe('anti_passback');
    await close();
  });
});
