import { ContractSize } from '@kizuna/shared/contracts';
import { FEATURES, type AccountFeatures } from './features';

/**
 * What health-scoring knows about an account at a moment, as counted from its stored facts
 * (product activity, support contacts, survey answers, billing changes). Null = never seen.
 */
export interface AccountFacts {
  seatsPurchased: number | null;
  activeUsers7d: number;
  activeUsers30d: number;
  /** User-days with activity (a user active on a day is one session-day). */
  sessions7d: number;
  sessions30d: number;
  events7d: number;
  /** Events in the 21 days before the last 7. */
  eventsPrev21d: number;
  /** The last UTC day with product activity (YYYY-MM-DD). */
  lastActiveDay: string | null;
  /** Distinct configured key features used in the last 30 days, and how many are configured. */
  keyFeaturesUsed30d: number;
  keyFeaturesConfigured: number;
  /** Distinct configured value milestones reached (ever). */
  valueMilestones: number;
  npsLatest: number | null;
  csatAvg90d: number | null;
  tickets30d: number;
  tickets90d: number;
  reopened90d: number;
  negativeContacts30d: number;
  paymentFailed30d: number;
  downgraded90d: number;
  /** Risk escalations open now (escalation-routing's events; expansion escalations do not count). */
  openEscalations: number;
  /** Whether any product activity, support, survey or billing fact exists at all. */
  anyActivity: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Whether the account's product history is younger than a week: activity in the last 7 days and
 * none in the 21 before them (nor, then, in the rest of the 30-day windows). That is a new account
 * (or one Kizuna has just started to see, e.g. after importing a customer base), or one coming back
 * after four silent weeks.
 */
export function hasLessThanAWeekOfHistory(f: AccountFacts): boolean {
  return f.lastActiveDay !== null && f.events7d > 0 && f.eventsPrev21d === 0;
}

/**
 * Turns counted facts into the features the scorecards read. Pure; `now` is the injected clock.
 * Silence shows here: as days pass without events, the 7/30-day windows empty, the trend falls and
 * days-since-last-activity grows, so the score decays without any new event.
 *
 * Less than a week of history is not enough to judge what accumulates over 30 days or a lifetime:
 * seat utilisation, 30-day active users and sessions, breadth of key features and value milestones
 * would all read as failures on an account's first day (one admin, one session, no milestone yet).
 * For such an account they are no data (excluded, their weight shared by the rest, as the scoring
 * does for any missing measure): it is scored on recency, the last 7 days, the trend, surveys and
 * the support and billing modifiers, and the explanation shows the excluded measures as 'no-data'.
 * From its second week on every measure counts again.
 */
export function deriveFeatures(f: AccountFacts, now: Date): AccountFeatures {
  const today = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00.000Z`);
  const weeklyBefore = f.eventsPrev21d / 3;
  let trend: number | null;
  if (weeklyBefore > 0) trend = f.events7d / weeklyBefore;
  else trend = f.events7d > 0 ? 1.5 : null; // a new account: growing from nothing, or no history yet
  const young = hasLessThanAWeekOfHistory(f);
  const judged = f.lastActiveDay !== null && !young;
  return {
    [FEATURES.seatUtilisation]: !young && f.seatsPurchased && f.seatsPurchased > 0 ? f.activeUsers30d / f.seatsPurchased : null,
    [FEATURES.activeUsers7d]: f.lastActiveDay ? f.activeUsers7d : null,
    [FEATURES.activeUsers30d]: judged ? f.activeUsers30d : null,
    [FEATURES.sessions7d]: f.lastActiveDay ? f.sessions7d : null,
    [FEATURES.sessions30d]: judged ? f.sessions30d : null,
    [FEATURES.engagementTrend]: f.lastActiveDay ? trend ?? 0 : null,
    [FEATURES.daysSinceLastActivity]: f.lastActiveDay ? Math.max(0, Math.round((today - Date.parse(`${f.lastActiveDay}T00:00:00.000Z`)) / DAY_MS)) : null,
    [FEATURES.keyFeaturesUsed30d]: f.keyFeaturesConfigured > 0 && judged ? f.keyFeaturesUsed30d / f.keyFeaturesConfigured : null,
    [FEATURES.valueMilestones]: judged ? f.valueMilestones : null,
    [FEATURES.nps]: f.npsLatest,
    [FEATURES.csat]: f.csatAvg90d,
    [FEATURES.ticketsPerActiveUser30d]: f.tickets30d / Math.max(1, f.activeUsers30d),
    [FEATURES.reopenRate90d]: f.tickets90d > 0 ? f.reopened90d / f.tickets90d : null,
    [FEATURES.negativeContacts30d]: f.negativeContacts30d,
    [FEATURES.openEscalations]: f.openEscalations,
    [FEATURES.paymentFailed30d]: f.paymentFailed30d,
    [FEATURES.downgraded90d]: f.downgraded90d > 0 ? 1 : 0,
  };
}

export interface SegmentThresholds {
  /** ARR from which an account is enterprise. */
  enterpriseArr: number;
}

export const DEFAULT_SEGMENT_THRESHOLDS: SegmentThresholds = { enterpriseArr: 100_000 };

/**
 * The contract-size segment that picks the scorecard: a plan named trial/free (or an ARR of 0) is
 * freemium, an ARR at or above the threshold is enterprise, anything else with an ARR is SMB;
 * nothing known yet: undefined (the scorecard fallback applies).
 */
export function contractSize(profile: { plan: string | null; arr: number | null }, t: SegmentThresholds = DEFAULT_SEGMENT_THRESHOLDS): ContractSize | undefined {
  if (profile.plan && /trial|free/i.test(profile.plan)) return ContractSize.Freemium;
  if (profile.arr === null) return undefined;
  if (profile.arr <= 0) return ContractSize.Freemium;
  return profile.arr >= t.enterpriseArr ? ContractSize.Enterprise : ContractSize.Smb;
}

/** The UTC day (YYYY-MM-DD) of an instant: the unit of the activity windows. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
