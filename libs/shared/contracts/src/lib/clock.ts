import { existsSync, readFileSync } from 'node:fs';

/**
 * The one source of time. Every rule that depends on time takes a Clock,
 * so tests and replays of old data run deterministically.
 */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('Clock');

/**
 * A clock played step by step by a simulation (see {@link FileDrivenClock}). `step()` is the number of
 * steps the player has closed, read afresh, or undefined while it is not stepping (time-driven work
 * then runs on its real-time interval).
 */
export interface SteppedClock extends Clock {
  step(): number | undefined;
  /** Reads the clock's source again now, so the next `now()` shows the player's latest move. */
  refresh(): void;
}

export function isSteppedClock(clock: Clock | undefined): clock is SteppedClock {
  return typeof (clock as Partial<SteppedClock> | undefined)?.step === 'function';
}

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that only moves when told to: for tests and simulations. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * Simulated time running `rate` times faster than real time: at real instant `realStartMs` it
 * reads `simulatedStart`. The simulator plays a window of months in minutes with it, and a service
 * given the same clock (same anchor and rate) sees the same simulated "now".
 */
export class ScaledClock implements Clock {
  private readonly simStart: number;

  constructor(
    simulatedStart: Date | string,
    private readonly realStartMs: number,
    private readonly rate: number,
    private readonly realNow: () => number = Date.now,
  ) {
    if (!(rate > 0)) throw new Error('ScaledClock: rate must be > 0');
    this.simStart = new Date(simulatedStart).getTime();
  }

  now(): Date {
    return new Date(this.simStart + (this.realNow() - this.realStartMs) * this.rate);
  }

  /** The real instant (ms since the epoch) at which the simulated clock reads `simulated`. */
  realTimeOf(simulated: Date | string): number {
    return this.realStartMs + (new Date(simulated).getTime() - this.simStart) / this.rate;
  }
}

/**
 * The demo's clock: simulated time `simStart`..`simEnd` played between the real instants
 * `realStart`..`realEnd` (so months pass in minutes). Before `realStart` it stands at `simStart`
 * (the services start and wait for the simulation); after `realEnd` it runs at real speed from
 * `simEnd`. Every service and the simulator share the four instants, so they agree on "now".
 */
export class WindowClock implements Clock {
  private readonly s0: number;
  private readonly s1: number;
  private readonly r0: number;
  private readonly r1: number;

  constructor(
    window: { simStart: Date | string; simEnd: Date | string; realStart: Date | string | number; realEnd: Date | string | number },
    private readonly realNow: () => number = Date.now,
  ) {
    this.s0 = new Date(window.simStart).getTime();
    this.s1 = new Date(window.simEnd).getTime();
    this.r0 = new Date(window.realStart).getTime();
    this.r1 = new Date(window.realEnd).getTime();
    if ([this.s0, this.s1, this.r0, this.r1].some(Number.isNaN)) throw new Error('WindowClock: every instant must be a date');
    if (!(this.s1 > this.s0 && this.r1 > this.r0)) throw new Error('WindowClock: each window must end after it starts');
  }

  now(): Date {
    const t = this.realNow();
    if (t <= this.r0) return new Date(this.s0);
    if (t >= this.r1) return new Date(this.s1 + (t - this.r1));
    return new Date(this.s0 + ((t - this.r0) * (this.s1 - this.s0)) / (this.r1 - this.r0));
  }
}

/**
 * A clock driven through a file by whoever plays a simulation (the demo, the e2e persona suite), so
 * the services can start at their own pace and the simulated days never run ahead of the data. It
 * stands at `simStart` until `file` exists; then the file says where the clock is, re-read at most
 * every 100 ms of real time:
 *
 * - `<realStartMs>`: the window starts at that real instant and plays for `durationMs` as a
 *   {@link WindowClock} would (then at real speed from `simEnd`);
 * - `<simMs> <realMs> <rate>`: at real instant `realMs` the clock read `simMs` and runs `rate` times
 *   real speed from there; rate 0 holds it (the player advances it step by step, each step once the
 *   services have consumed the previous one), rate 1 is real time;
 * - `<simMs> <realMs> <rate> <step>`: the same, while the player plays the window step by step:
 *   `step` counts the steps the player has closed. Time-driven work (a service's
 *   {@link SteppedClock}-aware periodic tasks: sweeps, ticks) then runs once when the count grows, at
 *   the point of the play the player chose (after the step's events were consumed), instead of on
 *   its real-time interval, so the same stream gives the same outcome however fast the machine is.
 *
 * It never goes back: a later reading below an earlier one returns the earlier one.
 */
