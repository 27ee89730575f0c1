/** A team's working time: weekdays (0 = Sunday .. 6 = Saturday) and a daily window in its time zone. */
export interface BusinessHours {
  timeZone: string;
  days: number[];
  /** "HH:MM", local time. */
  start: string;
  /** "HH:MM", local time, after start. */
  end: string;
}

const MINUTE = 60_000;
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** The weekday and the minute of the day (fractional) at `at` in time zone `tz`. */
export function localTime(at: number, tz: string): { weekday: number; minuteOfDay: number } {
  const parts = Object.fromEntries(formatter(tz).formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return {
    weekday: WEEKDAYS[parts['weekday'] ?? 'Sun'] ?? 0,
    minuteOfDay: Number(parts['hour']) * 60 + Number(parts['minute']) + Number(parts['second']) / 60,
  };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Length of the business day in minutes. */
export function businessDayMinutes(h: BusinessHours): number {
  return minutesOf(h.end) - minutesOf(h.start);
}

/** Is `at` inside business hours? */
export function isBusinessTime(at: Date, h: BusinessHours): boolean {
  const { weekday, minuteOfDay } = localTime(at.getTime(), h.timeZone);
  return h.days.includes(weekday) && minuteOfDay >= minutesOf(h.start) && minuteOfDay < minutesOf(h.end);
}

/**
 * The instant `minutes` of business time after `start`: time outside the window (nights, days off)
 * does not count. Local wall time is re-read after every jump, so daylight-saving shifts are honoured.
 */
export function addBusinessMinutes(start: Date, minutes: number, h: BusinessHours): Date {
  const open = minutesOf(h.start);
  const close = minutesOf(h.end);
  let t = start.getTime();
  let remaining = minutes;
  // Each iteration consumes a window or jumps to the next one: bounded by days, not minutes.
  for (let i = 0; remaining > 1e-9 && i < 5000; i++) {
    const { weekday, minuteOfDay } = localTime(t, h.timeZone);
    const workday = h.days.includes(weekday);
    if (workday && minuteOfDay >= open && minuteOfDay < close) {
      const take = Math.min(remaining, close - minuteOfDay);
      t += take * MINUTE;
      remaining -= take;
    } else if (workday && minuteOfDay < open) {
      t += (open - minuteOfDay) * MINUTE;
    } else {
      t += (1440 - minuteOfDay) * MINUTE;
    }
  }
  return new Date(Math.round(t));
}
