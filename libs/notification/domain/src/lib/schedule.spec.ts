import { inQuietHours, isTimeZone, localMinuteOfDay, nextLocalTime, planSend, type DeliveryWindowPrefs } from './schedule';

describe('quiet hours and digests', () => {
  const tokyo: DeliveryWindowPrefs = { timeZone: 'Asia/Tokyo', quietHours: { start: '22:00', end: '07:00' }, digest: { enabled: true, hour: 9 } };

  it('reads the local time in the recipient time zone', () => {
    expect(localMinuteOfDay(new Date('2026-03-10T13:30:00Z'), 'Asia/Tokyo')).toBe(22 * 60 + 30);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });

  it('holds a notice in quiet hours (across midnight) until they end, local time', () => {
    // 23:30 in Tokyo
    const plan = planSend(new Date('2026-03-10T14:30:00Z'), 'high', tokyo);
    expect(plan).toEqual({ at: new Date('2026-03-10T22:00:00Z'), mode: 'instant', held: true });
    expect(inQuietHours(new Date('2026-03-10T22:00:00Z'), tokyo)).toBe(false);
    // 12:00 in Tokyo: now
    const day = new Date('2026-03-10T03:00:00Z');
    expect(planSend(day, 'normal', tokyo)).toEqual({ at: day, mode: 'instant', held: false });
  });

  it('puts low-priority notices in the next daily digest, instant without a digest', () => {
    // 12:00 in Tokyo: the digest is at 09:00 the next day
    expect(planSend(new Date('2026-03-10T03:00:00Z'), 'low', tokyo)).toEqual({ at: new Date('2026-03-11T00:00:00Z'), mode: 'digest', held: false });
    const noDigest = { ...tokyo, digest: { enabled: false, hour: 9 } };
    expect(planSend(new Date('2026-03-10T03:00:00Z'), 'low', noDigest).mode).toBe('instant');
  });

  it('holds a digest whose hour falls inside quiet hours', () => {
    const early = { ...tokyo, digest: { enabled: true, hour: 6 } };
    expect(planSend(new Date('2026-03-10T03:00:00Z'), 'low', early)).toEqual({ at: new Date('2026-03-10T22:00:00Z'), mode: 'digest', held: true });
  });

  it('finds the next local time across a daylight-saving change', () => {
    // New York springs forward on 2026-03-08: 07:00 local is 11:00Z after, 12:00Z before.
    expect(nextLocalTime(new Date('2026-03-08T03:00:00Z'), 7 * 60, 'America/New_York')).toEqual(new Date('2026-03-08T11:00:00Z'));
    expect(nextLocalTime(new Date('2026-03-07T03:00:00Z'), 7 * 60, 'America/New_York')).toEqual(new Date('2026-03-07T12:00:00Z'));
  });
});
