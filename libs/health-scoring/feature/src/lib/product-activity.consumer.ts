import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { trace } from '@opentelemetry/api';
import { CLOCK, Topics, type Clock, type CloudEvent } from '@kizuna/shared/contracts';
import { EventPublisher, OnEvent, OutboxRelay, type MessageContext } from '@kizuna/shared/messaging';
import { enqueueOutbox, processOnce } from '@kizuna/shared/persistence';
import { AccountDailyActivity, AccountHealth } from '@kizuna/health-scoring/data-access';
import { PROVISIONAL_SCORECARD, engagementScore, utcDay } from '@kizuna/health-scoring/domain';

type ProductEvent = CloudEvent<'cs.product.track.v1' | 'cs.product.page.v1' | 'cs.product.screen.v1'>;

/**
 * Keeps per-account daily activity from product events and re-scores the account;
 * a changed score or band is emitted on cs.health.v1 through the outbox.
 */
@Injectable()
export class ProductActivityConsumer {
  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: EventPublisher,
    private readonly relay: OutboxRelay,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @OnEvent('cs.product.track.v1')
  onTrack(event: CloudEvent<'cs.product.track.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(event, ctx);
  }

  @OnEvent('cs.product.page.v1')
  onPage(event: CloudEvent<'cs.product.page.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(event, ctx);
  }

  @OnEvent('cs.product.screen.v1')
  onScreen(event: CloudEvent<'cs.product.screen.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(event, ctx);
  }

  private async apply(event: ProductEvent, ctx: MessageContext): Promise<void> {
    const applied = await processOnce(this.dataSource, ctx.group, event, (m) => this.rescore(m, event));
    if (applied) this.relay.kick();
  }

  private async rescore(m: EntityManager, event: ProductEvent): Promise<void> {
    const accountId = event.subject;
    const day = utcDay(new Date(event.data.timestamp));
    await m.query(
      `INSERT INTO ${m.connection.getMetadata(AccountDailyActivity).tablePath} (account_id, day, events)
       VALUES ($1, $2, 1) ON CONFLICT (account_id, day) DO UPDATE SET events = account_daily_activity.events + 1`,
      [accountId, day],
    );
    const now = this.clock.now();
    const days = await m.getRepository(AccountDailyActivity).find({ where: { accountId } });
    const next = engagementScore(days, now);
    const healthRepo = m.getRepository(AccountHealth);
    const current = await healthRepo.findOne({ where: { accountId }, lock: { mode: 'pessimistic_write' } });
    trace.getActiveSpan()?.setAttributes({
      'kizuna.band_before': current?.band ?? 'none',
      'kizuna.band_after': next.band,
    });
    if (current && current.score === next.score && current.band === next.band) return;
    await healthRepo.save({
      accountId,
      score: next.score,
      band: next.band,
      scorecardId: PROVISIONAL_SCORECARD.id,
      scorecardVersion: PROVISIONAL_SCORECARD.version,
      computedAt: now,
      lastEventId: event.id,
    });
    const out = this.publisher.envelope({
      type: 'cs.health.score.changed.v1',
      subject: accountId,
      data: {
        score: next.score,
        band: next.band,
        previousScore: current?.score ?? null,
        previousBand: current?.band ?? null,
        scorecardId: PROVISIONAL_SCORECARD.id,
        scorecardVersion: PROVISIONAL_SCORECARD.version,
        topMovers: [
          {
            component: 'engagement',
            measure: 'events_7d',
            deltaPoints: Math.round((next.score - (current?.score ?? 0)) * 100) / 100,
          },
        ],
        computedAt: now.toISOString(),
      },
    });
    await enqueueOutbox(m, [{ topic: Topics.health, event: out }]);
  }
}
