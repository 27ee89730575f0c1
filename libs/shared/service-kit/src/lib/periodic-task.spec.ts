import pino from 'pino';
import type { SteppedClock } from '@kizuna/shared/contracts';
import { PeriodicTask, clockStepsPending } from './periodic-task';

/** A stepped clock whose step the test sets (undefined: not stepping). */
const steppedClock = () => {
  const c = { at: undefined as number | undefined, refreshed: 0 };
  const clock: SteppedClock = { now: () => new Date(0), step: () => c.at, refresh: () => void c.refreshed++ };
  return { c, clock };
};
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('PeriodicTask', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs on every tick but never twice at once, and stop waits for the run in progress', async () => {
    let finish: () => void = () => undefined;
    let runs = 0;
    const task = new PeriodicTask('t', 1000, () => {
      runs++;
      return new Promise<void>((resolve) => (finish = resolve));
    }, pino({ level: 'silent' }));
    task.start();
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(1);
    jest.advanceTimersByTime(3000); // still running: overlapping ticks are skipped
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
    jest.advanceTimersByTime(5000);
    expect(runs).toBe(1);
  });

  it('logs a failure and runs again at the next tick', async () => {
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    let runs = 0;
    const task = new PeriodicTask('flaky', 1000, async () => {
      runs++;
      throw new Error('boom');
    }, logger);
    task.start();
    jest.advanceTimersByTime(1000);
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(2);
    await task.stop();
    expect(errors.join('')).toContain('flaky failed; will retry');
  });

  it('follows a stepped clock: one run per step closed, none on the interval while stepping, pending until done', async () => {
    const { c, clock } = steppedClock();
    let finish: () => void = () => undefined;
    let runs = 0;
    const task = new PeriodicTask('sweep', 1000, () => {
      runs++;
      return new Promise<void>((resolve) => (finish = resolve));
    }, pino({ level: 'silent' }), { clock });
    task.start();
    c.at = 0; // stepping, no step closed yet
    jest.advanceTimersByTime(5000);
    expect([runs, clockStepsPending()]).toEqual([0, 0]);
    c.at = 2; // two steps closed at once: one run covers them
    expect(clockStepsPending()).toBe(1);
    jest.advanceTimersByTime(100);
    expect([runs, c.refreshed]).toEqual([1, 1]);
    jest.advanceTimersByTime(3000);
    expect([runs, clockStepsPending()]).toEqual([1, 1]); // still running: still owed
    finish();
    await flush();
    expect(clockStepsPending()).toBe(0);
    jest.advanceTimersByTime(3000);
    expect(runs).toBe(1);
    c.at = 3;
    jest.advanceTimersByTime(100);
    expect(runs).toBe(2);
    finish();
    await flush();
    c.at = undefined; // the player stopped stepping: back to the interval
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(3);
    finish();
    await task.stop();
    expect(clockStepsPending()).toBe(0);
  });

  it('does not repeat a step whose run failed, and counts nothing once stopped', async () => {
    const { c, clock } = steppedClock();
    let runs = 0;
    const task = new PeriodicTask('flaky', 1000, async () => {
      runs++;
      throw new Error('boom');
    }, pino({ level: 'silent' }), { clock });
    task.start();
    c.at = 1;
    jest.advanceTimersByTime(100);
    await flush();
    jest.advanceTimersByTime(500);
    expect([runs, clockStepsPending()]).toEqual([1, 0]);
    c.at = 2;
    await task.stop();
    expect(clockStepsPending()).toBe(0);
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(1);
  });
});