export class FileDrivenClock implements SteppedClock {
  private lastCheck = Number.NEGATIVE_INFINITY;
  private lastText: string | undefined;
  private current: (realNow: number) => number;
  private currentStep: number | undefined;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly window: { simStart: Date | string; simEnd: Date | string; durationMs: number },
    private readonly file: string,
    private readonly realNow: () => number = Date.now,
    private readonly read: (file: string) => string | undefined = (f) => (existsSync(f) ? readFileSync(f, 'utf8') : undefined),
  ) {
    const s0 = new Date(window.simStart).getTime();
    if (Number.isNaN(s0)) throw new Error('FileDrivenClock: simStart must be a date');
    if (!(window.durationMs > 0)) throw new Error('FileDrivenClock: durationMs must be > 0');
    this.current = () => s0;
  }

  now(): Date {
    const t = this.realNow();
    if (t - this.lastCheck >= 100) this.refresh();
    this.last = Math.max(this.last, this.current(t));
    return new Date(this.last);
  }

  /** Re-reads the file now (a reading is otherwise reused for 100 ms of real time). */
  refresh(): void {
    this.lastCheck = this.realNow();
    const text = this.read(this.file)?.trim();
    if (text && text !== this.lastText) {
      this.lastText = text;
      [this.current, this.currentStep] = this.parse(text);
    }
  }

  step(): number | undefined {
    this.refresh();
    return this.currentStep;
  }

  private parse(text: string): [(realNow: number) => number, number | undefined] {
    const parts = text.split(/\s+/).map(Number);
    if (parts.length === 1 && Number.isFinite(parts[0])) {
      const realStart = parts[0] as number;
      let at = 0;
      const w = new WindowClock({ simStart: this.window.simStart, simEnd: this.window.simEnd, realStart, realEnd: realStart + this.window.durationMs }, () => at);
      return [(real) => {
        at = real;
        return w.now().getTime();
      }, undefined];
    }
    if ((parts.length === 3 || parts.length === 4) && parts.every(Number.isFinite) && (parts[2] as number) >= 0 && (parts[3] ?? 0) >= 0) {
      const [sim, real0, rate, step] = parts as [number, number, number, number | undefined];
      return [(real) => sim + Math.max(0, real - real0) * rate, step];
    }
    throw new Error(`${this.file}: expected "<realStartMs>", "<simMs> <realMs> <rate>" or "<simMs> <realMs> <rate> <step>", got "${text.slice(0, 60)}"`);
  }
}

/**
 * The clock a service runs on: real time, unless KIZUNA_CLOCK_WINDOW holds four comma-separated
 * instants "simStart,simEnd,realStart,realEnd" (the demo of `npm start`; see {@link WindowClock}).
 * With KIZUNA_CLOCK_START_FILE as well, the clock follows that file (see {@link FileDrivenClock});
 * realStart..realEnd then only gives the window's real duration.
 */
export function clockFromEnvironment(env: Record<string, string | undefined> = process.env): Clock {
  const spec = env['KIZUNA_CLOCK_WINDOW'];
  if (!spec) return new SystemClock();
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.length !== 4) throw new Error(`KIZUNA_CLOCK_WINDOW must be "simStart,simEnd,realStart,realEnd", got "${spec}"`);
  const [simStart, simEnd, realStart, realEnd] = parts as [string, string, string, string];
  const window = new WindowClock({ simStart, simEnd, realStart, realEnd });
  const startFile = env['KIZUNA_CLOCK_START_FILE'];
  if (!startFile) return window;
  return new FileDrivenClock({ simStart, simEnd, durationMs: Date.parse(realEnd) - Date.parse(realStart) }, startFile);
}
