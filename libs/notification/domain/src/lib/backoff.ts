/** Delays before each retry: after the first attempt fails, 5 s; then 5 min, ... (8 attempts in all). */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "5s,5m,30m,2h" into milliseconds; throws on anything else. */
export function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('a retry schedule needs at least one delay');
  return parts.map((p) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(p);
    if (!m) throw new Error(`"${p}" is not a delay (e.g. 500ms, 5s, 5m, 2h, 1d)`);
    return Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
  });
}

/** Attempts a delivery gets before it is dead-lettered: the first one plus one per delay. */
export const maxAttempts = (schedule: readonly number[]) => schedule.length + 1;

/** Jitter: each delay is spread uniformly over ±20 %, so retries of one outage do not arrive together. */
export const JITTER = 0.2;

/**
 * When to try again after `attempts` failed attempts, or null when they are used up
 * (the delivery is then dead-lettered). `random` is in [0, 1).
 */
export function nextRetryAt(now: Date, attempts: number, schedule: readonly number[], random: () => number = Math.random): Date | null {
  if (attempts < 1 || attempts > schedule.length) return null;
  const base = schedule[attempts - 1] as number;
  const jittered = base * (1 - JITTER + 2 * JITTER * random());
  return new Date(now.getTime() + Math.round(jittered));
}
