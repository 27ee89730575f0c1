import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CloudEvent, EventType } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { OnEvent, OutboxRelay, PermanentError, type MessageContext } from '@kizuna/shared/messaging';
import { processOnce, projectHealth } from '@kizuna/shared/persistence';
import { SurveyAnswerRow } from '@kizuna/lifecycle/data-access';
import { keyed, milestoneEvents, type KeyedSignal } from '@kizuna/lifecycle/domain';
import { LifecycleConfig, parseResetEvents } from './lifecycle.config';
import { LifecycleEngine, type ProfileExtras } from './lifecycle-engine.service';
import { LifecycleRulesStore } from './lifecycle-rules.store';

type ProductType = 'cs.product.track.v1' | 'cs.product.page.v1' | 'cs.product.screen.v1';

/**
 * Turns other services' facts into lifecycle signals, each under a natural key (so the same fact
 * sent twice is one signal), and hands them to the engine in the inbox transaction.
 */
@Injectable()
export class LifecycleSignalsConsumer {
  private readonly config = loadConfig(LifecycleConfig);
  private readonly resetEvents = parseResetEvents(this.config.LIFECYCLE_RESET_EVENTS);
  private readonly adminRoles = new Set(this.config.LIFECYCLE_ADMIN_ROLES.split(',').map((r) => r.trim().toLowerCase()).filter(Boolean));

  constructor(
    private readonly ds: DataSource,
    private readonly engine: LifecycleEngine,
    private readonly rules: LifecycleRulesStore,
    private readonly relay: OutboxRelay,
  ) {}

  @OnEvent('cs.product.track.v1')
  onTrack(e: CloudEvent<'cs.product.track.v1'>, ctx: MessageContext): Promise<void> {
    return this.product(e, ctx);
  }

  @OnEvent('cs.product.page.v1')
  onPage(e: CloudEvent<'cs.product.page.v1'>, ctx: MessageContext): Promise<void> {
    return this.product(e, ctx);
  }

  @OnEvent('cs.product.screen.v1')
  onScreen(e: CloudEvent<'cs.product.screen.v1'>, ctx: MessageContext): Promise<void> {
    return this.product(e, ctx);
  }

  @OnEvent('cs.directory.account.updated.v1')
  onAccount(e: CloudEvent<'cs.directory.account.updated.v1'>, ctx: MessageContext): Promise<void> {
    const d = e.data;
    const t = d.traits;
    const arr = t.arr ?? (t.mrr !== undefined ? t.mrr * 12 : undefined);
    const signal = this.signal(`dir:${d.sourceId}:${d.messageId}`, {
      type: 'account-updated',
      at: d.timestamp,
      traits: { arr, plan: t.plan, seats: t.seatsPurchased, industry: t.industry, region: t.region, renewalDate: t.renewalDate, contractStart: t.contractStart },
    });
    const extras: ProfileExtras = { at: new Date(d.timestamp).toISOString(), name: t.name, ownerCsmEmail: t.ownerCsmEmail };
    return this.apply(e, ctx, (m) => this.engine.process(m, e.subject, [signal], extras));
  }

  /** A user identified with an admin role: the account's admin; a different, later one restarts onboarding. */
  @OnEvent('cs.directory.user.identified.v1')
  onIdentify(e: CloudEvent<'cs.directory.user.identified.v1'>, ctx: MessageContext): Promise<void> {
    const d = e.data;
    const role = d.traits['role'];
    const user = d.userId ?? d.anonymousId;
    if (typeof role !== 'string' || !this.adminRoles.has(role.toLowerCase()) || !user) {
      return this.apply(e, ctx, async () => 0);
    }
    const signal = this.signal(`admin:${user}:first`, { type: 'reset', at: d.timestamp, reason: 'admin-changed' });
    return this.apply(e, ctx, (m) => this.engine.process(m, e.subject, [signal]));
  }

