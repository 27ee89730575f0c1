import { DEFAULT_RETRY_SCHEDULE, JITTER, maxAttempts, nextRetryAt, parseSchedule } from './backoff';

describe('retry schedule', () => {
  const schedule = parseSchedule(DEFAULT_RETRY_SCHEDULE);
  const now = new Date('2026-01-01T00:00:00Z');

  it('is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts in all', () => {
    expect(schedule).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(maxAttempts(schedule)).toBe(8);
  });

  it('waits the scheduled delay after each failed attempt, jittered within ±20 %', () => {
    schedule.forEach((delay, i) => {
      const mid = (nextRetryAt(now, i + 1, schedule, () => 0.5) as Date).getTime() - now.getTime();
      const low = (nextRetryAt(now, i + 1, schedule, () => 0) as Date).getTime() - now.getTime();
      const high = (nextRetryAt(now, i + 1, schedule, () => 0.999999) as Date).getTime() - now.getTime();
      expect(mid).toBe(delay);
      expect(low).toBe(Math.round(delay * (1 - JITTER)));
      expect(high).toBeLessThanOrEqual(Math.round(delay * (1 + JITTER)));
      expect(high).toBeGreaterThan(delay);
    });
  });

  it('has no retry after the last attempt (dead letter)', () => {
    expect(nextRetryAt(now, 8, schedule)).toBeNull();
    expect(nextRetryAt(now, 0, schedule)).toBeNull();
  });

  it('parses units and refuses nonsense', () => {
    expect(parseSchedule('250ms, 1.5s,1d')).toEqual([250, 1500, 86_400_000]);
    expect(() => parseSchedule('5 minutes')).toThrow('"5 minutes" is not a delay');
    expect(() => parseSchedule('')).toThrow('at least one');
  });
});
