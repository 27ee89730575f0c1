import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CloudEvent } from '@kizuna/shared/contracts';
import { OnEventBatch, OutboxRelay, type BatchItem } from '@kizuna/shared/messaging';
import { claimInboxMany } from '@kizuna/shared/persistence';
import {
  AccountDailyActivity, AccountEventUse, AccountProfile, AccountSegment, AccountUserDay, BillingFact, EscalationFact, SupportFact, SurveyFact,
} from '@kizuna/health-scoring/data-access';
import { utcDay } from '@kizuna/health-scoring/domain';
import { HealthScorer } from './health-scorer.service';

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;

const PRODUCT_SIGNALS = ['cs.product.track.v1', 'cs.product.page.v1', 'cs.product.screen.v1'] as const;
const HEALTH_SIGNALS = [
  ...PRODUCT_SIGNALS,
  'cs.directory.account.updated.v1',
  'cs.billing.subscription.changed.v1',
  'cs.support.ticket.updated.v1',
  'cs.support.call.recorded.v1',
  'cs.survey.answered.v1',
  'cs.escalation.opened.v1',
  'cs.escalation.assigned.v1',
  'cs.escalation.acknowledged.v1',
  'cs.escalation.reassigned.v1',
  'cs.escalation.resolved.v1',
  'cs.escalation.handed-back.v1',
  'cs.escalation.sla-breached.v1',
  'cs.lifecycle.segment.changed.v1',
] as const;
type ProductSignal = (typeof PRODUCT_SIGNALS)[number];
type HealthSignal = (typeof HEALTH_SIGNALS)[number];
const isProduct = (e: CloudEvent<HealthSignal>): e is CloudEvent<ProductSignal> => (PRODUCT_SIGNALS as readonly string[]).includes(e.type);

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

  /**
   * Applies a run of consecutive events of one partition in one transaction: one inbox claim for all,
   * product facts aggregated into one upsert per table, then one rescore of the distinct accounts, each
   * change continuing the trace of the last event of its account.
   */
  @OnEventBatch(...HEALTH_SIGNALS)
  async onSignals(items: BatchItem<HealthSignal>[]): Promise<void> {
    const group = items[0]?.ctx.group;
    if (!group) return;
    let emitted = 0;
    await this.ds.transaction(async (m) => {
      const fresh = await claimInboxMany(m, group, items.map((i) => i.event));
      const todo: BatchItem<HealthSignal>[] = [];
      for (const i of items) {
        if (!fresh.delete(i.event.id)) continue; // seen before, or twice in this run
        todo.push(i);
      }
      if (todo.length === 0) return;
      const affecting = await this.record(m, todo.map((i) => i.event));
      // Rescore only accounts whose facts may have moved (a lifecycle segment change of another
      // dimension does not), each continuing the trace of its last event.
      const lastOf = new Map(todo.filter((i) => affecting.has(i.event.id)).map((i) => [i.event.subject, i]));
      if (lastOf.size === 0 || this.scorer.scoresOnClockSteps()) return;
      emitted = await this.scorer.rescore(
        m,
        [...lastOf.keys()],
        (a) => lastOf.get(a)?.event.id ?? 'unknown',
        (a) => lastOf.get(a)?.traceContext,
      );
    });
    if (emitted) this.relay.kick();
  }

  /** Stores the facts of a run; returns the ids of the events that can move a score. */
  private async record(m: EntityManager, events: CloudEvent<HealthSignal>[]): Promise<Set<string>> {
    const product: CloudEvent<ProductSignal>[] = [];
    const affecting = new Set<string>();
    for (const e of events) {
      if (isProduct(e)) product.push(e);
      else if (!(await this.recordOne(m, e))) continue;
      affecting.add(e.id);
    }
    await this.products(m, product);
    return affecting;
  }

  /** Stores one non-product fact; false when the event cannot move the score. */
  private async recordOne(m: EntityManager, e: CloudEvent<HealthSignal>): Promise<boolean> {
    if (e.type.startsWith('cs.escalation.')) {
      const x = (e as CloudEvent<'cs.escalation.opened.v1'>).data;
      await m.query(
        `INSERT INTO ${tableOf(m, EscalationFact)} AS f (escalation_id, account_id, reason, state, changed_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (escalation_id) DO UPDATE SET state = EXCLUDED.state, reason = EXCLUDED.reason, changed_at = EXCLUDED.changed_at
         WHERE f.changed_at <= EXCLUDED.changed_at`,
        [x.escalationId, e.subject, x.reason, x.state, x.changedAt],
      );
      return true;
    }
    switch (e.type) {
      case 'cs.lifecycle.segment.changed.v1': {
        const sc = (e as CloudEvent<'cs.lifecycle.segment.changed.v1'>).data;
        if (sc.dimension !== 'contract-size') return false;
        // In partition order, not by date: a lifecycle rebuild restates segments dated in event time,
        // possibly before what it published earlier; its last message is its latest word.
        await m.query(
          `INSERT INTO ${tableOf(m, AccountSegment)} AS s (account_id, contract_size, changed_at) VALUES ($1, $2, $3)
           ON CONFLICT (account_id) DO UPDATE SET contract_size = EXCLUDED.contract_size, changed_at = EXCLUDED.changed_at`,
          [e.subject, sc.to, sc.changedAt],
        );
        return true;
      }
      case 'cs.directory.account.updated.v1': {
        const t = (e as CloudEvent<'cs.directory.account.updated.v1'>).data.traits;
        const arr = t.arr ?? (t.mrr !== undefined ? t.mrr * 12 : undefined);
        const at = new Date((e as CloudEvent<'cs.directory.account.updated.v1'>).data.timestamp);
        await this.profile(m, e.subject, at, { name: t.name, plan: t.plan, arr, seats: t.seatsPurchased, owner: t.ownerCsmEmail?.toLowerCase() });
        return true;
      }
      case 'cs.billing.subscription.changed.v1': {
        const b = (e as CloudEvent<'cs.billing.subscription.changed.v1'>).data;
        await m.query(
          `INSERT INTO ${tableOf(m, BillingFact)} (change_id, account_id, change, effective_at) VALUES ($1, $2, $3, $4) ON CONFLICT (change_id) DO NOTHING`,
          [`${b.sourceId}:${b.changeId}`, e.subject, b.change, b.effectiveAt],
        );
        const arr = b.arr ?? (b.mrr !== undefined ? b.mrr * 12 : undefined);
        if (b.change !== 'payment-failed') await this.profile(m, e.subject, new Date(b.effectiveAt), { plan: b.plan, arr, seats: b.seats });
        return true;
      }
      case 'cs.support.ticket.updated.v1': {
        const t = (e as CloudEvent<'cs.support.ticket.updated.v1'>).data;
        const negative = t.satisfaction !== undefined && t.satisfaction <= 2;
        await this.support(m, 'ticket', `${t.sourceId}:${t.ticketId}`, e.subject, t.createdAt, t.reopenedCount, negative, t.updatedAt);
        return true;
      }
      case 'cs.support.call.recorded.v1': {
        const c = (e as CloudEvent<'cs.support.call.recorded.v1'>).data;
        const negative = c.sentiment !== undefined && c.sentiment <= -0.5;
        await this.support(m, 'call', `${c.sourceId}:${c.contactId}`, e.subject, c.startedAt, 0, negative, c.lastUpdatedAt);
        return true;
      }
      case 'cs.survey.answered.v1': {
        const s = (e as CloudEvent<'cs.survey.answered.v1'>).data;
        await m.query(
          `INSERT INTO ${tableOf(m, SurveyFact)} (response_id, account_id, kind, score, answered_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (response_id) DO NOTHING`,
          [`${s.sourceId}:${s.responseId}`, e.subject, s.kind, s.score, s.answeredAt],
        );
        return true;
      }
      default:
        return false;
    }
  }

  /** Product events, aggregated in memory first: one upsert per table for the whole run. */
  private async products(m: EntityManager, events: CloudEvent<ProductSignal>[]): Promise<void> {
    if (events.length === 0) return;
    const days = new Map<string, { account: string; day: string; events: number }>();
    const userDays = new Map<string, { account: string; day: string; user: string }>();
    const uses = new Map<string, { account: string; event: string; first: Date; last: Date }>();
    for (const e of events) {
      const d = e.data;
      const at = new Date(d.timestamp);
      const day = utcDay(at);
      const dk = `${e.subject}\u0000${day}`;
      const dayRow = days.get(dk);
      if (dayRow) dayRow.events++;
      else days.set(dk, { account: e.subject, day, events: 1 });
      const user = d.userId ? `u:${d.userId}` : d.anonymousId ? `a:${d.anonymousId}` : undefined;
      if (user) userDays.set(`${dk}\u0000${user}`, { account: e.subject, day, user });
      if (d.kind === 'track' && d.event) {
        const uk = `${e.subject}\u0000${d.event}`;
        const use = uses.get(uk);
        if (!use) uses.set(uk, { account: e.subject, event: d.event, first: at, last: at });
        else {
          if (at < use.first) use.first = at;
          if (at > use.last) use.last = at;
        }
      }
    }
    const dayRows = [...days.values()];
    await m.query(
      `INSERT INTO ${tableOf(m, AccountDailyActivity)} (account_id, day, events) SELECT * FROM unnest($1::text[], $2::date[], $3::int[])
       ON CONFLICT (account_id, day) DO UPDATE SET events = account_daily_activity.events + EXCLUDED.events`,
      [dayRows.map((r) => r.account), dayRows.map((r) => r.day), dayRows.map((r) => r.events)],
    );
    if (userDays.size) {
      const rows = [...userDays.values()];
      await m.query(
        `INSERT INTO ${tableOf(m, AccountUserDay)} (account_id, day, user_key) SELECT * FROM unnest($1::text[], $2::date[], $3::text[]) ON CONFLICT DO NOTHING`,
        [rows.map((r) => r.account), rows.map((r) => r.day), rows.map((r) => r.user)],
      );
    }
    if (uses.size) {
      const rows = [...uses.values()];
      await m.query(
        `INSERT INTO ${tableOf(m, AccountEventUse)} (account_id, event, first_used_at, last_used_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
         ON CONFLICT (account_id, event) DO UPDATE SET first_used_at = LEAST(account_event_use.first_used_at, EXCLUDED.first_used_at),
           last_used_at = GREATEST(account_event_use.last_used_at, EXCLUDED.last_used_at)`,
        [rows.map((r) => r.account), rows.map((r) => r.event), rows.map((r) => r.first), rows.map((r) => r.last)],
      );
    }
  }

  /** Profile fields from directory or billing; an older change never overwrites a newer one. */
  private async profile(
    m: EntityManager,
    accountId: string,
    at: Date,
    p: { name?: string | undefined; plan?: string | undefined; arr?: number | undefined; seats?: number | undefined; owner?: string | undefined },
  ): Promise<void> {
    await m.query(
      `INSERT INTO ${tableOf(m, AccountProfile)} AS p (account_id, name, plan, arr, seats_purchased, owner_csm_email, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (account_id) DO UPDATE SET
         name = COALESCE(EXCLUDED.name, p.name), plan = COALESCE(EXCLUDED.plan, p.plan), arr = COALESCE(EXCLUDED.arr, p.arr),
         seats_purchased = COALESCE(EXCLUDED.seats_purchased, p.seats_purchased),
         owner_csm_email = COALESCE(EXCLUDED.owner_csm_email, p.owner_csm_email), updated_at = EXCLUDED.updated_at
       WHERE p.updated_at <= EXCLUDED.updated_at`,
      [accountId, p.name ?? null, p.plan ?? null, p.arr ?? null, p.seats ?? null, p.owner ?? null, at],
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
