import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CLOCK, type Clock, type HealthBand, type LifecyclePhase, type TouchModel } from '@kizuna/shared/contracts';
import { loadConfig } from '@kizuna/shared/config';
import { queryRows } from '@kizuna/shared/persistence';
import { AccountLifecycle, AccountMrrChange, LifecycleTransition, SurveyAnswerRow } from '@kizuna/lifecycle/data-access';
import {
  computeKpis, onboardingRecordOf, revenueFromMrr, type AccountHistory, type AccountLifecycleState, type Kpi, type KpiReport, type OnboardingRecord, type Period,
} from '@kizuna/lifecycle/domain';
import { LifecycleConfig } from './lifecycle.config';
import { LifecycleRulesStore } from './lifecycle-rules.store';

export interface SegmentFilter {
  dimension?: string;
  value: string;
}

/** `dimension:value` (e.g. `contract-size:smb`) or a bare value matched in any dimension. */
export function parseSegment(s: string): SegmentFilter {
  const i = s.indexOf(':');
  return i > 0 ? { dimension: s.slice(0, i), value: s.slice(i + 1) } : { value: s };
}

/** SQL condition on account_lifecycle.segments for a filter, with its parameters from `$n`. */
export function segmentCondition(f: SegmentFilter, n: number): { sql: string; params: string[] } {
  return f.dimension === undefined
    ? { sql: `EXISTS (SELECT 1 FROM jsonb_each_text(segments) s WHERE s.value = $${n})`, params: [f.value] }
    : { sql: `segments ->> $${n} = $${n + 1}`, params: [f.dimension, f.value] };
}

export interface KpiResponse extends KpiReport {
  period: Period;
  segment: string | null;
  accounts: number;
}

/**
 * The CS KPIs for a period from lifecycle's own tables (history in event time): per account
 * only the values just before `from` and just before `to` are read (DISTINCT ON), the rest is the
 * pure domain (computeKpis). Support KPIs are escalation-routing's (it sees the tickets).
 */
@Injectable()
export class LifecycleKpis {
  private readonly config = loadConfig(LifecycleConfig);

