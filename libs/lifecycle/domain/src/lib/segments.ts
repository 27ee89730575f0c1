import { ContractSize, HealthBand, NpsLoyalty, UsageStatus } from '@kizuna/shared/contracts';
import type { SegmentChangedV1 } from '@kizuna/shared/contracts';
import type { LifecycleRules } from './lifecycle-rules';
import { daysBetween } from './time';

/**
 * Segments: the dimensions an account is grouped by (lists, playbooks, KPIs per segment), each
 * derived from plain facts at `now`. Pure; a dimension without the facts to decide it is absent.
 */

export const SEGMENT_DIMENSIONS = ['contract-size', 'usage-status', 'nps-loyalty', 'health-band', 'industry', 'region'] as const;
export type SegmentDimension = (typeof SEGMENT_DIMENSIONS)[number];

/** Dimension → value, e.g. `{ 'contract-size': 'smb', 'usage-status': 'active', region: 'emea' }`. */
export type Segments = Partial<Record<SegmentDimension, string>>;

/** What the segments are computed from. Null: not known. */
export interface SegmentFacts {
  arr: number | null;
  plan: string | null;
  /** The account's start (see AccountLifecycleState.startedAt). */
  startedAt: string | null;
  lastActivityAt: string | null;
  /** The latest NPS answer's score (0..10). */
  latestNps: number | null;
  healthBand: HealthBand | null;
  industry: string | null;
  region: string | null;
}

export interface SegmentDecision<T> {
  value: T;
  reason: string;
}

/** The freemium plan pattern a plan name contains (case-insensitive), if any. */
function freemiumPattern(plan: string | null, patterns: readonly string[]): string | undefined {
  if (!plan) return undefined;
  const p = plan.toLowerCase();
  return patterns.find((x) => p.includes(x.toLowerCase()));
}

/**
 * Contract size: a plan named like a freemium plan (trial/free) is freemium whatever its ARR; else
 * ARR >= enterpriseMinArr is enterprise, ARR > 0 smb, ARR 0 freemium; no plan match and no ARR:
 * unknown (undefined). Same rule as health-scoring's scorecard choice.
 */
export function decideContractSize(
  f: { arr: number | null; plan: string | null },
  rules: LifecycleRules['contractSize'],
): SegmentDecision<ContractSize> | undefined {
  const pattern = freemiumPattern(f.plan, rules.freemiumPlans);
  if (pattern !== undefined) return { value: ContractSize.Freemium, reason: `plan '${f.plan}' is a freemium plan ('${pattern}')` };
  if (f.arr === null) return undefined;
  if (f.arr >= rules.enterpriseMinArr) return { value: ContractSize.Enterprise, reason: `ARR ${f.arr} >= ${rules.enterpriseMinArr}` };
  if (f.arr > 0) return { value: ContractSize.Smb, reason: `ARR ${f.arr} > 0 and < ${rules.enterpriseMinArr}` };
  return { value: ContractSize.Freemium, reason: `ARR ${f.arr}` };
}

export function contractSizeOf(f: { arr: number | null; plan: string | null }, rules: LifecycleRules['contractSize']): ContractSize | undefined {
  return decideContractSize(f, rules)?.value;
}

const days = (n: number): string => `${Math.floor(n)} day${Math.floor(n) === 1 ? '' : 's'}`;

/**
 * Usage status at `now`: "new" during the first `newDays` after the start; then "active" when the
 * latest product activity is less than `dormantDays` old, else "dormant" (also when there never
 * was any activity). Unknown (undefined) with neither a start nor any activity.
 */
export function decideUsageStatus(
  f: { startedAt: string | null; lastActivityAt: string | null },
  rules: LifecycleRules['usage'],
  now: Date,
): SegmentDecision<UsageStatus> | undefined {
  const nowIso = now.toISOString();
  if (f.startedAt !== null && daysBetween(f.startedAt, nowIso) < rules.newDays) {
    return { value: UsageStatus.New, reason: `started ${f.startedAt}, less than ${rules.newDays} days ago` };
  }
  if (f.lastActivityAt !== null) {
    const idle = daysBetween(f.lastActivityAt, nowIso);
    if (idle < rules.dormantDays) {
      return { value: UsageStatus.Active, reason: `last activity ${f.lastActivityAt}, less than ${rules.dormantDays} days ago` };
    }
    return { value: UsageStatus.Dormant, reason: `no activity for ${days(idle)} (last ${f.lastActivityAt}; dormant after ${rules.dormantDays})` };
  }
  if (f.startedAt === null) return undefined;
  return { value: UsageStatus.Dormant, reason: `no product activity since the start (${f.startedAt})` };
}

