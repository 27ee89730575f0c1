import { ScaledClock } from './clock';

describe('ScaledClock', () => {
  it('runs simulated time rate times faster from its anchor, and maps simulated instants back to real ones', () => {
    let real = 1_000_000;
    // 90 days in 120 s: a rate of 64,800.
    const clock = new ScaledClock('2026-09-01T00:00:00.000Z', real, (90 * 86_400_000) / 120_000, () => real);
    expect(clock.now().toISOString()).toBe('2026-09-01T00:00:00.000Z');
    real += 60_000;
    expect(clock.now().toISOString()).toBe('2026-10-16T00:00:00.000Z');
    expect(clock.realTimeOf('2026-11-30T00:00:00.000Z')).toBe(1_000_000 + 120_000);
    expect(() => new ScaledClock('2026-09-01', 0, 0)).toThrow('rate must be > 0');
  });
});
