import type { Logger } from 'pino';

/**
 * Runs `task` every `intervalMs`, never two runs at once (a slow run skips the ticks it overlaps),
 * logging a failure and trying again at the next tick. `stop()` waits for a run in progress, so a
 * service stops it before its database closes.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.task()
        .catch((e: unknown) => this.logger.error({ err: { message: (e as Error).message }, task: this.name }, `${this.name} failed; will retry`))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
