/**
 * The one source of time. Every rule that depends on time takes a Clock,
 * so tests and replays of old data run deterministically.
 */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('Clock');

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
