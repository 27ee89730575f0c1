import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CloudEvent } from '@kizuna/shared/contracts';
import { OnEvent, type MessageContext } from '@kizuna/shared/messaging';
import { processOnce, projectHealth } from '@kizuna/shared/persistence';
import { AccountActivity } from '@kizuna/lifecycle/data-access';

/**
 * Builds lifecycle's own view of each account from other services' facts:
 * health (for retention risk) and product activity (for usage status).
 * Phase transitions are added by the lifecycle issue on top of these projections.
 */
@Injectable()
export class LifecycleSignalsConsumer {
  constructor(private readonly dataSource: DataSource) {}

  @OnEvent('cs.health.score.changed.v1')
  async onHealth(event: CloudEvent<'cs.health.score.changed.v1'>, ctx: MessageContext): Promise<void> {
    await processOnce(this.dataSource, ctx.group, event, (m) => projectHealth(m, event));
  }

  @OnEvent('cs.product.track.v1')
  async onTrack(event: CloudEvent<'cs.product.track.v1'>, ctx: MessageContext): Promise<void> {
    await processOnce(this.dataSource, ctx.group, event, async (m) => {
      const at = new Date(event.data.timestamp);
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(AccountActivity).tablePath} (account_id, first_seen_at, last_seen_at, events_total)
         VALUES ($1, $2, $2, 1)
         ON CONFLICT (account_id) DO UPDATE SET
           first_seen_at = LEAST(account_activity.first_seen_at, EXCLUDED.first_seen_at),
           last_seen_at = GREATEST(account_activity.last_seen_at, EXCLUDED.last_seen_at),
           events_total = account_activity.events_total + 1`,
        [event.subject, at],
      );
    });
  }
}
