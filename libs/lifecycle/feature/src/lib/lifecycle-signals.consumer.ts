import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CloudEvent } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { OnEventBatch, OutboxRelay, PermanentError, type BatchItem } from '@kizuna/shared/messaging';
import { claimInboxMany, projectHealth } from '@kizuna/shared/persistence';
import { SurveyAnswerRow } from '@kizuna/lifecycle/data-access';
import { keyed, milestoneEvents, type KeyedSignal, type LifecycleRules } from '@kizuna/lifecycle/domain';
import { LifecycleConfig, parseResetEvents } from './lifecycle.config';
import { LifecycleEngine, type ProfileExtras } from './lifecycle-engine.service';
import { LifecycleRulesStore } from './lifecycle-rules.store';

const PRODUCT_TYPES = ['cs.product.track.v1', 'cs.product.page.v1', 'cs.product.screen.v1'] as const;
const LIFECYCLE_INPUTS = [
  ...PRODUCT_TYPES,
  'cs.directory.account.updated.v1',
  'cs.directory.user.identified.v1',
  'cs.billing.subscription.changed.v1',
  'cs.survey.answered.v1',
  'cs.health.score.changed.v1',
] as const;
type ProductType = (typeof PRODUCT_TYPES)[number];
type InputType = (typeof LIFECYCLE_INPUTS)[number];
type Effect = (m: EntityManager) => Promise<number>;
const isProduct = (e: CloudEvent<InputType>): e is CloudEvent<ProductType> => (PRODUCT_TYPES as readonly string[]).includes(e.type);

