import { FileDrivenClock, SystemClock, WindowClock, clockFromEnvironment, isSteppedClock } from './clock';

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

describe('FileDrivenClock', () => {
  const window = { simStart: '2026-01-01T00:00:00Z', simEnd: '2026-04-01T00:00:00Z', durationMs: 90_000 };

  it('stands at the simulated start until the start file says when the window starts, then plays it from there', () => {
    let real = 5_000_000;
    let file: string | undefined = undefined;
    const clock = new FileDrivenClock(window, '/start', () => real, () => file);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    real += 60_000; // the services took a minute to start: still the first instant
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    file = String(real + 1000);
    real += 1000;
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    real += 45_000;
    expect(clock.now().toISOString()).toBe('2026-02-15T00:00:00.000Z');
    real += 45_000 + 60_000;
    expect(clock.now().toISOString()).toBe('2026-04-01T00:01:00.000Z');
  });

  it('reads the file at most every 100 ms, and refuses a start that is not a number', () => {
    let real = 0;
    let reads = 0;
    const clock = new FileDrivenClock(window, '/start', () => real, () => {
      reads++;
      return undefined;
    });
    for (let i = 0; i < 50; i++, real += 10) clock.now();
    expect(reads).toBe(5);
    expect(() => new FileDrivenClock(window, '/start', () => 0, () => 'soon').now()).toThrow(/got "soon"/);
  });

  it('follows "<simMs> <realMs> <rate>": held still (rate 0) step by step, then at real speed, never going back', () => {
    let real = 1_000;
    let file: string | undefined = undefined;
    const clock = new FileDrivenClock(window, '/start', () => real, () => file);
    const day = (d: number) => Date.parse('2026-01-01T00:00:00Z') + d * 86_400_000;
    file = `${day(1)} ${real} 0`;
    real += 100;
    expect(clock.now().toISOString()).toBe('2026-01-02T00:00:00.000Z');
    real += 30_000; // the services take their time: the clock waits
    expect(clock.now().toISOString()).toBe('2026-01-02T00:00:00.000Z');
    file = `${day(2)} ${real} 0`;
    real += 100;
    expect(clock.now().toISOString()).toBe('2026-01-03T00:00:00.000Z');
    file = `${day(1)} ${real} 0`; // a step back is ignored
    real += 100;
    expect(clock.now().toISOString()).toBe('2026-01-03T00:00:00.000Z');
    file = `${day(3)} ${real} 1`;
    real += 60_000;
    expect(clock.now().toISOString()).toBe('2026-01-04T00:01:00.000Z');
    file = 'next tuesday';
    real += 100;
    expect(() => clock.now()).toThrow(/expected "<realStartMs>", "<simMs> <realMs> <rate>" or "<simMs> <realMs> <rate> <step>", got "next tuesday"/);
  });

  it('reports the player\'s step count from "<simMs> <realMs> <rate> <step>", read afresh, and none when not stepping', () => {
    const real = 1_000;
    let file: string | undefined = undefined;
    const clock = new FileDrivenClock(window, '/start', () => real, () => file);
    expect(isSteppedClock(clock)).toBe(true);
    expect(isSteppedClock(new SystemClock())).toBe(false);
    expect(clock.step()).toBeUndefined();
    file = `${Date.parse('2026-01-02T00:00:00Z')} ${real} 0 0`;
    expect(clock.step()).toBe(0);
    file = `${Date.parse('2026-01-02T00:00:00Z')} ${real} 0 1`;
    expect(clock.step()).toBe(1); // no 100 ms reuse: the step is read when asked
    expect(clock.now().toISOString()).toBe('2026-01-02T00:00:00.000Z');
    // refresh() makes the next now() show a move made a moment ago.
    file = `${Date.parse('2026-01-03T00:00:00Z')} ${real} 0 1`;
    expect(clock.now().toISOString()).toBe('2026-01-02T00:00:00.000Z');
    clock.refresh();
    expect(clock.now().toISOString()).toBe('2026-01-03T00:00:00.000Z');
    file = `${Date.parse('2026-01-03T00:00:00Z')} ${real} 1`;
    expect(clock.step()).toBeUndefined();
    file = `${Date.parse('2026-01-03T00:00:00Z')} ${real} 0 -1`;
    expect(() => clock.step()).toThrow(/got/);
  });

  it('comes from KIZUNA_CLOCK_WINDOW with KIZUNA_CLOCK_START_FILE', () => {
    const env = { KIZUNA_CLOCK_WINDOW: '2026-01-01T00:00:00Z,2026-04-01T00:00:00Z,2030-01-01T00:00:00Z,2030-01-01T00:02:00Z', KIZUNA_CLOCK_START_FILE: '/nonexistent/kizuna-start' };
    const clock = clockFromEnvironment(env);
    expect(clock).toBeInstanceOf(FileDrivenClock);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