export function usageStatusOf(
  f: { startedAt: string | null; lastActivityAt: string | null },
  rules: LifecycleRules['usage'],
  now: Date,
): UsageStatus | undefined {
  return decideUsageStatus(f, rules, now)?.value;
}

/** NPS loyalty of one answer (an integer 0..10; RangeError otherwise). */
export function npsLoyaltyOf(score: number, rules: LifecycleRules['nps']): NpsLoyalty {
  if (!Number.isInteger(score) || score < 0 || score > 10) throw new RangeError(`NPS score must be an integer 0..10, got ${score}`);
  if (score >= rules.promoterMin) return NpsLoyalty.Promoter;
  if (score >= rules.passiveMin) return NpsLoyalty.Passive;
  return NpsLoyalty.Detractor;
}

function describeNps(score: number, rules: LifecycleRules['nps']): string {
  const loyalty = npsLoyaltyOf(score, rules);
  if (loyalty === NpsLoyalty.Promoter) return `latest NPS ${score} >= ${rules.promoterMin}`;
  if (loyalty === NpsLoyalty.Passive) return `latest NPS ${score} in ${rules.passiveMin}..${rules.promoterMin - 1}`;
  return `latest NPS ${score} < ${rules.passiveMin}`;
}

/** Every segment with the reason for its value. */
export function deriveSegments(
  f: SegmentFacts,
  rules: LifecycleRules,
  now: Date,
): { segments: Segments; reasons: Partial<Record<SegmentDimension, string>> } {
  const segments: Segments = {};
  const reasons: Partial<Record<SegmentDimension, string>> = {};
  const put = (dimension: SegmentDimension, d: SegmentDecision<string> | undefined): void => {
    if (d === undefined) return;
    segments[dimension] = d.value;
    reasons[dimension] = d.reason;
  };
  put('contract-size', decideContractSize(f, rules.contractSize));
  put('usage-status', decideUsageStatus(f, rules.usage, now));
  if (f.latestNps !== null) put('nps-loyalty', { value: npsLoyaltyOf(f.latestNps, rules.nps), reason: describeNps(f.latestNps, rules.nps) });
  if (f.healthBand !== null) put('health-band', { value: f.healthBand, reason: `latest health band ${f.healthBand}` });
  if (f.industry !== null && f.industry.trim() !== '') put('industry', { value: f.industry, reason: `trait '${f.industry}'` });
  if (f.region !== null && f.region.trim() !== '') put('region', { value: f.region, reason: `trait '${f.region}'` });
  return { segments, reasons };
}

/** dimension → value at `now`. */
export function computeSegments(f: SegmentFacts, rules: LifecycleRules, now: Date): Segments {
  return deriveSegments(f, rules, now).segments;
}

function rank(dimension: string): number {
  const i = (SEGMENT_DIMENSIONS as readonly string[]).indexOf(dimension);
  return i === -1 ? SEGMENT_DIMENSIONS.length : i;
}

function dimensionOrder(a: string, b: string): number {
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The segment-changed outputs from `before` to `after`, one per dimension whose value changed, in
 * SEGMENT_DIMENSIONS order (unknown dimensions after, alphabetically). A dimension that appears
 * has `from: null`. A dimension that DISAPPEARS yields nothing: the contract needs a `to`, and
 * the segment facts only ever become unknown through a data correction.
 *
 * `cause` is the same for every dimension, or computed per dimension.
 */
export function diffSegments(
  before: Record<string, string>,
  after: Record<string, string>,
  cause: string | ((dimension: string, from: string | null, to: string) => string),
  changedAt: string,
): SegmentChangedV1[] {
  const out: SegmentChangedV1[] = [];
  for (const dimension of Object.keys(after).sort(dimensionOrder)) {
    const to = after[dimension];
    const from = Object.prototype.hasOwnProperty.call(before, dimension) ? before[dimension] : null;
    if (to === undefined || to === from) continue;
    out.push({ dimension, from, to, cause: typeof cause === 'string' ? cause : cause(dimension, from, to), changedAt });
  }
  return out;
}

