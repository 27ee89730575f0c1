import { HealthBand } from '@kizuna/shared/contracts';
import { bandFor, engagementScore, eventsInLast7Days, utcDay } from './engagement-score';

const now = new Date('2026-03-10T15:00:00Z');

describe('engagement score (provisional)', () => {
  it('counts only the 7 UTC days ending today', () => {
    const days = [
      { day: '2026-03-10', events: 2 },
      { day: '2026-03-04', events: 3 },
      { day: '2026-03-03', events: 100 },
      { day: '2026-03-11', events: 7 },
    ];
    expect(eventsInLast7Days(days, now)).toBe(5);
  });

  it('is 0 and danger with no activity', () => {
    expect(engagementScore([], now)).toEqual({ score: 0, band: HealthBand.Danger, eventsLast7Days: 0 });
  });

  it('saturates at 100 from 50 events', () => {
    expect(engagementScore([{ day: '2026-03-09', events: 50 }], now).score).toBe(100);
    expect(engagementScore([{ day: '2026-03-09', events: 500 }], now).score).toBe(100);
  });

  it('grows with activity and crosses the bands', () => {
    const s1 = engagementScore([{ day: '2026-03-10', events: 1 }], now);
    const s10 = engagementScore([{ day: '2026-03-10', events: 10 }], now);
    expect(s1.score).toBeGreaterThan(0);
    expect(s10.score).toBeGreaterThan(s1.score);
    expect(s1.band).toBe(HealthBand.Danger);
    expect(s10.band).toBe(HealthBand.Caution);
  });

  it('bands at the thresholds', () => {
    expect(bandFor(70)).toBe(HealthBand.Good);
    expect(bandFor(69.99)).toBe(HealthBand.Caution);
    expect(bandFor(40)).toBe(HealthBand.Caution);
    expect(bandFor(39.99)).toBe(HealthBand.Danger);
  });

  it('formats UTC days', () => {
    expect(utcDay(new Date('2026-03-10T23:59:59.999Z'))).toBe('2026-03-10');
  });
});
