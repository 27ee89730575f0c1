import { HealthBand } from '@kizuna/shared/contracts';

/**
 * The walking skeleton's provisional score: engagement only (product events over the last
 * 7 days), until the DEAR scorecards replace it. Pure: no I/O, time passed in.
 */
export const PROVISIONAL_SCORECARD = { id: 'provisional-engagement', version: 0 } as const;

/** Events in 7 days at which engagement counts as full. */
export const FULL_ENGAGEMENT_EVENTS_7D = 50;

export const BAND_THRESHOLDS = { good: 70, caution: 40 } as const;

export interface DailyActivity {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  events: number;
}

export interface EngagementScore {
  score: number;
  band: HealthBand;
  eventsLast7Days: number;
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Sum of events on the 7 UTC days ending with `now`'s day. */
export function eventsInLast7Days(days: readonly DailyActivity[], now: Date): number {
  const end = Date.parse(`${utcDay(now)}T00:00:00.000Z`);
  const start = end - 6 * 86_400_000;
  return days
    .filter((d) => {
      const t = Date.parse(`${d.day}T00:00:00.000Z`);
      return t >= start && t <= end;
    })
    .reduce((sum, d) => sum + d.events, 0);
}

export function bandFor(score: number): HealthBand {
  if (score >= BAND_THRESHOLDS.good) return HealthBand.Good;
  if (score >= BAND_THRESHOLDS.caution) return HealthBand.Caution;
  return HealthBand.Danger;
}

/** Logarithmic: the first events matter most; 50+ events in 7 days is 100. */
export function engagementScore(days: readonly DailyActivity[], now: Date): EngagementScore {
  const n = eventsInLast7Days(days, now);
  const raw = (100 * Math.log1p(n)) / Math.log1p(FULL_ENGAGEMENT_EVENTS_7D);
  const score = Math.round(Math.min(100, raw) * 100) / 100;
  return { score, band: bandFor(score), eventsLast7Days: n };
}
