import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { CLOCK, isSteppedClock, type Clock } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { PeriodicTask, SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { EscalationConfig } from './escalation.config';
import { EscalationEngine } from './escalation-engine.service';

/**
 * Every ESCALATION_SLA_SWEEP_INTERVAL_MS, escalations nobody could take are routed again, and
 * escalations not acknowledged by their due time (on the injected clock) are reported as breached,
 * with the team lead, and re-routed when the rules say so.
 */
@Injectable()
export class SlaSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly config = loadConfig(EscalationConfig);
  private readonly periodic: PeriodicTask;
  /** On a stepped clock with ESCALATION_ROUTE_ON_CLOCK_STEPS: routes the stage's escalations when it closes. */
  private readonly stepRouting?: PeriodicTask;

  constructor(
    private readonly engine: EscalationEngine,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.periodic = new PeriodicTask('escalation SLA sweep', this.config.ESCALATION_SLA_SWEEP_INTERVAL_MS, () => this.sweepOnce(), logger);
    if (this.config.ESCALATION_ROUTE_ON_CLOCK_STEPS && isSteppedClock(clock)) {
      this.stepRouting = new PeriodicTask('escalation routing at step close', this.config.ESCALATION_SLA_SWEEP_INTERVAL_MS, () => this.routeWaiting(), logger, { clock });
    }
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
    this.stepRouting?.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stepRouting?.stop();
    await this.periodic.stop();
  }

  /** Routes every escalation waiting for someone (at most 1,000 a run; older ones first). */
  async routeWaiting(): Promise<number> {
    const assigned = await this.engine.assignWaiting(1000);
    if (assigned) this.logger.info({ assigned }, 'waiting escalations assigned');
    return assigned;
  }

  /**
   * One pass: first routes escalations still waiting for someone (everyone was away or at capacity),
   * then reports breaches. Returns how many escalations breached their acknowledgement SLA.
   */
  async sweepOnce(): Promise<number> {
    const waiting = await this.engine.assignWaiting(200);
    if (waiting) this.logger.info({ assigned: waiting }, 'waiting escalations assigned');
    let total = 0;
    for (;;) {
      const n = await this.engine.detectBreaches(200);
      total += n;
      if (n < 200) break;
    }
    if (total) this.logger.info({ breached: total }, 'escalation SLA breaches');
    return total;
  }
}
