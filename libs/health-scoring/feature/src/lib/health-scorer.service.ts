import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { trace, type Context } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import { CLOCK, ContractSize, Topics, type Clock, type HealthBand } from '@kizuna/shared/contracts';

const CONTRACT_SIZES: string[] = Object.values(ContractSize);
import { loadConfig } from '@kizuna/shared/config';
import { EventPublisher } from '@kizuna/shared/messaging';
import { enqueueOutbox } from '@kizuna/shared/persistence';
import { AccountHealth, HealthChange, loadAccountFacts } from '@kizuna/health-scoring/data-access';
import {
  contractSize, deriveFeatures, scoreAccount, scorecardForSegment, topMovers, type HealthScore, type Scorecard,
} from '@kizuna/health-scoring/domain';
import { HealthConfig } from './health.config';
import { ScorecardStore } from './scorecard-store.service';

export interface Scored {
  accountId: string;
  segment: string | null;
  health: HealthScore & { score: number; band: HealthBand };
}

interface Emitted {
  score: number;
  band: HealthBand;
}

/**
 * Recomputes accounts' health from their stored facts (set-based, many accounts per statement),
 * keeps the current score with its full explanation, and emits `cs.health.score.changed.v1`
 * (through the outbox, with the top movers and the scorecard version) when the score moved by at
 * least HEALTH_MIN_DELTA points since the last emitted one, or the band changed.
 */
@Injectable()
export class HealthScorer {
  private readonly config = loadConfig(HealthConfig);

  constructor(
    private readonly store: ScorecardStore,
    private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Scores accounts from their facts without writing anything (dry runs). */
  async preview(m: EntityManager, accountIds: string[]): Promise<Scored[]> {
    const now = this.clock.now();
    const { scorecards, settings } = await this.store.current();
    return this.scoreFacts(accountIds, await loadAccountFacts(m, accountIds, now, settings), scorecards, now);
  }

  private scoreFacts(accountIds: string[], facts: Awaited<ReturnType<typeof loadAccountFacts>>, scorecards: Scorecard[], now: Date): Scored[] {
    const scored: Scored[] = [];
    for (const accountId of accountIds) {
      const f = facts.get(accountId);
      if (!f?.facts.anyActivity) continue;
      // Lifecycle's contract-size segment when it has decided one; else derived here from ARR and plan.
      const decided = f.profile.segment && CONTRACT_SIZES.includes(f.profile.segment) ? f.profile.segment : undefined;
      const segment = decided ?? contractSize(f.profile, { enterpriseArr: this.config.HEALTH_ENTERPRISE_ARR }) ?? null;
      const health = scoreAccount(deriveFeatures(f.facts, now), scorecardForSegment(scorecards, segment ?? undefined), now);
      if (health.score === null || health.band === null) continue;
      scored.push({ accountId, segment, health: health as Scored['health'] });
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
    const current: { account_id: string; explanation: HealthScore | null }[] = await m.query(
      `SELECT account_id, explanation FROM ${healthTable} WHERE account_id = ANY($1::text[]) FOR UPDATE`,
      [accountIds],
    );
    const previous = new Map(current.map((r) => [r.account_id, r.explanation ?? undefined]));
    const lastEmitted: { account_id: string; score: string; band: HealthBand }[] = await m.query(
      `SELECT DISTINCT ON (account_id) account_id, score, band FROM ${changeTable}
        WHERE account_id = ANY($1::text[]) ORDER BY account_id, seq DESC`,
      [accountIds],
    );
    const emitted = new Map<string, Emitted>(lastEmitted.map((r) => [r.account_id, { score: Number(r.score), band: r.band }]));

    const scored = this.scoreFacts(accountIds, facts, scorecards, now);
    if (scored.length === 0) return 0;

    await m.query(
      `INSERT INTO ${healthTable} (account_id, score, band, scorecard_id, scorecard_version, computed_at, last_event_id, segment, explanation)
       SELECT * FROM unnest($1::text[], $2::numeric[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::text[], $8::text[], $9::jsonb[])
       ON CONFLICT (account_id) DO UPDATE SET score = EXCLUDED.score, band = EXCLUDED.band, scorecard_id = EXCLUDED.scorecard_id,
         scorecard_version = EXCLUDED.scorecard_version, computed_at = EXCLUDED.computed_at, last_event_id = EXCLUDED.last_event_id,
         segment = EXCLUDED.segment, explanation = EXCLUDED.explanation`,
      [
        scored.map((s) => s.accountId),
        scored.map((s) => s.health.score),
        scored.map((s) => s.health.band),
        scored.map((s) => s.health.scorecardId),
        scored.map((s) => s.health.scorecardVersion),
        scored.map(() => now),
        scored.map((s) => causeOf(s.accountId)),
        scored.map((s) => s.segment),
        scored.map((s) => JSON.stringify(s.health)),
      ],
    );

    const changes = scored.filter((s) => {
      const last = emitted.get(s.accountId);
      return !last || last.band !== s.health.band || Math.abs(last.score - s.health.score) >= this.config.HEALTH_MIN_DELTA;
    });
    if (changes.length === 0) return 0;
    const events = changes.map((c) => {
      const last = emitted.get(c.accountId);
      const movers = topMovers(previous.get(c.accountId), c.health);
      return {
        change: c,
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
    });
    await m.query(
      `INSERT INTO ${changeTable} (account_id, event_id, score, band, previous_score, previous_band, scorecard_id, scorecard_version, movers, computed_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::text[], $5::numeric[], $6::text[], $7::text[], $8::int[], $9::jsonb[], $10::timestamptz[])`,
      [
        events.map((e) => e.change.accountId),
        events.map((e) => e.envelope.id),
        events.map((e) => e.change.health.score),
        events.map((e) => e.change.health.band),
        events.map((e) => emitted.get(e.change.accountId)?.score ?? null),
        events.map((e) => emitted.get(e.change.accountId)?.band ?? null),
        events.map((e) => e.change.health.scorecardId),
        events.map((e) => e.change.health.scorecardVersion),
        events.map((e) => JSON.stringify(e.movers)),
        events.map(() => now),
      ],
    );
    await enqueueOutbox(
      m,
      events.map((e) => ({ topic: Topics.health, event: e.envelope, traceContext: traceOf?.(e.change.accountId) })),
    );
    if (changes.length === 1 && changes[0]) {
      const c = changes[0];
      trace.getActiveSpan()?.setAttributes({
        'kizuna.band_before': emitted.get(c.accountId)?.band ?? 'none',
        'kizuna.band_after': c.health.band,
        'kizuna.scorecard': `${c.health.scorecardId}@${c.health.scorecardVersion}`,
      });
    }
    return changes.length;
  }
}
