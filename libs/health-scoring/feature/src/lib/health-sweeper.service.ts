import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { loadConfig } from '@kizuna/shared/config';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { OutboxRelay } from '@kizuna/shared/messaging';
import { PeriodicTask, SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { AccountDailyActivity, AccountHealth, AccountProfile, BillingFact, SupportFact, SurveyFact } from '@kizuna/health-scoring/data-access';
import { HealthConfig } from './health.config';
import { HealthScorer } from './health-scorer.service';

/**
 * Silence: every HEALTH_SWEEP_INTERVAL_MS, every scored account is rescored on the clock, in
 * batches (one set-based facts query per batch), so an account that stops using the product
 * drops band without any new event.
 */
@Injectable()
export class HealthSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly config = loadConfig(HealthConfig);
  private readonly periodic: PeriodicTask;

  constructor(
    private readonly ds: DataSource,
    private readonly scorer: HealthScorer,
    private readonly relay: OutboxRelay,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.periodic = new PeriodicTask('health sweep', this.config.HEALTH_SWEEP_INTERVAL_MS, () => this.sweepOnce(), logger, { clock });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.periodic.stop();
  }

  /** Rescores every account once; returns how many accounts and how many emitted changes. */
  async sweepOnce(): Promise<{ accounts: number; changes: number }> {
    // Scored accounts; while events only record facts (scoresOnClockSteps), every account with facts.
    const tables = this.scorer.scoresOnClockSteps() ? [AccountHealth, AccountProfile, AccountDailyActivity, SupportFact, SurveyFact, BillingFact] : [AccountHealth];
    const accountsSql = tables.map((e) => `SELECT account_id FROM ${this.ds.getMetadata(e).tablePath} WHERE account_id > $1`).join(' UNION ');
    let after = '';
    let accounts = 0;
    let changes = 0;
    for (;;) {
      const rows: { account_id: string }[] = await this.ds.query(
        `SELECT account_id FROM (${accountsSql}) a ORDER BY account_id LIMIT $2`,
        [after, this.config.HEALTH_SWEEP_BATCH],
      );
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.account_id);
      changes += await this.ds.transaction((m) => this.scorer.rescore(m, ids, 'sweep'));
      accounts += ids.length;
      after = ids[ids.length - 1] ?? after;
    }
    if (changes) this.relay.kick();
    this.logger.info({ accounts, changes }, 'health sweep done');
    return { accounts, changes };
  }
}