  constructor(
    private readonly ds: DataSource,
    private readonly rules: LifecycleRulesStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  defaultPeriod(): Period {
    const to = this.clock.now();
    return { from: new Date(to.getTime() - 90 * 86_400_000).toISOString(), to: to.toISOString() };
  }

  async compute(period: Period, segment: string | undefined, grossMargin?: number, cac?: number): Promise<KpiResponse> {
    const { rules } = await this.rules.current();
    const t = (e: new () => unknown) => this.ds.getMetadata(e).tablePath;
    let ids: string[] | null = null;
    if (segment !== undefined) {
      const cond = segmentCondition(parseSegment(segment), 1);
      ids = (await queryRows<{ account_id: string }>(this.ds, `SELECT account_id FROM ${t(AccountLifecycle)} WHERE phase IS NOT NULL AND ${cond.sql}`, cond.params)).map(
        (r) => r.account_id,
      );
    }
    const only = (n: number) => `($${n}::text[] IS NULL OR account_id = ANY($${n}::text[]))`;

    /** Per account, the latest value strictly before each bound (entries for valueBefore). */
    const history = async <T>(kind: string, dimension: string | null): Promise<AccountHistory<T>[]> => {
      const rows = await queryRows<{ account_id: string; to_value: T; at: Date }>(
        this.ds,
        `SELECT * FROM (SELECT DISTINCT ON (account_id) account_id, to_value, at FROM ${t(LifecycleTransition)}
                         WHERE kind = $1 AND dimension IS NOT DISTINCT FROM $2 AND at < $3 AND ${only(5)} ORDER BY account_id, at DESC, seq DESC) a
         UNION ALL
         SELECT * FROM (SELECT DISTINCT ON (account_id) account_id, to_value, at FROM ${t(LifecycleTransition)}
                         WHERE kind = $1 AND dimension IS NOT DISTINCT FROM $2 AND at < $4 AND ${only(5)} ORDER BY account_id, at DESC, seq DESC) b`,
        [kind, dimension, period.from, period.to, ids],
      );
      return group(rows.map((r) => ({ accountId: r.account_id, at: r.at.toISOString(), value: r.to_value })));
    };

    const mrrRows = await queryRows<{ account_id: string; mrr_start: string | null; mrr_end: string | null }>(
      this.ds,
      `SELECT account_id,
              (SELECT mrr FROM ${t(AccountMrrChange)} c WHERE c.account_id = a.account_id AND c.at < $1 ORDER BY at DESC LIMIT 1) AS mrr_start,
              (SELECT mrr FROM ${t(AccountMrrChange)} c WHERE c.account_id = a.account_id AND c.at < $2 ORDER BY at DESC LIMIT 1) AS mrr_end
         FROM (SELECT DISTINCT account_id FROM ${t(AccountMrrChange)} WHERE at < $2 AND ${only(3)}) a`,
      [period.from, period.to, ids],
    );
    const onboardingRows = await queryRows<{ state: AccountLifecycleState }>(
      this.ds,
      `SELECT state FROM ${t(AccountLifecycle)} WHERE onboarding_started_at >= $1 AND onboarding_started_at < $2 AND ${only(3)}`,
      [period.from, period.to, ids],
    );
    const surveys = await queryRows<{ account_id: string; kind: 'nps' | 'csat'; score: number; answered_at: Date }>(
      this.ds,
      `SELECT account_id, kind, score, answered_at FROM ${t(SurveyAnswerRow)} WHERE answered_at >= $1 AND answered_at < $2 AND ${only(3)}`,
      [period.from, period.to, ids],
    );

    const margin = grossMargin ?? this.config.LIFECYCLE_GROSS_MARGIN;
    const acquisitionCost = cac ?? this.config.LIFECYCLE_CAC;
    const report = computeKpis(
      {
        revenue: mrrRows.map((r) => revenueFromMrr(r.account_id, Number(r.mrr_start ?? 0), Number(r.mrr_end ?? 0))),
        phases: await history<LifecyclePhase>('phase', null),
        touchModels: await history<TouchModel>('touch-model', null),
        health: await history<HealthBand>('segment', 'health-band'),
        onboarding: onboardingRows.map((r) => onboardingRecordOf(r.state, rules)).filter((x): x is OnboardingRecord => x !== null),
        surveys: surveys.map((s) => ({ accountId: s.account_id, kind: s.kind, score: s.score, answeredAt: s.answered_at.toISOString() })),
        grossMargin: margin,
        cac: acquisitionCost > 0 ? acquisitionCost : 1,
        nps: rules.nps,
      },
      period,
    );
    if (!(acquisitionCost > 0)) {
      report.ltvToCac = notConfigured(report.ltvToCac);
    }
    const accounts = ids?.length ?? Number((await queryRows<{ n: string }>(this.ds, `SELECT count(*) AS n FROM ${t(AccountLifecycle)} WHERE phase IS NOT NULL`))[0]?.n ?? 0);
    return { period, segment: segment ?? null, accounts, ...report };
  }
}

function notConfigured(k: Kpi<number | null>): Kpi<number | null> {
  return { value: null, definition: 'LTV/CAC: average lifetime value divided by the customer acquisition cost; null: no CAC given (pass cac= or set LIFECYCLE_CAC).', period: k.period };
}

function group<T>(rows: { accountId: string; at: string; value: T }[]): AccountHistory<T>[] {
  const by = new Map<string, { at: string; value: T }[]>();
  for (const r of rows) {
    const list = by.get(r.accountId) ?? [];
    list.push({ at: r.at, value: r.value });
    by.set(r.accountId, list);
  }
  return [...by.entries()].map(([accountId, entries]) => ({ accountId, entries }));
}
