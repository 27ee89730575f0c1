import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { EventHeader, RecentCache, type CloudEvent } from '@kizuna/shared/contracts';
import { type BatchItem, InLane, type MessageContext, OnEvent, OnEventBatch, OnlyIf } from '@kizuna/shared/messaging';
import { processOnce, projectHealth } from '@kizuna/shared/persistence';
import { AccountContact, AccountDirectory, AccountFeatureUse } from '@kizuna/notification/data-access';
import { noticesFor, ruleSet, type AccountFacts } from '@kizuna/notification/domain';
import { DeliveryWorker } from './delivery-worker.service';
import { NotificationPlanner } from './notification-planner.service';
import { NotificationSettings } from './notification-settings.service';
import { PlayRunner } from './play-runner.service';

/** The `stored` key of an account's use of a feature (an account id alone has no NUL). */
const useKey = (accountId: string, feature: string | undefined) => `${accountId}\u0000${feature}`;

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;
const isEscalation = (e: CloudEvent): e is CloudEvent<'cs.escalation.assigned.v1'> => e.type.startsWith('cs.escalation.');

/** A contact is an admin when identify traits say so: `role`/`roles` naming admin, or `admin`/`isAdmin` true. */
export function isAdminContact(traits: Record<string, unknown>): boolean {
  const roles = [traits['role'], ...(Array.isArray(traits['roles']) ? traits['roles'] : [])].filter((r): r is string => typeof r === 'string');
  return traits['admin'] === true || traits['isAdmin'] === true || roles.some((r) => /admin|owner/i.test(r));
}

/**
 * Turns escalation, health and lifecycle events into notifications (trigger rules as data), and keeps
 * the projections it needs: account name, owner, touch model and segments, admin contacts, features
 * used. Each event's notifications and deliveries are written in the inbox transaction, then the
 * delivery worker is woken.
 */
@Injectable()
export class NotificationSignalsConsumer {
  constructor(
    private readonly ds: DataSource,
    private readonly settings: NotificationSettings,
    private readonly planner: NotificationPlanner,
    private readonly plays: PlayRunner,
    private readonly worker: DeliveryWorker,
  ) {}

  @OnEvent('cs.escalation.assigned.v1')
  onAssigned(e: CloudEvent<'cs.escalation.assigned.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx);
  }

  @OnEvent('cs.escalation.sla-breached.v1')
  onSlaBreached(e: CloudEvent<'cs.escalation.sla-breached.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx);
  }

  @OnEvent('cs.escalation.reassigned.v1')
  onReassigned(e: CloudEvent<'cs.escalation.reassigned.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx);
  }

  @OnEvent('cs.health.score.changed.v1')
  onHealth(e: CloudEvent<'cs.health.score.changed.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx, (m) => projectHealth(m, e));
  }

  @OnEvent('cs.lifecycle.renewal-window.opened.v1')
  onRenewal(e: CloudEvent<'cs.lifecycle.renewal-window.opened.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx);
  }

  @OnEvent('cs.lifecycle.onboarding.stalled.v1')
  onStalled(e: CloudEvent<'cs.lifecycle.onboarding.stalled.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx, undefined, (m) => this.plays.onOnboardingStalled(m, e.subject, e.id, e.data.milestone));
  }

  @OnEvent('cs.lifecycle.touch-model.changed.v1')
  onTouchModel(e: CloudEvent<'cs.lifecycle.touch-model.changed.v1'>, ctx: MessageContext): Promise<void> {
    return this.notify(e, ctx, (m) => this.upsertAccount(m, e.subject, e.data.changedAt, { touch_model: e.data.to }));
  }

  @OnEvent('cs.lifecycle.segment.changed.v1')
  async onSegment(e: CloudEvent<'cs.lifecycle.segment.changed.v1'>, ctx: MessageContext): Promise<void> {
    await processOnce(this.ds, ctx.group, e, async (m) => {
      await this.upsertAccount(m, e.subject, e.data.changedAt, {});
      await m.query(`UPDATE ${tableOf(m, AccountDirectory)} SET segments = segments || jsonb_build_object($2::text, $3::text) WHERE account_id = $1`, [
        e.subject, e.data.dimension, e.data.to,
      ]);
    });
  }

