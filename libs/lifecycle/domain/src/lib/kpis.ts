import { HealthBand, LifecyclePhase, NpsLoyalty, TouchModel } from '@kizuna/shared/contracts';
import type { SurveyKind } from '@kizuna/shared/contracts';
import { onboardingProgressOf, type AccountLifecycleState } from './account-state';
import { DEFAULT_LIFECYCLE_RULES, type LifecycleRules } from './lifecycle-rules';
import { npsLoyaltyOf } from './segments';
import { compareIso, DAY_MS, daysBetween, ms, toIso } from './time';

/**
 * Customer Success KPIs, pure over plain inputs, for a period [from, to) (from inclusive, to
 * exclusive). Each returns `{ value, definition, period }`: the number, what it means in words
 * (SMART: specific, with its unit) and the period it covers. `value` is null when the KPI is
 * undefined for the inputs (e.g. no customer at the start), never a misleading 0.
 *
 * Conventions: rates and retentions are fractions (0.05 = 5%), NPS is -100..100, money is in the
 * inputs' currency and period (MRR: monthly), durations are days. Nothing is rounded.
 *
 * "At the start" means the last state recorded strictly before `from`; "at the end" the last
 * state recorded strictly before `to`.
 */

export interface Period {
  /** ISO instant, inclusive. */
  from: string;
  /** ISO instant, exclusive. */
  to: string;
}

export interface Kpi<T> {
  value: T;
  definition: string;
  period: Period;
}

/** One value of an account over time, e.g. its phase changes ({ at: changedAt, value: to }). */
export interface HistoryEntry<T> {
  at: string;
  value: T;
}

export interface AccountHistory<T> {
  accountId: string;
  /** In any order. */
  entries: readonly HistoryEntry<T>[];
}

/** An account's revenue over the period (MRR: monthly recurring revenue, >= 0). */
export interface AccountRevenue {
  accountId: string;
  /** MRR at the period start (0: not paying then, e.g. a new logo). */
  mrrStart: number;
  /** MRR at the period end. */
  mrrEnd: number;
  /** MRR lost in the period because the account cancelled. */
  churned: number;
  /** MRR added in the period by upgrades, seats, cross-sell. */
  expansion: number;
  /** MRR lost in the period by downgrades (the account stayed). */
  contraction: number;
}

/** An account's onboarding: its start and each required milestone with its target and completion. */
export interface OnboardingRecord {
  accountId: string;
  startedAt: string;
  milestones: readonly { event: string; targetDays: number; completedAt: string | null }[];
}

export interface SurveyAnswer {
  accountId: string;
  kind: SurveyKind;
  /** NPS 0..10, CSAT 1..5. */
  score: number;
  answeredAt: string;
}

// ---- Helpers -------------------------------------------------------------------------------------

function checkPeriod(period: Period): Period & { days: number } {
  const from = toIso(period.from, 'period.from');
  const to = toIso(period.to, 'period.to');
  if (compareIso(from, to) >= 0) throw new RangeError(`period: from (${from}) must be before to (${to})`);
  return { from, to, days: (ms(to) - ms(from)) / DAY_MS };
}

const kpi = <T>(value: T, definition: string, p: Period): Kpi<T> => ({ value, definition, period: { from: p.from, to: p.to } });

function within(at: string, p: Period): boolean {
  const t = ms(at);
  return t >= ms(p.from) && t < ms(p.to);
}

/** The value of the latest entry strictly before `instant` (on equal instants the later in the list), or null. */
export function valueBefore<T>(history: AccountHistory<T>, instant: string): T | null {
  const limit = ms(instant);
  let best: HistoryEntry<T> | null = null;
  for (const e of history.entries) {
    const t = ms(e.at);
    if (Number.isNaN(t)) throw new RangeError(`${history.accountId}: entry at '${e.at}' is not an ISO 8601 instant`);
    if (t < limit && (best === null || t >= ms(best.at))) best = e;
  }
  return best === null ? null : best.value;
}

