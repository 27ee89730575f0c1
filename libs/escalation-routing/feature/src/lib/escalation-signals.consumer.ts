import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { EventHeader, type CloudEvent, type EventType } from '@kizuna/shared/contracts';
import { type BatchItem, InLane, type MessageContext, OnEvent, OnEventBatch, OnlyIf, OutboxRelay } from '@kizuna/shared/messaging';
import { processOnce, projectHealth, queryRows } from '@kizuna/shared/persistence';
import { AccountContextRow, SupportContact } from '@kizuna/escalation-routing/data-access';
import { expansionProductEvents, inExpansionEvents, type IncomingSignal, type SupportContactFact } from '@kizuna/escalation-routing/domain';
import { EscalationEngine } from './escalation-engine.service';
import { RulesStore } from './rules-store.service';

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;

/** The stored contact as the upsert returns it; `newest`: the version just received is the newest seen. */
interface ContactRow {
  kind: string;
  ref: string;
  category: string | null;
  tags: string[];
  subject: string | null;
  sentiment: number | null;
  satisfaction: number | null;
  needs_cs: boolean;
  occurred_at: Date;
  newest: boolean;
}

interface ContactUpsert {
  kind: 'ticket' | 'call';
  ref: string;
  accountId: string;
  category: string | null;
  tags: string[];
  subject: string | null;
  channel: string | null;
  status: string | null;
  priority: string | null;
  sentiment: number | null;
  satisfaction: number | null;
  needsCs: boolean;
  occurredAt: string;
  updatedAt: string;
  firstResponseAt: string | null;
  resolvedAt: string | null;
}

/**
 * Consumes what escalation rules evaluate and what their context shows: support contacts, surveys,
 * expansion product signals, and the account's directory, health and lifecycle projections. Each
 * event's effect, the escalations it opens or extends and their events share one transaction
 * (inbox + outbox).
 */
@Injectable()
export class EscalationSignalsConsumer {
  constructor(
    private readonly ds: DataSource,
    private readonly engine: EscalationEngine,
    private readonly rules: RulesStore,
    private readonly relay: OutboxRelay,
  ) {}

  private async apply<T extends EventType>(e: CloudEvent<T>, ctx: MessageContext, effect: (m: EntityManager) => Promise<number | void>): Promise<void> {
    let emitted = 0;
    await processOnce(this.ds, ctx.group, e, async (m) => {
      emitted = (await effect(m)) ?? 0;
    });
    if (emitted) this.relay.kick();
  }