  @OnEvent('cs.directory.account.updated.v1')
  async onAccount(e: CloudEvent<'cs.directory.account.updated.v1'>, ctx: MessageContext): Promise<void> {
    const t = e.data.traits;
    await processOnce(this.ds, ctx.group, e, async (m) => {
      await this.upsertAccount(m, e.subject, e.data.timestamp, {});
      // Newer directory facts win; a trait absent from the call keeps its value.
      await m.query(
        `UPDATE ${tableOf(m, AccountDirectory)} SET name = COALESCE($2, name), owner_email = COALESCE($3, owner_email), directory_at = $4
          WHERE account_id = $1 AND (directory_at IS NULL OR directory_at <= $4)`,
        [e.subject, t.name ?? null, t.ownerCsmEmail?.toLowerCase() ?? null, new Date(e.data.timestamp)],
      );
    });
  }

  @OnEvent('cs.directory.user.identified.v1')
  async onUser(e: CloudEvent<'cs.directory.user.identified.v1'>, ctx: MessageContext): Promise<void> {
    const traits = e.data.traits;
    const email = typeof traits['email'] === 'string' && /^[^\s@]+@[^\s@]+$/.test(traits['email']) ? traits['email'] : undefined;
    const userId = e.data.userId ?? e.data.anonymousId;
    if (!email || !userId) return;
    const name = typeof traits['name'] === 'string' ? traits['name'] : [traits['firstName'], traits['lastName']].filter((x) => typeof x === 'string').join(' ') || null;
    const role = typeof traits['role'] === 'string' ? traits['role'] : null;
    await processOnce(this.ds, ctx.group, e, async (m) => {
      await this.upsertAccount(m, e.subject, e.data.timestamp, {});
      await m.query(
        `INSERT INTO ${tableOf(m, AccountContact)} (account_id, user_id, email, name, role, is_admin, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (account_id, user_id) DO UPDATE SET email = EXCLUDED.email, name = COALESCE(EXCLUDED.name, ${tableOf(m, AccountContact)}.name),
           role = COALESCE(EXCLUDED.role, ${tableOf(m, AccountContact)}.role), is_admin = EXCLUDED.is_admin, updated_at = EXCLUDED.updated_at
         WHERE ${tableOf(m, AccountContact)}.updated_at <= EXCLUDED.updated_at`,
        [e.subject, userId, email, name, role, isAdminContact(traits), new Date(e.data.timestamp)],
      );
    });
  }

  /**
   * Times this instance knows the tables hold at or before: account -> first_seen_at and
   * account + feature -> first_used_at, in ms. Both columns only ever move earlier, so a product event
   * no earlier than what is known here changes nothing and needs no statement: the product stream is
   * mostly accounts using features they used before.
   */
  private readonly stored = new RecentCache<number>(200_000, 7 * 86_400_000);

  /**
   * Features used (feature-adoption plays): a run of consecutive product events of a partition,
   * merged per account and per (account, feature) first (the earliest time wins, as one event at a
   * time would leave it); what could still move a stored time earlier goes in one transaction, two
   * multi-row upserts in key order, so that runs of other partitions lock the same rows in the same
   * order. Naturally idempotent: no inbox row per product event. One transaction per event could not
   * keep up with the product stream, and the escalation events behind it in the same fetches waited
   * for it.
   */
  @OnEventBatch('cs.product.track.v1')
  @InLane('product')
  @OnlyIf((self: NotificationSignalsConsumer, header, key) => self.mayMoveFirstUse(key, header(EventHeader.productEvent), header(EventHeader.productTime)))
  async onTracks(items: BatchItem<'cs.product.track.v1'>[]): Promise<void> {
    const now = Date.now();
    const firstSeen = new Map<string, number>();
    const firstUse = new Map<string, { accountId: string; feature: string | undefined; at: number }>();
    for (const { event: e } of items) {
      const at = new Date(e.data.timestamp).getTime();
      if (!(at >= (this.stored.get(e.subject, now) ?? Infinity))) firstSeen.set(e.subject, Math.min(at, firstSeen.get(e.subject) ?? at));
      const key = useKey(e.subject, e.data.event);
      if (at >= (this.stored.get(key, now) ?? Infinity)) continue;
      const use = firstUse.get(key);
      if (!use || at < use.at) firstUse.set(key, { accountId: e.subject, feature: e.data.event, at });
    }
    if (!firstSeen.size && !firstUse.size) return;
    const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const accounts = [...firstSeen.keys()].sort(byKey);
    const uses = [...firstUse.values()].sort((a, b) => byKey(a.accountId, b.accountId) || byKey(a.feature ?? '', b.feature ?? ''));
    await this.ds.transaction(async (m) => {
      const t = tableOf(m, AccountDirectory);
      if (accounts.length) {
        await m.query(
          `INSERT INTO ${t} AS d (account_id, first_seen_at, touch_model, segments)
           SELECT a, s, NULL, '{}' FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS u(a, s, i) ORDER BY i
           ON CONFLICT (account_id) DO UPDATE SET first_seen_at = EXCLUDED.first_seen_at WHERE EXCLUDED.first_seen_at < d.first_seen_at`,
          [accounts, accounts.map((a) => new Date(firstSeen.get(a) as number))],
        );
      }
      if (uses.length) {
        const f = tableOf(m, AccountFeatureUse);
        await m.query(
          `INSERT INTO ${f} AS f (account_id, feature, first_used_at)
           SELECT a, x, s FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS u(a, x, s, i) ORDER BY i
           ON CONFLICT (account_id, feature) DO UPDATE SET first_used_at = EXCLUDED.first_used_at WHERE EXCLUDED.first_used_at < f.first_used_at`,
          [uses.map((u) => u.accountId), uses.map((u) => u.feature), uses.map((u) => new Date(u.at))],
        );
      }
    });
    // Committed: the tables now hold these times or earlier ones.
    for (const [a, at] of firstSeen) this.stored.set(a, at, now);
    for (const [key, u] of firstUse) this.stored.set(key, u.at, now);
  }