function checkMoney(r: AccountRevenue): void {
  for (const k of ['mrrStart', 'mrrEnd', 'churned', 'expansion', 'contraction'] as const) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${r.accountId}.${k}: must be a finite number >= 0, got ${String(v)}`);
  }
}

interface RevenueTotals {
  start: number;
  /** Churned + contraction, capped per account at its starting MRR. */
  lost: number;
  expansion: number;
  accounts: number;
}

/** Sums over the accounts paying at the start (mrrStart > 0); new logos do not count. */
function revenueTotals(revenue: readonly AccountRevenue[]): RevenueTotals {
  const t: RevenueTotals = { start: 0, lost: 0, expansion: 0, accounts: 0 };
  for (const r of revenue) {
    checkMoney(r);
    if (r.mrrStart <= 0) continue;
    t.accounts += 1;
    t.start += r.mrrStart;
    t.lost += Math.min(r.mrrStart, r.churned + r.contraction);
    t.expansion += r.expansion;
  }
  return t;
}

/**
 * The movement between two MRR figures, for when only start and end are known: all lost when the
 * end is 0 (churned), else the difference as expansion or contraction. A new logo (start 0) has
 * no movement (it is not in the retention base).
 */
export function revenueFromMrr(accountId: string, mrrStart: number, mrrEnd: number): AccountRevenue {
  const none = { accountId, mrrStart, mrrEnd, churned: 0, expansion: 0, contraction: 0 };
  if (mrrStart <= 0) return none;
  if (mrrEnd <= 0) return { ...none, churned: mrrStart };
  return { ...none, expansion: Math.max(0, mrrEnd - mrrStart), contraction: Math.max(0, mrrStart - mrrEnd) };
}

// ---- Churn and retention -------------------------------------------------------------------------

/**
 * Logo churn rate: of the accounts that were customers at the start of the period (a phase other
 * than churned), the share churned at its end. Churned and reactivated within the period: not churned.
 */
export function logoChurnRate(phases: readonly AccountHistory<LifecyclePhase>[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  let customers = 0;
  let churned = 0;
  for (const h of phases) {
    const atStart = valueBefore(h, p.from);
    if (atStart === null || atStart === LifecyclePhase.Churned) continue;
    customers += 1;
    if (valueBefore(h, p.to) === LifecyclePhase.Churned) churned += 1;
  }
  return kpi(
    customers === 0 ? null : churned / customers,
    'Logo churn rate: accounts that were customers (any phase but churned) at the period start and are churned at its end, divided by the customers at the start (fraction; null without customers at the start).',
    p,
  );
}

/** Revenue (gross MRR) churn rate: MRR lost to cancellations and downgrades over MRR at the start. */
export function revenueChurnRate(revenue: readonly AccountRevenue[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const t = revenueTotals(revenue);
  return kpi(
    t.start === 0 ? null : t.lost / t.start,
    'Revenue churn rate (gross MRR churn): MRR lost in the period to cancellations (churned) and downgrades (contraction) by the accounts paying at the start (each capped at its starting MRR), divided by their MRR at the start (fraction; expansion not netted; null without MRR at the start).',
    p,
  );
}

/** Gross revenue retention: the starting MRR kept, without expansion (at most 1). */
export function grossRevenueRetention(revenue: readonly AccountRevenue[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const t = revenueTotals(revenue);
  return kpi(
    t.start === 0 ? null : (t.start - t.lost) / t.start,
    'Gross revenue retention (GRR): (MRR at the start - churned MRR - contraction MRR) of the accounts paying at the start, divided by their MRR at the start (fraction, at most 1; expansion and new logos excluded; null without MRR at the start).',
    p,
  );
}

/** Net revenue retention: the starting MRR kept, including expansion (can exceed 1). */
export function netRevenueRetention(revenue: readonly AccountRevenue[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const t = revenueTotals(revenue);
  return kpi(
    t.start === 0 ? null : (t.start - t.lost + t.expansion) / t.start,
    'Net revenue retention (NRR): (MRR at the start - churned MRR - contraction MRR + expansion MRR) of the accounts paying at the start, divided by their MRR at the start (fraction, above 1 when expansion outgrows losses; new logos excluded; null without MRR at the start).',
    p,
  );
}

/** ARPA: average MRR per account paying at the start. */
export function averageRevenuePerAccount(revenue: readonly AccountRevenue[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const t = revenueTotals(revenue);
  return kpi(
    t.accounts === 0 ? null : t.start / t.accounts,
    'Average revenue per account (ARPA): MRR at the period start divided by the number of accounts paying at the start (money per month; null without paying accounts).',
    p,
  );
}

export interface LtvInput {
  revenue: readonly AccountRevenue[];
  phases: readonly AccountHistory<LifecyclePhase>[];
  /** Gross margin, 0 < m <= 1 (e.g. 0.8). */
  grossMargin: number;
}

/**
 * Average customer lifetime value: ARPA × gross margin / monthly logo churn rate, where the
 * monthly rate is the period's logo churn rate of the accounts paying at the start scaled to a
 * 30-day month (× 30 / period days).
 */
export function averageLtv(input: LtvInput, period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  if (typeof input.grossMargin !== 'number' || !(input.grossMargin > 0 && input.grossMargin <= 1)) {
    throw new RangeError(`grossMargin: must be > 0 and <= 1, got ${String(input.grossMargin)}`);
  }
  const paying = new Set(input.revenue.filter((r) => r.mrrStart > 0).map((r) => r.accountId));
  const arpa = averageRevenuePerAccount(input.revenue, p).value;
  const churn = logoChurnRate(input.phases.filter((h) => paying.has(h.accountId)), p).value;
  const monthlyChurn = churn === null ? null : (churn * 30) / p.days;
  return kpi(
    arpa === null || monthlyChurn === null || monthlyChurn === 0 ? null : (arpa * input.grossMargin) / monthlyChurn,
    `Average lifetime value (LTV): ARPA × gross margin (${input.grossMargin}) / monthly logo churn rate, the monthly rate being the logo churn rate in the period of the accounts paying at its start × 30 / the period's length in days (money; null without paying accounts or without churn).`,
    p,
  );
}

