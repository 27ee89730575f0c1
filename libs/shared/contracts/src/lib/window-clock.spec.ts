import { SystemClock, WindowClock, clockFromEnvironment } from './clock';

describe('WindowClock', () => {
  const window = { simStart: '2026-01-01T00:00:00Z', simEnd: '2026-04-01T00:00:00Z', realStart: 1_000_000, realEnd: 1_090_000 };
  const at = (real: number) => new WindowClock(window, () => real).now().toISOString();

  it('stands at the simulated start until the real start', () => {
    expect(at(0)).toBe('2026-01-01T00:00:00.000Z');
    expect(at(1_000_000)).toBe('2026-01-01T00:00:00.000Z');
  });

  it('plays the simulated window across the real one, linearly', () => {
    expect(at(1_045_000)).toBe('2026-02-15T00:00:00.000Z'); // half of 90 days
    expect(at(1_090_000)).toBe('2026-04-01T00:00:00.000Z');
  });

  it('runs at real speed after the window', () => {
    expect(at(1_090_000 + 60_000)).toBe('2026-04-01T00:01:00.000Z');
  });

  it('comes from KIZUNA_CLOCK_WINDOW, real time without it, and refuses a malformed one', () => {
    expect(clockFromEnvironment({})).toBeInstanceOf(SystemClock);
    expect(clockFromEnvironment({ KIZUNA_CLOCK_WINDOW: '2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,2030-01-01T00:00:00Z,2030-01-01T00:02:00Z' }).now().toISOString()).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect(() => clockFromEnvironment({ KIZUNA_CLOCK_WINDOW: '2026-01-01' })).toThrow(/simStart,simEnd,realStart,realEnd/);
    expect(() => clockFromEnvironment({ KIZUNA_CLOCK_WINDOW: 'a,b,c,d' })).toThrow(/must be a date/);
  });
});
