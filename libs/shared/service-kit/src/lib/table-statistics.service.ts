import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { isLaneProcess, type ServiceConfig } from '@kizuna/shared/config';
import { analyzeStaleTables, autovacuumSetting } from '@kizuna/shared/persistence';
import { PeriodicTask } from './periodic-task';
import { SERVICE_SCHEMA } from './migrations.runner';
import { SERVICE_CONFIG, SERVICE_LOGGER } from './tokens';

/**
 * Planner statistics for a server without autovacuum: at start and every DB_ANALYZE_INTERVAL_MS,
 * ANALYZEs the tables of the service's schema that changed past autovacuum's analyze threshold.
 * With autovacuum on (Postgres's default) it does nothing: autovacuum keeps them.
 */
@Injectable()
export class TableStatistics implements OnApplicationBootstrap, OnModuleDestroy {
  private task?: PeriodicTask;
  /** The pass at start (outside the periodic task): waited for on shutdown too. */
  private first?: Promise<unknown>;

  constructor(
    private readonly ds: DataSource,
    @Inject(SERVICE_SCHEMA) private readonly schema: string,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A service's lane process runs its lanes only (as for every periodic task).
    if (this.config.DB_ANALYZE_INTERVAL_MS === 0 || isLaneProcess()) return;
    if ((await autovacuumSetting(this.ds)) === 'on') return;
    this.logger.info({ schema: this.schema, intervalMs: this.config.DB_ANALYZE_INTERVAL_MS }, 'autovacuum is off: this service analyzes its own tables when they change');
    this.task = new PeriodicTask('table statistics', this.config.DB_ANALYZE_INTERVAL_MS, () => this.runOnce(), this.logger);
    this.task.start();
    this.first = this.runOnce().catch((e: unknown) => this.logger.error({ err: { message: (e as Error).message } }, 'table statistics failed; will retry'));
  }

  async onModuleDestroy(): Promise<void> {
    await this.first;
    await this.task?.stop();
  }

  /** One pass: the names of the tables analyzed. */
  async runOnce(): Promise<string[]> {
    const analyzed = await analyzeStaleTables(this.ds, this.schema);
    if (analyzed.length) this.logger.debug({ tables: analyzed }, 'tables analyzed');
    return analyzed;
  }
}