/** Keeps, per key, the signal a stored one would keep: the earliest for ":first", the latest for ":last". */
function mergeSignal(into: Map<string, KeyedSignal>, s: KeyedSignal): void {
  const had = into.get(s.key);
  if (!had) {
    into.set(s.key, s);
    return;
  }
  if (s.key.endsWith(':first') ? s.signal.at < had.signal.at : s.key.endsWith(':last') ? s.signal.at > had.signal.at : false) into.set(s.key, s);
}

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

  /**
   * A run of consecutive events of one partition in one transaction: one inbox claim; product events
   * merged per account (only the earliest and latest of each day, and of each milestone event per day,
   * can matter) and applied with one engine call per account; every other event applied on its own.
   * The machine is order-tolerant (event time decides), so this gives what one event at a time would.
   */
  @OnEventBatch(...LIFECYCLE_INPUTS)
  async onSignals(items: BatchItem<InputType>[]): Promise<void> {
    const group = items[0]?.ctx.group;
    if (!group) return;
    const { rules } = await this.rules.current();
    let emitted = 0;
    await this.ds.transaction(async (m) => {
      const fresh = await claimInboxMany(m, group, items.map((i) => i.event));
      const product = new Map<string, Map<string, KeyedSignal>>();
      for (const { event: e } of items) {
        if (!fresh.delete(e.id)) continue; // seen before, or twice in this run
        if (isProduct(e)) {
          const merged = product.get(e.subject) ?? new Map<string, KeyedSignal>();
          for (const sig of this.productSignals(e, rules)) mergeSignal(merged, sig);
          product.set(e.subject, merged);
        } else {
          emitted += await this.effectOf(e)(m);
        }
      }
      // In account order: concurrent runs (other partitions and topics) then lock accounts in one order.
      for (const accountId of [...product.keys()].sort()) {
        emitted += await this.engine.process(m, accountId, [...(product.get(accountId)?.values() ?? [])]);
      }
    });
    if (emitted) this.relay.kick();
  }

  private onAccount(e: CloudEvent<'cs.directory.account.updated.v1'>): Effect {
    const d = e.data;
    const t = d.traits;
    const arr = t.arr ?? (t.mrr !== undefined ? t.mrr * 12 : undefined);
    const signal = this.signal(`dir:${d.sourceId}:${d.messageId}`, {
      type: 'account-updated',
      at: d.timestamp,
      traits: { arr, plan: t.plan, seats: t.seatsPurchased, industry: t.industry, region: t.region, renewalDate: t.renewalDate, contractStart: t.contractStart },
    });
    const extras: ProfileExtras = { at: new Date(d.timestamp).toISOString(), name: t.name, ownerCsmEmail: t.ownerCsmEmail };
    return (m) => this.engine.process(m, e.subject, [signal], extras);
  }

  /** A user identified with an admin role: the account's admin; a different, later one restarts onboarding. */
  private onIdentify(e: CloudEvent<'cs.directory.user.identified.v1'>): Effect {
    const d = e.data;
    const role = d.traits['role'];
    const user = d.userId ?? d.anonymousId;
    if (typeof role !== 'string' || !this.adminRoles.has(role.toLowerCase()) || !user) {
      return async () => 0;
    }
    const signal = this.signal(`admin:${user}:first`, { type: 'reset', at: d.timestamp, reason: 'admin-changed' });
    return (m) => this.engine.process(m, e.subject, [signal]);
  }

  private onBilling(e: CloudEvent<'cs.billing.subscription.changed.v1'>): Effect {
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
    return (m) => this.engine.process(m, e.subject, [signal]);
  }

  private onSurvey(e: CloudEvent<'cs.survey.answered.v1'>): Effect {
    const s = e.data;
    const key = `${s.sourceId}:${s.responseId}`;
    const signal = this.signal(`survey:${key}`, { type: 'survey-answered', at: s.answeredAt, kind: s.kind, score: s.score });
    return async (m) => {
      await m.query(
        `INSERT INTO ${m.connection.getMetadata(SurveyAnswerRow).tablePath} (response_key, account_id, kind, score, answered_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (response_key) DO NOTHING`,
        [key, e.subject, s.kind, s.score, s.answeredAt],
      );
      return this.engine.process(m, e.subject, [signal]);
    };
  }

  private onHealth(e: CloudEvent<'cs.health.score.changed.v1'>): Effect {
    const signal = this.signal(`health:${e.id}`, { type: 'health-changed', at: e.data.computedAt, band: e.data.band });
    return async (m) => {
      await projectHealth(m, e);
      return this.engine.process(m, e.subject, [signal]);
    };
  }

  /**
   * Product activity, compressed: the first and the last event of each UTC day (usage status),
   * the first and last of each milestone event per day (onboarding), and reset events.
   */
  private productSignals(e: CloudEvent<ProductType>, rules: LifecycleRules): KeyedSignal[] {
    const d = e.data;
    const name = d.kind === 'track' ? d.event : d.name;
    const activity = { type: 'product-activity' as const, at: d.timestamp, event: name ?? d.kind, ...(d.userId ? { userId: d.userId } : {}) };
    const day = new Date(d.timestamp).toISOString().slice(0, 10);
    const signals: KeyedSignal[] = [this.signal(`act:${day}:first`, activity), this.signal(`act:${day}:last`, activity)];
    if (d.kind === 'track' && d.event && milestoneEvents(rules).has(d.event)) {
      signals.push(this.signal(`ms:${d.event}:${day}:first`, activity), this.signal(`ms:${d.event}:${day}:last`, activity));
    }
    const reset = d.kind === 'track' && d.event ? this.resetEvents.get(d.event) : undefined;
    if (reset !== undefined) signals.push(this.signal(`reset:${d.sourceId}:${d.messageId}`, { type: 'reset', at: d.timestamp, reason: reset }));
    return signals;
  }

  private effectOf(e: CloudEvent<InputType>): Effect {
    switch (e.type) {
      case 'cs.directory.account.updated.v1':
        return this.onAccount(e as CloudEvent<'cs.directory.account.updated.v1'>);
      case 'cs.directory.user.identified.v1':
        return this.onIdentify(e as CloudEvent<'cs.directory.user.identified.v1'>);
      case 'cs.billing.subscription.changed.v1':
        return this.onBilling(e as CloudEvent<'cs.billing.subscription.changed.v1'>);
      case 'cs.survey.answered.v1':
        return this.onSurvey(e as CloudEvent<'cs.survey.answered.v1'>);
      case 'cs.health.score.changed.v1':
        return this.onHealth(e as CloudEvent<'cs.health.score.changed.v1'>);
      default:
        return async () => 0;
    }
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

}
