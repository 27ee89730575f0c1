import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { loadConfig } from '@kizuna/shared/config';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { OutboxRelay } from '@kizuna/shared/messaging';
import { PeriodicTask, SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { LifecycleConfig } from './lifecycle.config';
import { LifecycleEngine } from './lifecycle-engine.service';

/**
 * The scheduled tick: every LIFECYCLE_TICK_INTERVAL_MS, the accounts whose next time boundary
 * (renewal window opening, cancellation taking effect, milestone due, dormancy, end of an
 * expansion or win-back) has passed on the injected clock are moved through each boundary, in
 * batches, each transition dated at its boundary.
 */
@Injectable()
export class LifecycleTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly config = loadConfig(LifecycleConfig);
  private readonly periodic: PeriodicTask;

  constructor(
    private readonly ds: DataSource,
    private readonly engine: LifecycleEngine,
    private readonly relay: OutboxRelay,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.periodic = new PeriodicTask('lifecycle tick', this.config.LIFECYCLE_TICK_INTERVAL_MS, () => this.tickOnce(), logger, { clock });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.periodic.stop();
  }

  /**
   * Advances every due account to the clock; returns how many accounts and emitted events. While a
   * simulation stages its play (LIFECYCLE_EVALUATE_ON_CLOCK_STEPS), first rebuilds the accounts that
   * got signals in the stages before this close, one transaction each, in account order.
   */
  async tickOnce(): Promise<{ accounts: number; emitted: number }> {
    let accounts = 0;
    let emitted = 0;
    const step = this.engine.stagedStep();
    if (step !== undefined) {
      for (const accountId of await this.engine.stagedAccounts(this.ds.manager, step)) {
        emitted += await this.ds.transaction((m) => this.engine.applyStaged(m, accountId, step));
        accounts++;
      }
    }
    for (;;) {
      const r = await this.ds.transaction((m) => this.engine.advance(m, this.config.LIFECYCLE_TICK_BATCH));
      accounts += r.accounts;
      emitted += r.emitted;
      if (r.accounts < this.config.LIFECYCLE_TICK_BATCH) break;
    }
    if (emitted) this.relay.kick();
    if (accounts) this.logger.info({ accounts, emitted }, 'lifecycle tick done');
    return { accounts, emitted };
  }
}
