import pino from 'pino';
import { PeriodicTask } from './periodic-task';

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
});