  /**
   * From a product event's key and headers: false when the account and its use of the feature are
   * both known from no later than the event (it would change nothing; passed over unparsed).
   */
  mayMoveFirstUse(accountId: string | null, feature: string | undefined, time: string | undefined): boolean {
    if (accountId === null || feature === undefined || time === undefined) return true;
    const at = Date.parse(time);
    const now = Date.now();
    return !(at >= (this.stored.get(accountId, now) ?? Infinity) && at >= (this.stored.get(useKey(accountId, feature), now) ?? Infinity));
  }

  /** Applies `project` and plans the event's notifications (and plays) in the inbox transaction. */
  private async notify(
    e: CloudEvent,
    ctx: MessageContext,
    project?: (m: EntityManager) => Promise<void>,
    more?: (m: EntityManager) => Promise<number>,
  ): Promise<void> {
    let planned = 0;
    // E-mails due now are sent by this instance right after the commit, without a claim.
    const { handOff, commit, cancel } = this.worker.handOff();
    try {
      await processOnce(this.ds, ctx.group, e, async (m) => {
        await project?.(m);
        const rules = ruleSet((await this.settings.triggerRules()).value);
        // Escalation events carry their people and context; the directory is read when a rule wants the
        // owner, or when the event has no account name: escalation-routing may have opened it from a
        // ticket it processed before the account's directory event (another topic), while this
        // service's projection already has the name.
        const needsAccount =
          !isEscalation(e) || !e.data.context.accountName || [...rules.values()].some((r) => r.enabled && r.recipients.includes('owner'));
        const notices = noticesFor(e, rules, needsAccount ? await this.accountFacts(m, e.subject) : {});
        planned = await this.planner.planNotices(m, notices, handOff);
        planned += (await more?.(m)) ?? 0;
      });
    } catch (err) {
      cancel();
      throw err;
    }
    commit();
    if (planned) this.worker.kick();
  }

  private async accountFacts(m: EntityManager, accountId: string): Promise<AccountFacts> {
    const a = await m.getRepository(AccountDirectory).findOneBy({ accountId });
    if (!a) return {};
    if (!a.ownerEmail) return { name: a.name };
    const r = await this.planner.recipientFor(m, { id: a.ownerEmail, email: a.ownerEmail });
    return { name: a.name, owner: { id: r?.csmId ?? a.ownerEmail, email: a.ownerEmail, ...(r?.name ? { name: r.name } : {}) } };
  }

  private async upsertAccount(m: EntityManager, accountId: string, at: string, cols: { touch_model?: string }): Promise<void> {
    const t = tableOf(m, AccountDirectory);
    await m.query(
      `INSERT INTO ${t} (account_id, first_seen_at, touch_model, segments) VALUES ($1, $2, $3, '{}')
       ON CONFLICT (account_id) DO UPDATE SET first_seen_at = LEAST(${t}.first_seen_at, EXCLUDED.first_seen_at),
         touch_model = COALESCE(EXCLUDED.touch_model, ${t}.touch_model)`,
      [accountId, new Date(at), cols.touch_model ?? null],
    );
  }
}

