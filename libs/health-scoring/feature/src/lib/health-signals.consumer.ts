import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CloudEvent, EventType } from '@kizuna/shared/contracts';
import { OnEvent, OutboxRelay, type MessageContext } from '@kizuna/shared/messaging';
import { processOnce } from '@kizuna/shared/persistence';
import {
  AccountDailyActivity, AccountEventUse, AccountProfile, AccountUserDay, BillingFact, SupportFact, SurveyFact,
} from '@kizuna/health-scoring/data-access';
import { utcDay } from '@kizuna/health-scoring/domain';
import { HealthScorer } from './health-scorer.service';

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;

/**
 * Keeps each account's facts from every source (idempotent, order-tolerant upserts: redelivered
 * or reordered events give the same facts) and rescores the account in the same transaction.
 */
@Injectable()
export class HealthSignalsConsumer {
  constructor(
    private readonly ds: DataSource,
    private readonly scorer: HealthScorer,
    private readonly relay: OutboxRelay,
  ) {}

  @OnEvent('cs.product.track.v1')
  onTrack(e: CloudEvent<'cs.product.track.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, (m) => this.product(m, e));
  }

  @OnEvent('cs.product.page.v1')
  onPage(e: CloudEvent<'cs.product.page.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, (m) => this.product(m, e));
  }

  @OnEvent('cs.product.screen.v1')
  onScreen(e: CloudEvent<'cs.product.screen.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, (m) => this.product(m, e));
  }

  @OnEvent('cs.directory.account.updated.v1')
  onAccount(e: CloudEvent<'cs.directory.account.updated.v1'>, ctx: MessageContext): Promise<void> {
    const t = e.data.traits;
    const arr = t.arr ?? (t.mrr !== undefined ? t.mrr * 12 : undefined);
    return this.apply(e, ctx, (m) => this.profile(m, e.subject, new Date(e.data.timestamp), { name: t.name, plan: t.plan, arr, seats: t.seatsPurchased }));
  }

  @OnEvent('cs.billing.subscription.changed.v1')
  onBilling(e: CloudEvent<'cs.billing.subscription.changed.v1'>, ctx: MessageContext): Promise<void> {
    const b = e.data;
    return this.apply(e, ctx, async (m) => {
      await m.query(
        `INSERT INTO ${tableOf(m, BillingFact)} (change_id, account_id, change, effective_at) VALUES ($1, $2, $3, $4) ON CONFLICT (change_id) DO NOTHING`,
        [`${b.sourceId}:${b.changeId}`, e.subject, b.change, b.effectiveAt],
      );
      const arr = b.arr ?? (b.mrr !== undefined ? b.mrr * 12 : undefined);
      if (b.change !== 'payment-failed') await this.profile(m, e.subject, new Date(b.effectiveAt), { plan: b.plan, arr, seats: b.seats });
    });
  }

  @OnEvent('cs.support.ticket.updated.v1')
  onTicket(e: CloudEvent<'cs.support.ticket.updated.v1'>, ctx: MessageContext): Promise<void> {
    const t = e.data;
    const negative = t.satisfaction !== undefined && t.satisfaction <= 2;
    return this.apply(e, ctx, (m) => this.support(m, 'ticket', `${t.sourceId}:${t.ticketId}`, e.subject, t.createdAt, t.reopenedCount, negative, t.updatedAt));
  }

  @OnEvent('cs.support.call.recorded.v1')
  onCall(e: CloudEvent<'cs.support.call.recorded.v1'>, ctx: MessageContext): Promise<void> {
    const c = e.data;
    const negative = c.sentiment !== undefined && c.sentiment <= -0.5;
    return this.apply(e, ctx, (m) => this.support(m, 'call', `${c.sourceId}:${c.contactId}`, e.subject, c.startedAt, 0, negative, c.lastUpdatedAt));
  }