  @OnEvent('cs.health.score.changed.v1')
  onHealth(e: CloudEvent<'cs.health.score.changed.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, async (m) => {
      await projectHealth(m, e);
      // The engagement part of this change joins those of the last 28 days (older ones dropped).
      const engagement = e.data.topMovers.filter((x) => x.component === 'engagement').reduce((s, x) => s + x.deltaPoints, 0);
      await m.query(
        `INSERT INTO ${tableOf(m, AccountContextRow)} AS c (account_id, top_movers, health_at, engagement_changes)
         VALUES ($1, $2, $3, jsonb_build_array(jsonb_build_object('at', $3::timestamptz, 'delta', $4::float8)))
         ON CONFLICT (account_id) DO UPDATE SET top_movers = EXCLUDED.top_movers, health_at = EXCLUDED.health_at,
           engagement_changes = COALESCE((SELECT jsonb_agg(x) FROM jsonb_array_elements(c.engagement_changes) x
                                           WHERE (x->>'at')::timestamptz > EXCLUDED.health_at - interval '28 days'), '[]'::jsonb) || EXCLUDED.engagement_changes
         WHERE c.health_at IS NULL OR c.health_at <= EXCLUDED.health_at`,
        [e.subject, JSON.stringify(e.data.topMovers), e.data.computedAt, engagement],
      );
    });
  }

  @OnEvent('cs.directory.account.updated.v1')
  onAccount(e: CloudEvent<'cs.directory.account.updated.v1'>, ctx: MessageContext): Promise<void> {
    const t = e.data.traits;
    const arr = t.arr ?? (t.mrr !== undefined ? t.mrr * 12 : null);
    return this.apply(e, ctx, async (m) => {
      await m.query(
        `INSERT INTO ${tableOf(m, AccountContextRow)} AS c (account_id, name, arr, region, owner_csm_email, plan, directory_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (account_id) DO UPDATE SET name = COALESCE(EXCLUDED.name, c.name), arr = COALESCE(EXCLUDED.arr, c.arr),
           region = COALESCE(EXCLUDED.region, c.region), owner_csm_email = COALESCE(EXCLUDED.owner_csm_email, c.owner_csm_email),
           plan = COALESCE(EXCLUDED.plan, c.plan), directory_at = EXCLUDED.directory_at
         WHERE c.directory_at IS NULL OR c.directory_at <= EXCLUDED.directory_at`,
        [e.subject, t.name ?? null, arr, t.region ?? null, t.ownerCsmEmail?.toLowerCase() ?? null, t.plan ?? null, e.data.timestamp],
      );
    });
  }

  /**
   * Lifecycle's projections (phase, touch model, usage status, stall) follow the order of the
   * account's partition, not the dates in the events: lifecycle publishes an account's outputs in
   * order, and when a late signal makes it rebuild the account it restates transitions dated in event
   * time, possibly before what it published earlier (an imported history: "onboarding" and "dormant"
   * reported on a partial history, then "adoption" and "active" dated months back). The last message
   * is lifecycle's latest word; redeliveries are stopped by the inbox. Leaving onboarding ends a stall.
   */
  @OnEvent('cs.lifecycle.phase.changed.v1')
  onPhase(e: CloudEvent<'cs.lifecycle.phase.changed.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, (m) =>
      m.query(
        `INSERT INTO ${tableOf(m, AccountContextRow)} AS c (account_id, phase, phase_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET phase = EXCLUDED.phase, phase_at = EXCLUDED.phase_at,
           onboarding_stalled_at = CASE WHEN EXCLUDED.phase <> 'onboarding' THEN NULL ELSE c.onboarding_stalled_at END`,
        [e.subject, e.data.to, e.data.changedAt],
      ),
    );
  }

  @OnEvent('cs.lifecycle.touch-model.changed.v1')
  onTouchModel(e: CloudEvent<'cs.lifecycle.touch-model.changed.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, (m) =>
      m.query(
        `INSERT INTO ${tableOf(m, AccountContextRow)} AS c (account_id, touch_model, touch_model_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET touch_model = EXCLUDED.touch_model, touch_model_at = EXCLUDED.touch_model_at`,
        [e.subject, e.data.to, e.data.changedAt],
      ),
    );
  }

  @OnEvent('cs.lifecycle.segment.changed.v1')
  async onSegment(e: CloudEvent<'cs.lifecycle.segment.changed.v1'>, ctx: MessageContext): Promise<void> {
    if (e.data.dimension !== 'usage-status') return; // other segments are not used here
    return this.apply(e, ctx, (m) =>
      m.query(
        `INSERT INTO ${tableOf(m, AccountContextRow)} AS c (account_id, usage_status, usage_status_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET usage_status = EXCLUDED.usage_status, usage_status_at = EXCLUDED.usage_status_at`,
        [e.subject, e.data.to, e.data.changedAt],
      ),
    );
  }

  @OnEvent('cs.lifecycle.onboarding.stalled.v1')
  onOnboardingStalled(e: CloudEvent<'cs.lifecycle.onboarding.stalled.v1'>, ctx: MessageContext): Promise<void> {
    return this.apply(e, ctx, (m) =>
      m.query(
        `INSERT INTO ${tableOf(m, AccountContextRow)} AS c (account_id, onboarding_stalled_at) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET onboarding_stalled_at = EXCLUDED.onboarding_stalled_at
         WHERE c.phase IS NULL OR c.phase = 'onboarding'`,
        [e.subject, e.data.detectedAt],
      ),
    );
  }

  /**
   * Only expansion signals matter here. Every other product event is passed over by its
   * `kizuna-product-event` header, unparsed (OnlyIf), or, without the header, skipped here without
   * touching the database. Runs of consecutive product events of a partition come at once (one
   * consumer span per run instead of one per event: the product stream is most of what this service
   * reads); each expansion signal is applied in order in its own inbox transaction, so a run retried
   * one event at a time after a failure applies nothing twice.
   */
  @OnEventBatch('cs.product.track.v1')
  @InLane('product')
  @OnlyIf((self: EscalationSignalsConsumer, header) => self.mayBeExpansionSignal(header(EventHeader.productEvent)))
  async onTracks(items: BatchItem<'cs.product.track.v1'>[]): Promise<void> {
    const names = expansionProductEvents(await this.rules.current());
    for (const { event: e, ctx } of items) {
      if (!inExpansionEvents(names, e.data.event)) continue;
      const signal: IncomingSignal = { kind: 'product', ref: `${e.data.sourceId}:${e.data.messageId}`, event: e.data.event ?? '', at: new Date(e.data.timestamp) };
      await this.apply(e, ctx, (m) => this.engine.applySignal(m, e.subject, signal));
    }
  }

  /** A product event's name from its header: false only when the rules in force surely ignore it. */
  mayBeExpansionSignal(name: string | undefined): boolean {
    const names = this.rules.expansionEvents();
    return name === undefined || names === undefined || inExpansionEvents(names, name);
  }

  @OnEvent('cs.survey.answered.v1')
  onSurvey(e: CloudEvent<'cs.survey.answered.v1'>, ctx: MessageContext): Promise<void> {
    const s = e.data;
    const signal: IncomingSignal = { kind: 'survey', responseId: s.responseId, surveyKind: s.kind, score: s.score, comment: s.comment ?? null, answeredAt: new Date(s.answeredAt) };
    return this.apply(e, ctx, (m) => this.engine.applySignal(m, e.subject, signal));
  }

  @OnEvent('cs.support.ticket.updated.v1')
  onTicket(e: CloudEvent<'cs.support.ticket.updated.v1'>, ctx: MessageContext): Promise<void> {
    const t = e.data;
    const responded = t.status !== 'new' && t.updatedAt > t.createdAt;
    return this.contact(e, ctx, {
      kind: 'ticket', ref: t.ticketId, accountId: e.subject, category: t.category ?? t.tags[0] ?? null, tags: t.tags, subject: t.subject ?? null,
      channel: t.channel, status: t.status, priority: t.priority, sentiment: null, satisfaction: t.satisfaction ?? null, needsCs: t.needsCs,
      occurredAt: t.createdAt, updatedAt: t.updatedAt,
      firstResponseAt: responded ? t.updatedAt : null,
      resolvedAt: t.status === 'solved' || t.status === 'closed' ? t.updatedAt : null,
    });
  }

  @OnEvent('cs.support.call.recorded.v1')
  onCall(e: CloudEvent<'cs.support.call.recorded.v1'>, ctx: MessageContext): Promise<void> {
    const c = e.data;
    const text = [c.queue && `queue ${c.queue}`, c.disposition && `disposition ${c.disposition}`, c.callbackRequested && 'callback requested'].filter(Boolean).join(', ');
    return this.contact(e, ctx, {
      kind: 'call', ref: c.contactId, accountId: e.subject, category: c.reasonCode ?? null, tags: [], subject: text || null,
      channel: 'phone', status: c.endedAt ? 'ended' : 'in-progress', priority: null, sentiment: c.sentiment ?? null, satisfaction: null, needsCs: c.needsCs,
      occurredAt: c.startedAt, updatedAt: c.lastUpdatedAt, firstResponseAt: c.startedAt, resolvedAt: c.endedAt ?? null,
    });
  }

  /**
   * Keeps the newest version of the contact, then evaluates the rules on it (an older version changes
   * nothing). One statement: the newest version's fields win (`newest` says whether that is this one),
   * first response and resolution are the earliest seen whatever the arrival order, and the stored
   * contact comes back for the rules.
   */
  private contact(e: CloudEvent, ctx: MessageContext, c: ContactUpsert): Promise<void> {
    return this.apply(e, ctx, async (m) => {
      const table = tableOf(m, SupportContact);
      const newer = 's.updated_at <= EXCLUDED.updated_at';
      const latest = (col: string) => `${col} = CASE WHEN ${newer} THEN EXCLUDED.${col} ELSE s.${col} END`;
      const [stored] = await queryRows<ContactRow>(
        m,
        `INSERT INTO ${table} AS s (kind, ref, account_id, category, tags, subject, channel, status, priority, sentiment, satisfaction, needs_cs,
                                     occurred_at, updated_at, first_response_at, resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (kind, ref) DO UPDATE SET
           ${['account_id', 'category', 'tags', 'subject', 'channel', 'status', 'priority', 'sentiment', 'satisfaction', 'needs_cs', 'occurred_at', 'updated_at'].map(latest).join(', ')},
           first_response_at = LEAST(s.first_response_at, EXCLUDED.first_response_at), resolved_at = LEAST(s.resolved_at, EXCLUDED.resolved_at)
         RETURNING kind, ref, category, tags, subject, sentiment::float8 AS sentiment, satisfaction, needs_cs, occurred_at, updated_at = $14::timestamptz AS newest`,
        [c.kind, c.ref, c.accountId, c.category, c.tags, c.subject, c.channel, c.status, c.priority, c.sentiment, c.satisfaction, c.needsCs,
          c.occurredAt, c.updatedAt, c.firstResponseAt, c.resolvedAt],
      );
      if (!stored?.newest) return 0;
      const contact: SupportContactFact = {
        kind: stored.kind === 'call' ? 'call' : 'ticket', ref: stored.ref, category: stored.category, tags: stored.tags, occurredAt: stored.occurred_at,
        subject: stored.subject, sentiment: stored.sentiment, satisfaction: stored.satisfaction, needsCs: stored.needs_cs,
      };
      return this.engine.applySignal(m, c.accountId, { kind: 'contact', contact });
    });
  }
}
