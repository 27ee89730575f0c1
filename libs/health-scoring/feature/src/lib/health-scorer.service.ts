import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { trace, type Context } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import { CLOCK, ContractSize, Topics, type Clock, type HealthBand, isSteppedClock } from '@kizuna/shared/contracts';

const CONTRACT_SIZES: string[] = Object.values(ContractSize);
import { loadConfig } from '@kizuna/shared/config';
import { EventPublisher } from '@kizuna/shared/messaging';
import { enqueueOutbox } from '@kizuna/shared/persistence';
import { AccountHealth, fromStoredFeatures, HealthChange, loadAccountFacts, toStoredFeatures } from '@kizuna/health-scoring/data-access';
import {
  contractSize, deriveFeatures, scoreAccount, scorecardForSegment, topMovers, type AccountFeatures, type HealthScore, type Scorecard,
} from '@kizuna/health-scoring/domain';
import { HealthConfig } from './health.config';
import { ScorecardStore } from './scorecard-store.service';

export interface Scored {
  accountId: string;
  segment: string | null;
  features: AccountFeatures;
  health: HealthScore & { score: number; band: HealthBand };
}

interface Emitted {
  score: number;
  band: HealthBand;
}

interface CurrentRow {
  account_id: string;
  /** As stored: float8[] in STORED_FEATURE_ORDER. */
  features: (number | null)[];
  scorecard_id: string;
  scorecard_version: number;
  computed_at: Date;
  emitted_score: string | null;
  emitted_band: HealthBand | null;
}

/**
 * Recomputes accounts' health from their stored facts (set-based, many accounts per statement),
 * keeps the current score with the features it was computed from (the explanation is recomputed from
 * them on read: scoring is pure and scorecard versions are immutable), and emits
 * `cs.health.score.changed.v1` (through the outbox, with the top movers and the scorecard version)
 * when the score moved by at least HEALTH_MIN_DELTA points since the last emitted one, or the band
 * changed.
 */
@Injectable()
export class HealthScorer {
  private readonly config = loadConfig(HealthConfig);