  @OnEvent('cs.survey.answered.v1')
  onSurvey(e: CloudEvent<'cs.survey.answered.v1'>, ctx: MessageContext): Promise<void> {
    const s = e.data;
    return this.apply(e, ctx, (m) =>
      m.query(
        `INSERT INTO ${tableOf(m, SurveyFact)} (response_id, account_id, kind, score, answered_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (response_id) DO NOTHING`,
        [`${s.sourceId}:${s.responseId}`, e.subject, s.kind, s.score, s.answeredAt],
      ),
    );
  }

  private async apply<T extends EventType>(e: CloudEvent<T>, ctx: MessageContext, record: (m: EntityManager) => Promise<unknown>): Promise<void> {
    let emitted = 0;
    await processOnce(this.ds, ctx.group, e, async (m) => {
      await record(m);
      emitted = await this.scorer.rescore(m, [e.subject], e.id);
    });
    if (emitted) this.relay.kick();
  }

  private async product(m: EntityManager, e: CloudEvent<'cs.product.track.v1' | 'cs.product.page.v1' | 'cs.product.screen.v1'>): Promise<void> {
    const d = e.data;
    const at = new Date(d.timestamp);
    const day = utcDay(at);
    await m.query(
      `INSERT INTO ${tableOf(m, AccountDailyActivity)} (account_id, day, events) VALUES ($1, $2, 1)
       ON CONFLICT (account_id, day) DO UPDATE SET events = account_daily_activity.events + 1`,
      [e.subject, day],
    );
    const user = d.userId ? `u:${d.userId}` : d.anonymousId ? `a:${d.anonymousId}` : undefined;
    if (user) {
      await m.query(`INSERT INTO ${tableOf(m, AccountUserDay)} (account_id, day, user_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [e.subject, day, user]);
    }
    if (d.kind === 'track' && d.event) {
      await m.query(
        `INSERT INTO ${tableOf(m, AccountEventUse)} (account_id, event, first_used_at, last_used_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (account_id, event) DO UPDATE SET first_used_at = LEAST(account_event_use.first_used_at, EXCLUDED.first_used_at),
           last_used_at = GREATEST(account_event_use.last_used_at, EXCLUDED.last_used_at)`,
        [e.subject, d.event, at],
      );
    }
  }

  /** Profile fields from directory or billing; an older change never overwrites a newer one. */
  private async profile(
    m: EntityManager,
    accountId: string,
    at: Date,
    p: { name?: string | undefined; plan?: string | undefined; arr?: number | undefined; seats?: number | undefined },
  ): Promise<void> {
    await m.query(
      `INSERT INTO ${tableOf(m, AccountProfile)} AS p (account_id, name, plan, arr, seats_purchased, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id) DO UPDATE SET
         name = COALESCE(EXCLUDED.name, p.name), plan = COALESCE(EXCLUDED.plan, p.plan), arr = COALESCE(EXCLUDED.arr, p.arr),
         seats_purchased = COALESCE(EXCLUDED.seats_purchased, p.seats_purchased), updated_at = EXCLUDED.updated_at
       WHERE p.updated_at <= EXCLUDED.updated_at`,
      [accountId, p.name ?? null, p.plan ?? null, p.arr ?? null, p.seats ?? null, at],
    );
  }

  private async support(m: EntityManager, kind: string, ref: string, accountId: string, openedAt: string, reopened: number, negative: boolean, updatedAt: string): Promise<void> {
    await m.query(
      `INSERT INTO ${tableOf(m, SupportFact)} AS s (kind, ref, account_id, opened_at, reopened_count, negative, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (kind, ref) DO UPDATE SET account_id = EXCLUDED.account_id, opened_at = EXCLUDED.opened_at,
         reopened_count = EXCLUDED.reopened_count, negative = EXCLUDED.negative, updated_at = EXCLUDED.updated_at
       WHERE s.updated_at <= EXCLUDED.updated_at`,
      [kind, ref, accountId, openedAt, reopened, negative, updatedAt],
    );
  }
}
