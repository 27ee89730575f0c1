import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import type { ServiceConfig } from '@kizuna/shared/config';
import { purgeInbox } from '@kizuna/shared/persistence';
import { PeriodicTask } from './periodic-task';
import { SERVICE_CONFIG, SERVICE_LOGGER } from './tokens';

const DAY_MS = 86_400_000;

/**
 * Inbox retention: every INBOX_CLEANUP_INTERVAL_MS, deletes the service's inbox rows older than
 * INBOX_RETENTION_DAYS (by the injected clock), INBOX_CLEANUP_BATCH rows per statement. The
 * retention must exceed the longest time a message can be redelivered (the Kafka topics' retention,
 * plus a replay from a dead-letter topic): a redelivered event whose inbox row is gone would be
 * applied again. See docs/operations.md.
 */
@Injectable()
export class InboxRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly task: PeriodicTask;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.task = new PeriodicTask('inbox retention', config.INBOX_CLEANUP_INTERVAL_MS, () => this.runOnce(), logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.task.stop();
  }

  /** One cleanup: the rows received before now - INBOX_RETENTION_DAYS. */
  async runOnce(): Promise<{ deleted: number; batches: number }> {
    const before = new Date(this.clock.now().getTime() - this.config.INBOX_RETENTION_DAYS * DAY_MS);
    const result = await purgeInbox(this.ds, before, this.config.INBOX_CLEANUP_BATCH);
    if (result.deleted) this.logger.info({ deleted: result.deleted, batches: result.batches, before: before.toISOString() }, 'inbox rows past retention deleted');
    return result;
  }
}
