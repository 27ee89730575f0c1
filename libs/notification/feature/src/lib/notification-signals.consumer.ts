import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { HealthBand, type CloudEvent } from '@kizuna/shared/contracts';
import { OnEvent, type MessageContext } from '@kizuna/shared/messaging';
import { processOnce, projectHealth } from '@kizuna/shared/persistence';
import { SERVICE_LOGGER } from '@kizuna/shared/service-kit';

/**
 * Keeps notification's view of account health (band drops trigger CSM alerts once the
 * notification issue adds channels and triggers). Escalation and lifecycle events join here then.
 */
@Injectable()
export class NotificationSignalsConsumer {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('cs.health.score.changed.v1')
  async onHealth(event: CloudEvent<'cs.health.score.changed.v1'>, ctx: MessageContext): Promise<void> {
    const applied = await processOnce(this.dataSource, ctx.group, event, (m) => projectHealth(m, event));
    if (applied && event.data.band === HealthBand.Danger && event.data.previousBand !== HealthBand.Danger) {
      this.logger.info({ accountId: event.subject, eventId: event.id }, 'account entered the danger band (alert channels not configured yet)');
    }
  }
}
