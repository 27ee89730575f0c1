import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
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

  constructor(
    private readonly engine: EscalationEngine,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.periodic = new PeriodicTask('escalation SLA sweep', this.config.ESCALATION_SLA_SWEEP_INTERVAL_MS, () => this.sweepOnce(), logger);
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.periodic.stop();
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
