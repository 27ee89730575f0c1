import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { CLOCK, Topics, isSteppedClock, type Clock, type CloudEvent } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { EventPublisher } from '@kizuna/shared/messaging';
import { enqueueOutbox, queryRows } from '@kizuna/shared/persistence';
import { AccountLifecycle, AccountMrrChange, LifecycleSignalRow, LifecycleTransition } from '@kizuna/lifecycle/data-access';
import {
  advanceTo, applyInOrder, compareKeyed, initialAccountState, isAfterHorizon, mrrOf, nextTimeBoundary, replay,
  type AccountLifecycleState, type Horizon, type KeyedSignal, type LifecycleOutput, type LifecycleRules, type TimelineResult,
} from '@kizuna/lifecycle/domain';
import { LifecycleRulesStore } from './lifecycle-rules.store';
import { LifecycleConfig } from './lifecycle.config';

const tableOf = (m: EntityManager, e: new () => unknown) => m.connection.getMetadata(e).tablePath;

/** Profile fields kept beside the machine (latest by `at`). */
export interface ProfileExtras {
  at: string;
  name?: string | undefined;
  ownerCsmEmail?: string | undefined;
}

/** A deterministic UUID (v5 layout) from the parts: the same fact always gets the same event id. */
export function deterministicId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = (8 | (parseInt(h.charAt(16), 16) & 3)).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface TransitionRow {
  type: LifecycleOutput['type'];
  kind: string;
  dimension: string | null;
  from: string | null;
  to: string | null;
  at: string;
  cause: string | null;
  eventId: string;
  data: Record<string, unknown>;
}

/** An output as a stored transition and the payload it is emitted with (with its cause). */
export function transitionOf(accountId: string, o: LifecycleOutput, rules: LifecycleRules): TransitionRow {
  const id = (...parts: string[]) => deterministicId('kizuna/lifecycle', accountId, o.type, ...parts);
  switch (o.type) {
    case 'cs.lifecycle.phase.changed.v1':
    case 'cs.lifecycle.touch-model.changed.v1': {
      const d = o.data;
      const kind = o.type === 'cs.lifecycle.phase.changed.v1' ? 'phase' : 'touch-model';
      return { type: o.type, kind, dimension: null, from: d.from, to: d.to, at: d.changedAt, cause: d.cause, eventId: id(String(d.from), d.to, d.changedAt), data: { ...d } };
    }
    case 'cs.lifecycle.segment.changed.v1': {
      const d = o.data;
      return { type: o.type, kind: 'segment', dimension: d.dimension, from: d.from, to: d.to, at: d.changedAt, cause: d.cause, eventId: id(d.dimension, String(d.from), d.to, d.changedAt), data: { ...d } };
    }
    case 'cs.lifecycle.renewal-window.opened.v1': {
      const d = o.data;
      const cause = `renewal-window: renewal on ${d.renewalDate}; the window opens ${rules.renewal.windowDays} days before it`;
      return { type: o.type, kind: 'renewal-window', dimension: null, from: null, to: d.renewalDate, at: d.openedAt, cause, eventId: id(d.renewalDate), data: { ...d, cause } };
    }
    case 'cs.lifecycle.onboarding.stalled.v1': {
      const d = o.data;
      const cause = `onboarding-stalled: milestone '${d.milestone}' was due at ${d.dueAt} and is not done; missing ${d.missing.map((x) => `'${x}'`).join(', ')}`;
      return { type: o.type, kind: 'onboarding-stalled', dimension: d.milestone, from: null, to: d.dueAt, at: d.detectedAt, cause, eventId: id(d.milestone, d.dueAt), data: { ...d, cause } };
    }
  }
}

interface StoredAccount {
  state: AccountLifecycleState;
  horizon: Horizon;
}

/**
 * Wires the pure lifecycle timeline to Postgres and the outbox. For each account, in the
 * caller's transaction: logs the new signals (natural keys, so redeliveries change nothing),
 * applies them when they come after the account's horizon, or rebuilds the account from its whole
 * signal log when one arrives out of order; stores state, transitions (event time) and MRR
 * changes; emits each new output once, under a deterministic event id.
 */
@Injectable()
export class LifecycleEngine {
  private readonly config = loadConfig(LifecycleConfig);

