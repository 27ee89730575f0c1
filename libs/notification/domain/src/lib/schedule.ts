import type { Priority } from './triggers';

/** "HH:MM" in the recipient's time zone. */
export type ClockTime = string;

export interface DeliveryWindowPrefs {
  /** IANA time zone, e.g. "Asia/Tokyo". */
  timeZone: string;
  /** Nothing but in-app is sent between start and end (may span midnight); held and sent after. */
  quietHours?: { start: ClockTime; end: ClockTime } | null;
  /** Low-priority notices are collected and sent once a day at `hour` local time instead of instantly. */
  digest?: { enabled: boolean; hour: number } | null;
}

export const isClockTime = (v: string) => /^([01]\d|2[0-3]):[0-5]\d$/.test(v);

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const minutesOf = (t: ClockTime) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** The wall-clock minute of the day at `at` in `timeZone`. */
export function localMinuteOfDay(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/**
 * The first instant at or after `from` whose local time in `timeZone` is `minute` (minute of the day).
 * Starts at the whole minute and corrects once for a daylight-saving jump.
 */
export function nextLocalTime(from: Date, minute: number, timeZone: string): Date {
  const start = Math.floor(from.getTime() / 60_000) * 60_000;
  const now = localMinuteOfDay(new Date(start), timeZone);
  let at = start + ((minute - now + 1440) % 1440) * 60_000;
  const drift = localMinuteOfDay(new Date(at), timeZone) - minute;
  if (drift !== 0) at -= (((drift + 720 + 1440) % 1440) - 720) * 60_000;
  if (at < from.getTime()) at += 1440 * 60_000;
  return new Date(at);
}

/** Is `at` inside the quiet hours (start inclusive, end exclusive, possibly across midnight)? */
export function inQuietHours(at: Date, prefs: DeliveryWindowPrefs): boolean {
  const q = prefs.quietHours;
  if (!q) return false;
  const [s, e, m] = [minutesOf(q.start), minutesOf(q.end), localMinuteOfDay(at, prefs.timeZone)];
  if (s === e) return false;
  return s < e ? m >= s && m < e : m >= s || m < e;
}

export interface SendPlan {
  /** When the delivery may first be attempted. */
  at: Date;
  mode: 'instant' | 'digest';
  /** Held back by quiet hours. */
  held: boolean;
}

/**
 * When a notice reaches a recipient on a channel other than in-app: low priority goes to the daily
 * digest when the recipient has one; otherwise now, or at the end of their quiet hours.
 * A digest hour inside quiet hours is held too.
 */
export function planSend(now: Date, priority: Priority, prefs: DeliveryWindowPrefs): SendPlan {
  let at = now;
  let mode: SendPlan['mode'] = 'instant';
  if (priority === 'low' && prefs.digest?.enabled) {
    mode = 'digest';
    at = nextLocalTime(now, prefs.digest.hour * 60, prefs.timeZone);
  }
  if (inQuietHours(at, prefs) && prefs.quietHours) {
    return { at: nextLocalTime(at, minutesOf(prefs.quietHours.end), prefs.timeZone), mode, held: true };
  }
  return { at, mode, held: false };
}