/** LTV / CAC, with CAC (average cost to acquire an account) given. */
export function ltvToCac(input: LtvInput & { cac: number }, period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  if (typeof input.cac !== 'number' || !Number.isFinite(input.cac) || input.cac <= 0) throw new RangeError(`cac: must be a finite number > 0, got ${String(input.cac)}`);
  const ltv = averageLtv(input, p).value;
  return kpi(
    ltv === null ? null : ltv / input.cac,
    `LTV/CAC: average lifetime value (see LTV) divided by the customer acquisition cost (${input.cac}) (ratio; null when LTV is undefined).`,
    p,
  );
}

// ---- Onboarding ----------------------------------------------------------------------------------

function completionOf(r: OnboardingRecord): string | null {
  let last: string | null = null;
  for (const m of r.milestones) {
    if (m.completedAt === null) return null;
    if (last === null || compareIso(m.completedAt, last) > 0) last = m.completedAt;
  }
  return last ?? r.startedAt;
}

function onTime(r: OnboardingRecord): boolean {
  return r.milestones.every((m) => m.completedAt !== null && daysBetween(r.startedAt, m.completedAt) <= m.targetDays);
}

/** Onboarding completion rate: of the accounts that started onboarding in the period, the share that did every milestone within its target. */
export function onboardingCompletionRate(records: readonly OnboardingRecord[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const cohort = records.filter((r) => within(toIso(r.startedAt, `${r.accountId}.startedAt`), p));
  const done = cohort.filter(onTime).length;
  return kpi(
    cohort.length === 0 ? null : done / cohort.length,
    'Onboarding completion rate: accounts that started onboarding in the period and completed every milestone of their segment within its target days (counted from the onboarding start), divided by the accounts that started onboarding in the period (fraction; null when none started).',
    p,
  );
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median days from onboarding start to the last milestone, over the accounts started in the period that completed. */
export function medianTimeToOnboard(records: readonly OnboardingRecord[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const days: number[] = [];
  for (const r of records) {
    if (!within(toIso(r.startedAt, `${r.accountId}.startedAt`), p)) continue;
    const end = completionOf(r);
    if (end !== null) days.push(Math.max(0, daysBetween(r.startedAt, end)));
  }
  return kpi(
    median(days),
    'Median time to complete onboarding: the median, over the accounts that started onboarding in the period and have completed every milestone (on time or not), of the days from the onboarding start to the last milestone (days; null when none completed).',
    p,
  );
}

/** The onboarding record of an account as the machine sees it (null before its start is known). */
export function onboardingRecordOf(state: AccountLifecycleState, rules: LifecycleRules): OnboardingRecord | null {
  const progress = onboardingProgressOf(state, rules);
  if (progress.startedAt === null) return null;
  return {
    accountId: state.accountId,
    startedAt: progress.startedAt,
    milestones: progress.milestones.map((m) => ({ event: m.event, targetDays: m.targetDays, completedAt: m.completedAt })),
  };
}

// ---- Surveys -------------------------------------------------------------------------------------

/** NPS: % promoters - % detractors among the NPS answers given in the period (every answer counts). */
export function netPromoterScore(answers: readonly SurveyAnswer[], period: Period, bounds: LifecycleRules['nps'] = DEFAULT_LIFECYCLE_RULES.nps): Kpi<number | null> {
  const p = checkPeriod(period);
  let n = 0;
  let promoters = 0;
  let detractors = 0;
  for (const a of answers) {
    if (a.kind !== 'nps' || !within(toIso(a.answeredAt, `${a.accountId}.answeredAt`), p)) continue;
    n += 1;
    const loyalty = npsLoyaltyOf(a.score, bounds);
    if (loyalty === NpsLoyalty.Promoter) promoters += 1;
    else if (loyalty === NpsLoyalty.Detractor) detractors += 1;
  }
  return kpi(
    n === 0 ? null : (100 * (promoters - detractors)) / n,
    `Net Promoter Score: percentage of promoters (${bounds.promoterMin}-10) minus percentage of detractors (0-${bounds.passiveMin - 1}) among the NPS answers given in the period (-100..100; null without answers).`,
    p,
  );
}

/** CSAT: mean score of the CSAT answers given in the period. */
export function csatAverage(answers: readonly SurveyAnswer[], period: Period): Kpi<number | null> {
  const p = checkPeriod(period);
  const scores = answers.filter((a) => a.kind === 'csat' && within(toIso(a.answeredAt, `${a.accountId}.answeredAt`), p)).map((a) => a.score);
  return kpi(
    scores.length === 0 ? null : scores.reduce((x, y) => x + y, 0) / scores.length,
    'CSAT average: the mean score (1..5) of the CSAT answers given in the period (null without answers).',
    p,
  );
}

// ---- Distributions at the end of the period ----------------------------------------------------------

export interface Distribution<K extends string> {
  total: number;
  counts: Record<K, number>;
  /** counts / total (null when total is 0). */
  shares: Record<K, number | null>;
}

function distribution<K extends string>(keys: readonly K[], histories: readonly AccountHistory<K>[], p: Period): Distribution<K> {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  let total = 0;
  for (const h of histories) {
    const v = valueBefore(h, p.to);
    if (v === null || !keys.includes(v)) continue;
    counts[v] += 1;
    total += 1;
  }
  const shares = Object.fromEntries(keys.map((k) => [k, total === 0 ? null : counts[k] / total])) as Record<K, number | null>;
  return { total, counts, shares };
}

/** Health distribution: accounts per health band at the period end. */
export function healthDistribution(health: readonly AccountHistory<HealthBand>[], period: Period): Kpi<Distribution<HealthBand>> {
  const p = checkPeriod(period);
  return kpi(
    distribution(Object.values(HealthBand), health, p),
    'Health distribution: the number and share of accounts in each health band (good, caution, danger) at the period end (accounts never scored before the end are not counted).',
    p,
  );
}

/** Accounts per lifecycle phase at the period end. */
export function accountsPerPhase(phases: readonly AccountHistory<LifecyclePhase>[], period: Period): Kpi<Distribution<LifecyclePhase>> {
  const p = checkPeriod(period);
  return kpi(
    distribution(Object.values(LifecyclePhase), phases, p),
    'Accounts per phase: the number and share of accounts in each lifecycle phase (churned included) at the period end.',
    p,
  );
}

/** Accounts per touch model at the period end. */
export function accountsPerTouchModel(touchModels: readonly AccountHistory<TouchModel>[], period: Period): Kpi<Distribution<TouchModel>> {
  const p = checkPeriod(period);
  return kpi(
    distribution(Object.values(TouchModel), touchModels, p),
    'Accounts per touch model: the number and share of accounts in each touch model (high, low, tech) at the period end.',
    p,
  );
}

// ---- All at once ---------------------------------------------------------------------------------

export interface KpiInput {
  revenue: readonly AccountRevenue[];
  phases: readonly AccountHistory<LifecyclePhase>[];
  touchModels: readonly AccountHistory<TouchModel>[];
  health: readonly AccountHistory<HealthBand>[];
  onboarding: readonly OnboardingRecord[];
  surveys: readonly SurveyAnswer[];
  grossMargin: number;
  cac: number;
  nps?: LifecycleRules['nps'];
}

export interface KpiReport {
  logoChurnRate: Kpi<number | null>;
  revenueChurnRate: Kpi<number | null>;
  grossRevenueRetention: Kpi<number | null>;
  netRevenueRetention: Kpi<number | null>;
  averageRevenuePerAccount: Kpi<number | null>;
  averageLtv: Kpi<number | null>;
  ltvToCac: Kpi<number | null>;
  onboardingCompletionRate: Kpi<number | null>;
  medianTimeToOnboard: Kpi<number | null>;
  netPromoterScore: Kpi<number | null>;
  csatAverage: Kpi<number | null>;
  healthDistribution: Kpi<Distribution<HealthBand>>;
  accountsPerPhase: Kpi<Distribution<LifecyclePhase>>;
  accountsPerTouchModel: Kpi<Distribution<TouchModel>>;
}

export function computeKpis(input: KpiInput, period: Period): KpiReport {
  return {
    logoChurnRate: logoChurnRate(input.phases, period),
    revenueChurnRate: revenueChurnRate(input.revenue, period),
    grossRevenueRetention: grossRevenueRetention(input.revenue, period),
    netRevenueRetention: netRevenueRetention(input.revenue, period),
    averageRevenuePerAccount: averageRevenuePerAccount(input.revenue, period),
    averageLtv: averageLtv(input, period),
    ltvToCac: ltvToCac(input, period),
    onboardingCompletionRate: onboardingCompletionRate(input.onboarding, period),
    medianTimeToOnboard: medianTimeToOnboard(input.onboarding, period),
    netPromoterScore: netPromoterScore(input.surveys, period, input.nps),
    csatAverage: csatAverage(input.surveys, period),
    healthDistribution: healthDistribution(input.health, period),
    accountsPerPhase: accountsPerPhase(input.phases, period),
    accountsPerTouchModel: accountsPerTouchModel(input.touchModels, period),
  };
}