  constructor(
    private readonly rulesStore: LifecycleRulesStore,
    private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * The stage a simulation is in (count of stages closed) while it steps the clock and
   * LIFECYCLE_EVALUATE_ON_CLOCK_STEPS is set; undefined otherwise (signals are applied as they come).
   */
  stagedStep(): number | undefined {
    return this.config.LIFECYCLE_EVALUATE_ON_CLOCK_STEPS && isSteppedClock(this.clock) ? this.clock.step() : undefined;
  }

  /**
   * Records and applies an account's new signals; returns how many events were emitted. While a
   * simulation steps the clock (see {@link stagedStep}) it only logs them, stamped with the stage, and
   * marks the account for {@link applyStaged}.
   */
  async process(m: EntityManager, accountId: string, signals: KeyedSignal[], extras?: ProfileExtras): Promise<number> {
    const { rules } = await this.rulesStore.current();
    const stored = await this.load(m, accountId);
    const step = this.stagedStep();
    if (step !== undefined) {
      const logged = await this.logSignals(m, accountId, signals, step);
      if (logged.length) {
        await m.query(`UPDATE ${tableOf(m, AccountLifecycle)} SET pending_step = LEAST(COALESCE(pending_step, $2), $2) WHERE account_id = $1`, [accountId, step]);
      }
      if (extras) await this.saveExtras(m, accountId, extras);
      return 0;
    }
    const changed = await this.logSignals(m, accountId, signals);
    if (changed.length === 0) {
      if (extras) await this.saveExtras(m, accountId, extras);
      return 0;
    }
    let applicable = changed;
    let mustReplay = false;
    const admins = changed.filter((s) => s.key.startsWith('admin:'));
    if (admins.length > 0) {
      // The first admin ever seen is no change of admin; a later one is (see effectiveSignals).
      const all = await queryRows<{ key: string; signal: KeyedSignal['signal'] }>(
        m,
        `SELECT key, signal FROM ${tableOf(m, LifecycleSignalRow)} WHERE account_id = $1 AND key LIKE 'admin:%'`,
        [accountId],
      );
      const first = all.map((r) => ({ key: r.key, signal: r.signal })).sort(compareKeyed)[0];
      if (first && admins.some((a) => a.key === first.key)) {
        applicable = changed.filter((s) => s.key !== first.key);
        mustReplay = all.length > 1;
      }
    }
    const horizon = stored.horizon;
    let result: TimelineResult;
    let rewrite = false;
    if (!mustReplay && applicable.every((s) => isAfterHorizon(s, horizon))) {
      if (applicable.length === 0) {
        if (extras) await this.saveExtras(m, accountId, extras);
        return 0;
      }
      result = applyInOrder(stored.state, horizon, applicable, rules);
    } else {
      const rows = await queryRows<{ key: string; signal: KeyedSignal['signal'] }>(
        m,
        `SELECT key, signal FROM ${tableOf(m, LifecycleSignalRow)} WHERE account_id = $1`,
        [accountId],
      );
      result = replay(accountId, effectiveSignals(rows.map((r) => ({ key: r.key, signal: r.signal }))), rules, horizon.at);
      rewrite = true;
    }
    return this.save(m, accountId, result, rules, rewrite, extras);
  }

  /** Accounts with signals logged before stage `step` and not yet applied, in account order (see {@link applyStaged}). */
  async stagedAccounts(m: EntityManager, step: number): Promise<string[]> {
    const rows = await queryRows<{ account_id: string }>(m, `SELECT account_id FROM ${tableOf(m, AccountLifecycle)} WHERE pending_step < $1 ORDER BY account_id`, [step]);
    return rows.map((r) => r.account_id);
  }

  /**
   * At the close of stage `step`: applies an account's signals logged in an earlier stage and not yet
   * applied, never those of stage `step` or later (they arrived after the close, e.g. health changes
   * the close itself caused: the next close applies them, whether they came before this or after it).
   * All after the account's horizon: applied on from its state, in the canonical order; else (or an
   * admin change) the account is rebuilt from its log. Returns how many events were emitted.
   */
  async applyStaged(m: EntityManager, accountId: string, step: number): Promise<number> {
    const { rules } = await this.rulesStore.current();
    // The consumer's lock: a signal logged meanwhile waits for this rebuild, or this one for it.
    await m.query(`SELECT pg_advisory_xact_lock(hashtextextended('lifecycle:' || $1, 0))`, [accountId]);
    const stored = await this.load(m, accountId);
    const [{ pending_step: since } = { pending_step: null }] = await queryRows<{ pending_step: number | null }>(
      m,
      `SELECT pending_step FROM ${tableOf(m, AccountLifecycle)} WHERE account_id = $1`,
      [accountId],
    );
    // Not applied yet: the signals logged (or changed) since the last close that applied this account.
    const fresh = (
      await queryRows<{ key: string; signal: KeyedSignal['signal'] }>(
        m,
        `SELECT key, signal FROM ${tableOf(m, LifecycleSignalRow)} WHERE account_id = $1 AND step >= $2 AND step < $3`,
        [accountId, since ?? step, step],
      )
    ).map((r) => ({ key: r.key, signal: r.signal }));
    let emitted: number;
    if (fresh.every((x) => !x.key.startsWith('admin:') && isAfterHorizon(x, stored.horizon))) {
      // All after what was applied: on from the stored state, in the canonical order (as a rebuild would).
      emitted = fresh.length ? await this.save(m, accountId, applyInOrder(stored.state, stored.horizon, fresh, rules), rules, false) : 0;
    } else {
      const rows = await queryRows<{ key: string; signal: KeyedSignal['signal'] }>(
        m,
        `SELECT key, signal FROM ${tableOf(m, LifecycleSignalRow)} WHERE account_id = $1 AND (step IS NULL OR step < $2)`,
        [accountId, step],
      );
      emitted = await this.save(m, accountId, replay(accountId, effectiveSignals(rows.map((r) => ({ key: r.key, signal: r.signal }))), rules, stored.horizon.at), rules, true);
    }
    await m.query(
      `UPDATE ${tableOf(m, AccountLifecycle)} SET pending_step = (SELECT min(step) FROM ${tableOf(m, LifecycleSignalRow)} WHERE account_id = $1 AND step >= $2) WHERE account_id = $1`,
      [accountId, step],
    );
    return emitted;
  }

  /** Moves accounts through their due time boundaries up to the clock (the scheduled tick). */
  async advance(m: EntityManager, limit: number): Promise<{ accounts: number; emitted: number }> {
    const now = this.clock.now().toISOString();
    const { rules } = await this.rulesStore.current();
    const rows = await queryRows<{ account_id: string; state: AccountLifecycleState; horizon_key: string | null }>(
      m,
      `SELECT account_id, state, horizon_key FROM ${tableOf(m, AccountLifecycle)}
        WHERE next_due_at <= $1 ORDER BY next_due_at, account_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    let emitted = 0;
    for (const r of rows) {
      const horizon = { at: r.state.evaluatedAt, key: r.horizon_key };
      emitted += await this.save(m, r.account_id, advanceTo(r.state, horizon, now, rules), rules, false);
    }
    return { accounts: rows.length, emitted };
  }

  /**
   * The account's state, its row locked for this transaction. The row is created (empty state)
   * when missing, in the same statement, so two instances consuming the same account's topics
   * (different partitions) serialise on it instead of overwriting each other.
   */
  private async load(m: EntityManager, accountId: string): Promise<StoredAccount> {
    const rows = await queryRows<{ state: AccountLifecycleState; horizon_key: string | null }>(
      m,
      `INSERT INTO ${tableOf(m, AccountLifecycle)} AS a (account_id, state, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (account_id) DO UPDATE SET account_id = a.account_id
       RETURNING state, horizon_key`,
      [accountId, JSON.stringify(initialAccountState(accountId)), this.clock.now()],
    );
    const row = rows[0] as { state: AccountLifecycleState; horizon_key: string | null };
    return { state: row.state, horizon: { at: row.state.evaluatedAt, key: row.horizon_key } };
  }

  /**
   * Upserts the signals into the log; returns those that changed it. Keys ending in `:first`
   * keep the earliest instant, `:last` the latest; any other key is written once.
   */
  private async logSignals(m: EntityManager, accountId: string, signals: KeyedSignal[], step: number | null = null): Promise<KeyedSignal[]> {
    if (signals.length === 0) return [];
    const byKey = new Map(signals.map((s) => [s.key, s]));
    const list = [...byKey.values()];
    const rows = await queryRows<{ key: string }>(
      m,
      `INSERT INTO ${tableOf(m, LifecycleSignalRow)} AS s (account_id, key, at, signal, step)
       SELECT $1, k, a, g, $5 FROM unnest($2::text[], $3::timestamptz[], $4::jsonb[]) AS u(k, a, g)
       ON CONFLICT (account_id, key) DO UPDATE SET at = EXCLUDED.at, signal = EXCLUDED.signal, step = EXCLUDED.step
        WHERE (s.key LIKE '%:first' AND EXCLUDED.at < s.at) OR (s.key LIKE '%:last' AND EXCLUDED.at > s.at)
       RETURNING key`,
      [accountId, list.map((s) => s.key), list.map((s) => s.signal.at), list.map((s) => JSON.stringify(s.signal)), step],
    );
    const changed = new Set(rows.map((r) => r.key));
    return list.filter((s) => changed.has(s.key));
  }

  private async saveExtras(m: EntityManager, accountId: string, extras: ProfileExtras): Promise<void> {
    await m.query(
      `UPDATE ${tableOf(m, AccountLifecycle)} SET name = COALESCE($2, name), owner_csm_email = COALESCE($3, owner_csm_email), profile_at = $4
        WHERE account_id = $1 AND (profile_at IS NULL OR profile_at <= $4)`,
      [accountId, extras.name ?? null, extras.ownerCsmEmail ?? null, extras.at],
    );
  }

  private async save(m: EntityManager, accountId: string, r: TimelineResult, rules: LifecycleRules, rewrite: boolean, extras?: ProfileExtras): Promise<number> {
    const s = r.state;
    const next = s.evaluatedAt === null ? null : nextTimeBoundary(s, rules, s.evaluatedAt);
    const hasExtras = extras !== undefined && (extras.name !== undefined || extras.ownerCsmEmail !== undefined);
    await m.query(
      `INSERT INTO ${tableOf(m, AccountLifecycle)} AS a (account_id, state, phase, touch_model, segments, renewal_date, onboarding_started_at, mrr,
         horizon_at, horizon_key, next_due_at, name, owner_csm_email, profile_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (account_id) DO UPDATE SET state = EXCLUDED.state, phase = EXCLUDED.phase, touch_model = EXCLUDED.touch_model,
         segments = EXCLUDED.segments, renewal_date = EXCLUDED.renewal_date, onboarding_started_at = EXCLUDED.onboarding_started_at,
         mrr = EXCLUDED.mrr, horizon_at = EXCLUDED.horizon_at, horizon_key = EXCLUDED.horizon_key, next_due_at = EXCLUDED.next_due_at,
         updated_at = EXCLUDED.updated_at,
         name = CASE WHEN EXCLUDED.profile_at IS NOT NULL AND (a.profile_at IS NULL OR a.profile_at <= EXCLUDED.profile_at) THEN COALESCE(EXCLUDED.name, a.name) ELSE a.name END,
         owner_csm_email = CASE WHEN EXCLUDED.profile_at IS NOT NULL AND (a.profile_at IS NULL OR a.profile_at <= EXCLUDED.profile_at)
                                THEN COALESCE(EXCLUDED.owner_csm_email, a.owner_csm_email) ELSE a.owner_csm_email END,
         profile_at = GREATEST(a.profile_at, EXCLUDED.profile_at)`,
      [
        accountId, JSON.stringify(s), s.phase, s.touchModel, JSON.stringify(s.segments), s.profile.renewalDate?.value ?? null, s.onboardingStartedAt,
        mrrOf(s), s.evaluatedAt, r.horizon.key, next, hasExtras ? (extras?.name ?? null) : null, hasExtras ? (extras?.ownerCsmEmail ?? null) : null,
        hasExtras ? extras?.at : null, this.clock.now(),
      ],
    );

    const transitionTable = tableOf(m, LifecycleTransition);
    const mrrTable = tableOf(m, AccountMrrChange);
    const rows = r.emitted.map((o) => transitionOf(accountId, o, rules));
    if (rewrite) {
      await m.query(`DELETE FROM ${transitionTable} WHERE account_id = $1 AND NOT (event_id = ANY($2::text[]))`, [accountId, rows.map((x) => x.eventId)]);
      await m.query(`DELETE FROM ${mrrTable} WHERE account_id = $1`, [accountId]);
    }
    const lastByAt = new Map(r.mrr.map((x) => [x.at, x.mrr]));
    if (lastByAt.size > 0) {
      await m.query(
        `INSERT INTO ${mrrTable} (account_id, at, mrr) SELECT $1, * FROM unnest($2::timestamptz[], $3::numeric[])
         ON CONFLICT (account_id, at) DO UPDATE SET mrr = EXCLUDED.mrr`,
        [accountId, [...lastByAt.keys()], [...lastByAt.values()]],
      );
    }
    if (rows.length === 0) return 0;
    const inserted = await queryRows<{ event_id: string }>(
      m,
      `INSERT INTO ${transitionTable} (account_id, kind, dimension, from_value, to_value, at, cause, event_id, data)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::jsonb[])
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [
        accountId, rows.map((x) => x.kind), rows.map((x) => x.dimension), rows.map((x) => x.from), rows.map((x) => x.to), rows.map((x) => x.at),
        rows.map((x) => x.cause), rows.map((x) => x.eventId), rows.map((x) => JSON.stringify(x.data)),
      ],
    );
    const fresh = new Set(inserted.map((x) => x.event_id));
    const events = rows
      .filter((x) => fresh.has(x.eventId))
      .map((x) => ({
        topic: Topics.lifecycle,
        event: this.publisher.envelope({ type: x.type, subject: accountId, id: x.eventId, time: x.at, data: x.data as never }) as CloudEvent,
      }));
    await enqueueOutbox(m, events, { skipDuplicates: true });
    return events.length;
  }
}

/** The signals the machine sees from the log: every admin identified but the first is a change of admin (a reset). */
export function effectiveSignals(rows: KeyedSignal[]): KeyedSignal[] {
  const admins = rows.filter((r) => r.key.startsWith('admin:')).sort(compareKeyed);
  const first = admins[0];
  return first ? rows.filter((r) => r.key !== first.key) : rows;
}
