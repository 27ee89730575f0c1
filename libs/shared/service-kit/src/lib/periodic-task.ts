import type { Logger } from 'pino';
import { isLaneProcess } from '@kizuna/shared/config';
import { isSteppedClock, type Clock, type SteppedClock } from '@kizuna/shared/contracts';

/** How often a task on a stepped clock looks for a new step. */
const STEP_POLL_MS = 100;

/** Every task following a stepped clock, for {@link clockStepsPending}. */
const steppedTasks = new Set<PeriodicTask>();

/**
 * Runs `task` every `intervalMs`, never two runs at once (a slow run skips the ticks it overlaps),
 * logging a failure and trying again at the next tick. `stop()` waits for a run in progress, so a
 * service stops it before its database closes.
 *
 * Given a {@link SteppedClock} (`options.clock`: the service's clock when a simulation plays it step
 * by step), the task follows the player instead while it is stepping: it runs once each time the
 * step count grows, and not on its interval, so sweeps and ticks happen at the same point of the play
 * on every run (after the step's events were consumed), whatever the machine's speed. While the task
 * owes a run for a step, {@link clockStepsPending} counts it, so the player can wait for it.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private stepTimer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly clock?: SteppedClock;
  /** The last step this task has run for (steps start at 0, which asks for nothing). */
  private doneStep = 0;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly logger: Logger,
    options: { clock?: Clock } = {},
  ) {
    if (isSteppedClock(options.clock)) this.clock = options.clock;
  }

  start(): void {
    // A service's lane process runs its lanes only: sweeps, timers and workers run in the service's process.
    if (this.timer || isLaneProcess()) return;
    this.timer = setInterval(() => {
      if (this.clock?.step() === undefined) void this.run();
    }, this.intervalMs);
    this.timer.unref();
    if (this.clock) {
      steppedTasks.add(this);
      this.stepTimer = setInterval(() => this.followStep(), STEP_POLL_MS);
      this.stepTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.stepTimer);
    this.timer = undefined;
    this.stepTimer = undefined;
    steppedTasks.delete(this);
    await this.running;
  }

  /** True while the stepped clock has closed a step this task has not finished running for. */
  owesStep(): boolean {
    const step = this.clock?.step();
    return step !== undefined && step > this.doneStep;
  }

  private followStep(): void {
    if (this.running || !this.clock) return;
    const step = this.clock.step();
    if (step === undefined || step <= this.doneStep) return;
    // The player's clock moved with the step: the run must see where it is now.
    this.clock.refresh();
    // A failed run is logged and not repeated for this step (the next step runs the task again).
    void this.run().finally(() => (this.doneStep = Math.max(this.doneStep, step)));
  }

  private run(): Promise<unknown> {
    this.running ??= this.task()
      .catch((e: unknown) => this.logger.error({ err: { message: (e as Error).message }, task: this.name }, `${this.name} failed; will retry`))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}

/** Periodic tasks of this process that owe a run for a step of their stepped clock (0 when none). */
export function clockStepsPending(): number {
  let n = 0;
  for (const t of steppedTasks) if (t.owesStep()) n++;
  return n;
}
