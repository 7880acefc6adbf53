/** Access-group schedule, in estate local time (DESIGN.md: local zone only for schedules). */
export interface Schedule {
  windows: readonly { days: readonly number[]; from: string; to: string }[];
  holidays: readonly string[];
  holidayWindows: readonly { from: string; to: string }[];
}

export interface LocalTime {
  /** ISO weekday, 1 = Monday … 7 = Sunday */
  day: number;
  /** minutes since local midnight */
  minute: number;
  /** YYYY-MM-DD */
  date: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function localTime(utcMs: number, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(utcMs)) p[part.type] = part.value;
  return {
    day: WEEKDAY[p.weekday ?? ''] ?? 1,
    minute: Number(p.hour) * 60 + Number(p.minute),
    date: `${p.year}-${p.month}-${p.day}`,
  };
}

const minutes = (hm: string) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));
const prevDay = (d: number) => (d === 1 ? 7 : d - 1);

/**
 * Is `t` inside the schedule? No windows = always open. A window whose `to`
 * is before its `from` runs past midnight: its days name the day it starts.
 * On a listed holiday only the holiday windows apply.
 */
export function isOpen(s: Schedule, t: LocalTime): boolean {
  if (s.holidays.includes(t.date)) {
    return s.holidayWindows.some((w) => inWindow(minutes(w.from), minutes(w.to), t.minute, true, true));
  }
  if (s.windows.length === 0) return true;
  return s.windows.some((w) =>
    inWindow(minutes(w.from), minutes(w.to), t.minute, w.days.includes(t.day), w.days.includes(prevDay(t.day))),
  );
}

function inWindow(from: number, to: number, now: number, today: boolean, yesterday: boolean): boolean {
  if (from < to) return today && now >= from && now < to;
  // overnight: the evening part belongs to today's window, the early-morning part to yesterday's
  return (today && now >= from) || (yesterday && now < to);
}