  constructor(
    private readonly store: ScorecardStore,
    private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * True while a simulation steps the clock and HEALTH_SCORE_ON_CLOCK_STEPS is set: events only record
   * facts, and the sweep scores every account once per closed stage (see HealthConfig).
   */
  scoresOnClockSteps(): boolean {
    return this.config.HEALTH_SCORE_ON_CLOCK_STEPS && isSteppedClock(this.clock) && this.clock.step() !== undefined;
  }

  /** The explanation of a stored score: the stored features under the scorecard version it used. */
  async explain(row: Pick<AccountHealth, 'features' | 'scorecardId' | 'scorecardVersion' | 'computedAt'>): Promise<HealthScore> {
    return scoreAccount(row.features, await this.store.version(row.scorecardId, row.scorecardVersion), row.computedAt);
  }

  private scoreFacts(accountIds: string[], facts: Awaited<ReturnType<typeof loadAccountFacts>>, scorecards: Scorecard[], now: Date): Scored[] {
    const scored: Scored[] = [];
    for (const accountId of accountIds) {
      const f = facts.get(accountId);
      if (!f?.facts.anyActivity) continue;
      // Lifecycle's contract-size segment when it has decided one; else derived here from ARR and plan.
      const decided = f.profile.segment && CONTRACT_SIZES.includes(f.profile.segment) ? f.profile.segment : undefined;
      const segment = decided ?? contractSize(f.profile, { enterpriseArr: this.config.HEALTH_ENTERPRISE_ARR }) ?? null;
      const features = deriveFeatures(f.facts, now);
      const health = scoreAccount(features, scorecardForSegment(scorecards, segment ?? undefined), now);
      if (health.score === null || health.band === null) continue;
      scored.push({ accountId, segment, features, health: health as Scored['health'] });
    }
    return scored;
  }

  /**
   * Rescores the accounts inside the caller's transaction; returns how many changes were emitted.
   * `cause` names what triggered each account's rescore (an event id, "sweep", a backfill); `traceOf`
   * gives the trace each account's change continues (the event that caused it), else the current one.
   */
  async rescore(
    m: EntityManager,
    accountIds: string[],
    cause: string | ((accountId: string) => string),
    traceOf?: (accountId: string) => Context | undefined,
  ): Promise<number> {
    const causeOf = typeof cause === 'string' ? () => cause : cause;
    if (accountIds.length === 0) return 0;
    // Partitions (and topics) are processed concurrently, so two transactions may rescore one account at
    // once. Each waits for the account's lock before reading its facts: the one that scores last sees
    // every fact committed before it. Locks in hash order, so two transactions never wait on each other.
    await m.query(
      `SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtextextended('health:' || a, 0) AS k FROM unnest($1::text[]) AS a ORDER BY 1) s`,
      [accountIds],
    );
    const now = this.clock.now();
    const { scorecards, settings } = await this.store.current();
    const facts = await loadAccountFacts(m, accountIds, now, settings);
    const healthTable = m.connection.getMetadata(AccountHealth).tablePath;
    const changeTable = m.connection.getMetadata(HealthChange).tablePath;
    // Locked (in key order, as a backfill's range statement takes them) so that a backfill applying a
    // range at the same time either waits for this transaction or is waited for: the last emitted score
    // compared against below is then the one consumers saw last.
    const current: CurrentRow[] = await m.query(
      `SELECT account_id, features, scorecard_id, scorecard_version, computed_at, emitted_score, emitted_band FROM ${healthTable}
        WHERE account_id = ANY($1::text[]) ORDER BY account_id FOR UPDATE`,
      [accountIds],
    );
    const previous = new Map(current.map((r) => [r.account_id, r]));
    const emittedOf = (accountId: string): Emitted | undefined => {
      const r = previous.get(accountId);
      return r?.emitted_band ? { score: Number(r.emitted_score), band: r.emitted_band } : undefined;
    };

    const scored = this.scoreFacts(accountIds, facts, scorecards, now);
    if (scored.length === 0) return 0;

    const changed = new Set(
      scored
        .filter((s) => {
          const last = emittedOf(s.accountId);
          return !last || last.band !== s.health.band || Math.abs(last.score - s.health.score) >= this.config.HEALTH_MIN_DELTA;
        })
        .map((s) => s.accountId),
    );
    // One JSON document for the whole run (jsonb_to_recordset): cheaper to build and to send than
    // one array parameter per column.
    await m.query(
      `INSERT INTO ${healthTable} (account_id, score, band, scorecard_id, scorecard_version, computed_at, last_event_id, segment, features, emitted_score, emitted_band)
       SELECT a, s, b, sc, v, $2::timestamptz, c, seg, f, es, eb
         FROM jsonb_to_recordset($1::jsonb) AS x(a text, s numeric, b text, sc text, v int, c text, seg text, f float8[], es numeric, eb text)
       ON CONFLICT (account_id) DO UPDATE SET score = EXCLUDED.score, band = EXCLUDED.band, scorecard_id = EXCLUDED.scorecard_id,
         scorecard_version = EXCLUDED.scorecard_version, computed_at = EXCLUDED.computed_at, last_event_id = EXCLUDED.last_event_id,
         segment = EXCLUDED.segment, features = EXCLUDED.features, emitted_score = EXCLUDED.emitted_score, emitted_band = EXCLUDED.emitted_band`,
      [
        JSON.stringify(
          scored.map((s) => {
            const last = changed.has(s.accountId) ? { score: s.health.score, band: s.health.band } : emittedOf(s.accountId);
            return {
              a: s.accountId, s: s.health.score, b: s.health.band, sc: s.health.scorecardId, v: s.health.scorecardVersion, c: causeOf(s.accountId),
              seg: s.segment, f: toStoredFeatures(s.features), es: last?.score ?? null, eb: last?.band ?? null,
            };
          }),
        ),
        now,
      ],
    );

    const changes = scored.filter((s) => changed.has(s.accountId));
    if (changes.length === 0) return 0;
    const events = await Promise.all(
      changes.map(async (c) => {
        const last = emittedOf(c.accountId);
        const before = previous.get(c.accountId);
        const movers = topMovers(
          before
            ? await this.explain({ features: fromStoredFeatures(before.features), scorecardId: before.scorecard_id, scorecardVersion: before.scorecard_version, computedAt: before.computed_at })
            : undefined,
          c.health,
        );
        return {
          change: c,
          last,
          movers,
          envelope: this.publisher.envelope({
            type: 'cs.health.score.changed.v1',
            subject: c.accountId,
            id: randomUUID(),
            data: {
              score: c.health.score,
              band: c.health.band,
              previousScore: last?.score ?? null,
              previousBand: last?.band ?? null,
              scorecardId: c.health.scorecardId,
              scorecardVersion: c.health.scorecardVersion,
              topMovers: movers,
              computedAt: now.toISOString(),
            },
          }),
        };
      }),
    );
    await m.query(
      `INSERT INTO ${changeTable} (account_id, event_id, score, band, previous_score, previous_band, scorecard_id, scorecard_version, movers, computed_at)
       SELECT a, e, s, b, ps, pb, sc, v, mv, $2::timestamptz
         FROM jsonb_to_recordset($1::jsonb) AS x(a text, e text, s numeric, b text, ps numeric, pb text, sc text, v int, mv json)`,
      [
        JSON.stringify(
          events.map((e) => ({
            a: e.change.accountId, e: e.envelope.id, s: e.change.health.score, b: e.change.health.band, ps: e.last?.score ?? null, pb: e.last?.band ?? null,
            sc: e.change.health.scorecardId, v: e.change.health.scorecardVersion, mv: e.movers,
          })),
        ),
        now,
      ],
    );
    await enqueueOutbox(
      m,
      events.map((e) => ({ topic: Topics.health, event: e.envelope, traceContext: traceOf?.(e.change.accountId) })),
    );
    if (changes.length === 1 && events[0]) {
      const e = events[0];
      trace.getActiveSpan()?.setAttributes({
        'kizuna.band_before': e.last?.band ?? 'none',
        'kizuna.band_after': e.change.health.band,
        'kizuna.scorecard': `${e.change.health.scorecardId}@${e.change.health.scorecardVersion}`,
      });
    }
    return changes.length;
  }
}