  @OnEvent('cs.billing.subscription.changed.v1')
  onBilling(e: CloudEvent<'cs.billing.subscription.changed.v1'>, ctx: MessageContext): Promise<void> {
    const b = e.data;
    const signal = this.signal(`bill:${b.sourceId}:${b.changeId}`, {
      type: 'subscription-changed',
      // When billing recorded the change (the envelope's time); it takes effect at effectiveAt.
      at: e.time,
      change: b.change,
      effectiveAt: b.effectiveAt,
      seats: b.seats,
      arr: b.arr ?? (b.mrr !== undefined ? b.mrr * 12 : undefined),
      plan: b.plan,
      renewalDate: b.change === 'cancelled' ? undefined : b.termEnd,
    });
    return this.apply(e, ctx, (m) => this.engine.process(m, e.subject, [signal]));
  }

  @OnEvent('cs.survey.answered.v1')
  onSurvey(e: CloudEvent<'cs.survey.answered.v1'>, ctx: MessageContext): Promise<void> {
    const s = e.data;
    const key = `${s.sourceId}:${s.responseId}`;
    const signal = this.signal(`survey:${key}`, { type: 'survey-answered', at: s.answeredAt, kind: s.kind, score: s.score });
    return this.apply(e, ctx, async (m) => {
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(SurveyAnswerRow).tablePath} (response_key, account_id, kind, score, answered_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (response_key) DO NOTHING`,
        [key, e.subject, s.kind, s.score, s.answeredAt],
      );
      return this.engine.process(m, e.subject, [signal]);
    });
  }

  @OnEvent('cs.health.score.changed.v1')
  onHealth(e: CloudEvent<'cs.health.score.changed.v1'>, ctx: MessageContext): Promise<void> {
    const signal = this.signal(`health:${e.id}`, { type: 'health-changed', at: e.data.computedAt, band: e.data.band });
    return this.apply(e, ctx, async (m) => {
      await projectHealth(m, e);
      return this.engine.process(m, e.subject, [signal]);
    });
  }

  /**
   * Product activity, compressed: the first and the last event of each UTC day (usage status),
   * the first and last of each milestone event per day (onboarding), and reset events.
   */
  private async product(e: CloudEvent<ProductType>, ctx: MessageContext): Promise<void> {
    const d = e.data;
    const name = d.kind === 'track' ? d.event : d.name;
    const activity = { type: 'product-activity' as const, at: d.timestamp, event: name ?? d.kind, ...(d.userId ? { userId: d.userId } : {}) };
    const day = new Date(d.timestamp).toISOString().slice(0, 10);
    const { rules } = await this.rules.current();
    const signals: KeyedSignal[] = [this.signal(`act:${day}:first`, activity), this.signal(`act:${day}:last`, activity)];
    if (d.kind === 'track' && d.event && milestoneEvents(rules).has(d.event)) {
      signals.push(this.signal(`ms:${d.event}:${day}:first`, activity), this.signal(`ms:${d.event}:${day}:last`, activity));
    }
    const reset = d.kind === 'track' && d.event ? this.resetEvents.get(d.event) : undefined;
    if (reset !== undefined) signals.push(this.signal(`reset:${d.sourceId}:${d.messageId}`, { type: 'reset', at: d.timestamp, reason: reset }));
    return this.apply(e, ctx, (m) => this.engine.process(m, e.subject, signals));
  }

  /** A signal checked by the machine's own rules; an unusable one is a permanent error (dead letter). */
  private signal(key: string, raw: Record<string, unknown>): KeyedSignal {
    const clean = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
    if (clean['traits']) clean['traits'] = Object.fromEntries(Object.entries(clean['traits'] as object).filter(([, v]) => v !== undefined));
    try {
      return keyed(key, clean as unknown as KeyedSignal['signal']);
    } catch (err) {
      throw new PermanentError(`unusable lifecycle signal ${key}: ${(err as Error).message}`);
    }
  }

  private async apply<T extends EventType>(e: CloudEvent<T>, ctx: MessageContext, effect: (m: EntityManager) => Promise<number>): Promise<void> {
    let emitted = 0;
    await processOnce(this.ds, ctx.group, e, async (m) => {
      emitted = await effect(m);
    });
    if (emitted) this.relay.kick();
  }
}
