import { FEATURES } from './features';
import type { ModifierDef, Normalisation, Scorecard } from './scorecard';

/**
 * Seed scorecards (version 1), one per account segment. They are plain data, valid for
 * `validateScorecard`, meant to be stored and then edited through the API: the numbers below are
 * sensible starting points, not truths.
 *
 * Reading the curves: `linear` points are (raw value, quality 0..1) for components and
 * (raw value, share of maxPenalty) for modifiers; `thresholds` steps are "from `min` on, `value`".
 */

const linear = (...points: [number, number][]): Normalisation => ({ kind: 'linear', points });
const thresholds = (...steps: [min: number, value: number][]): Normalisation => ({
  kind: 'thresholds',
  steps: steps.map(([min, value]) => ({ min, value })),
});
const flag = (whenTrue: number, whenFalse: number): Normalisation => ({ kind: 'boolean', whenTrue, whenFalse });

// --- Curves shared by the paid segments --------------------------------------------------------

/** Recency: active today is full, a week of silence halves it, a month of silence is nothing. */
const DAYS_SINCE_LAST_ACTIVITY = linear([0, 1], [7, 0.5], [30, 0]);
/**
 * Momentum (last 7 days vs the weekly average of the 21 before): halving is 0, flat is already
 * good (0.8), growing by half is full. Steeper below 1 than above: decline is the risk signal.
 */
const ENGAGEMENT_TREND = linear([0.5, 0], [1, 0.8], [1.5, 1]);
/** Seats in use: shelfware (<= 20%) is almost nothing, half is fair, 80% and over is full. */
const SEAT_UTILISATION = linear([0, 0], [0.2, 0.1], [0.5, 0.6], [0.8, 1]);
/** Breadth of adoption of the key features: a quarter is a start, 80% is full. */
const KEY_FEATURES_USED = linear([0, 0], [0.25, 0.3], [0.5, 0.7], [0.8, 1]);
/** NPS 0..10: detractors (0-6) earn little, passives (7-8) a fair share, promoters (9-10) full. */
const NPS = linear([0, 0], [6, 0.3], [9, 1]);
/** CSAT 1..5: 3 is lukewarm, 4 is good, 5 is full. */
const CSAT = linear([1, 0], [3, 0.4], [4, 0.8], [5, 1]);

/** Support friction: penalties (share of maxPenalty) grow with tickets, reopens, anger, escalations. */
const supportModifier = (p: { tickets: number; reopens: number; negative: number; escalations: number }): ModifierDef => ({
  key: 'support',
  label: 'Support',
  measures: [
    {
      key: 'tickets_per_active_user',
      label: 'Tickets per active user (30d)',
      feature: FEATURES.ticketsPerActiveUser30d,
      maxPenalty: p.tickets,
      // Up to 0.1 ticket per active user a month is normal; one per user is a product in trouble.
      normalise: linear([0.1, 0], [0.3, 0.5], [1, 1]),
    },
    {
      key: 'reopen_rate',
      label: 'Reopened tickets (90d)',
      feature: FEATURES.reopenRate90d,
      maxPenalty: p.reopens,
      // 5% reopened is noise; 30% means problems are not getting solved.
      normalise: linear([0.05, 0], [0.15, 0.5], [0.3, 1]),
    },
    {
      key: 'negative_contacts',
      label: 'Negative contacts (30d)',
      feature: FEATURES.negativeContacts30d,
      maxPenalty: p.negative,
      normalise: thresholds([1, 0.3], [2, 0.6], [4, 1]),
    },
    {
      key: 'open_escalations',
      label: 'Open escalations',
      feature: FEATURES.openEscalations,
      maxPenalty: p.escalations,
      // One open escalation already costs half; three or more the whole penalty.
      normalise: thresholds([1, 0.5], [2, 0.8], [3, 1]),
    },
  ],
});

/** Billing trouble: failed payments (involuntary churn risk) and recent downgrades. */
const billingModifier = (p: { paymentFailed: number; downgraded: number }): ModifierDef => ({
  key: 'billing',
  label: 'Billing',
  measures: [
    {
      key: 'payment_failed',
      label: 'Failed payments (30d)',
      feature: FEATURES.paymentFailed30d,
      maxPenalty: p.paymentFailed,
      normalise: thresholds([1, 0.5], [2, 1]),
    },
    {
      key: 'downgraded',
      label: 'Downgraded (90d)',
      feature: FEATURES.downgraded90d,
      maxPenalty: p.downgraded,
      normalise: flag(1, 0),
    },
  ],
});

/**
 * Enterprise: large, high-touch accounts. Engagement and adoption weigh most, deployment (seats
 * actually used) and ROI (value reached, NPS, CSAT) still matter; absolute user counts are
 * scaled for teams of dozens. Escalations hurt most.
 */
const ENTERPRISE: Scorecard = {
  id: 'enterprise',
  version: 1,
  name: 'Enterprise',
  segments: ['enterprise'],
  bands: { good: 70, caution: 40 },
  components: [
    {
      key: 'deployment',
      label: 'Deployment',
      weight: 20,
      measures: [
        { key: 'seat_utilisation', label: 'Seat utilisation', feature: FEATURES.seatUtilisation, weight: 3, normalise: SEAT_UTILISATION },
        {
          key: 'active_users_30d',
          label: 'Active users (30d)',
          feature: FEATURES.activeUsers30d,
          weight: 1,
          normalise: thresholds([1, 0.2], [10, 0.5], [25, 0.8], [50, 1]),
        },
      ],
    },
    {
      key: 'engagement',
      label: 'Engagement',
      weight: 30,
      measures: [
        {
          key: 'days_since_last_activity',
          label: 'Days since last activity',
          feature: FEATURES.daysSinceLastActivity,
          weight: 3,
          normalise: DAYS_SINCE_LAST_ACTIVITY,
        },
        // ~20 sessions a week for a team is a baseline, 100 is full.
        { key: 'sessions_7d', label: 'Sessions (7d)', feature: FEATURES.sessions7d, weight: 2, normalise: linear([0, 0], [20, 0.5], [100, 1]) },
        { key: 'sessions_30d', label: 'Sessions (30d)', feature: FEATURES.sessions30d, weight: 1, normalise: linear([0, 0], [80, 0.5], [400, 1]) },
        { key: 'engagement_trend', label: 'Engagement trend', feature: FEATURES.engagementTrend, weight: 2, normalise: ENGAGEMENT_TREND },
      ],
    },
    {
      key: 'adoption',
      label: 'Adoption',
      weight: 30,
      measures: [
        { key: 'key_features_used', label: 'Key features used (30d)', feature: FEATURES.keyFeaturesUsed30d, weight: 3, normalise: KEY_FEATURES_USED },
        {
          key: 'active_users_7d',
          label: 'Weekly active users',
          feature: FEATURES.activeUsers7d,
          weight: 1,
          normalise: thresholds([1, 0.2], [5, 0.5], [15, 0.8], [30, 1]),
        },
      ],
    },
    {
      key: 'roi',
      label: 'ROI',
      weight: 20,
      measures: [
        {
          key: 'value_milestones',
          label: 'Value milestones reached',
          feature: FEATURES.valueMilestones,
          weight: 2,
          normalise: thresholds([1, 0.4], [3, 0.7], [5, 1]),
        },
        { key: 'nps', label: 'NPS (latest)', feature: FEATURES.nps, weight: 2, normalise: NPS },
        { key: 'csat', label: 'CSAT (90d)', feature: FEATURES.csat, weight: 1, normalise: CSAT },
      ],
    },
  ],
  modifiers: [supportModifier({ tickets: 8, reopens: 8, negative: 10, escalations: 15 }), billingModifier({ paymentFailed: 10, downgraded: 10 })],
};

/**
 * SMB: small, low-touch accounts. Engagement weighs most; user and session counts are scaled for
 * teams of a few; failed payments (involuntary churn) cost more than in enterprise.
 */
const SMB: Scorecard = {
  id: 'smb',
  version: 1,
  name: 'SMB',
  segments: ['smb'],
  bands: { good: 70, caution: 40 },
  components: [
    {
      key: 'deployment',
      label: 'Deployment',
      weight: 20,
      measures: [
        { key: 'seat_utilisation', label: 'Seat utilisation', feature: FEATURES.seatUtilisation, weight: 3, normalise: SEAT_UTILISATION },
        { key: 'active_users_30d', label: 'Active users (30d)', feature: FEATURES.activeUsers30d, weight: 1, normalise: thresholds([1, 0.3], [3, 0.6], [10, 1]) },
      ],
    },
    {
      key: 'engagement',
      label: 'Engagement',
      weight: 35,
      measures: [
        {
          key: 'days_since_last_activity',
          label: 'Days since last activity',
          feature: FEATURES.daysSinceLastActivity,
          weight: 3,
          normalise: DAYS_SINCE_LAST_ACTIVITY,
        },
        { key: 'sessions_7d', label: 'Sessions (7d)', feature: FEATURES.sessions7d, weight: 2, normalise: linear([0, 0], [5, 0.5], [30, 1]) },
        { key: 'sessions_30d', label: 'Sessions (30d)', feature: FEATURES.sessions30d, weight: 1, normalise: linear([0, 0], [20, 0.5], [120, 1]) },
        { key: 'engagement_trend', label: 'Engagement trend', feature: FEATURES.engagementTrend, weight: 2, normalise: ENGAGEMENT_TREND },
      ],
    },
    {
      key: 'adoption',
      label: 'Adoption',
      weight: 30,
      measures: [
        { key: 'key_features_used', label: 'Key features used (30d)', feature: FEATURES.keyFeaturesUsed30d, weight: 3, normalise: KEY_FEATURES_USED },
        { key: 'active_users_7d', label: 'Weekly active users', feature: FEATURES.activeUsers7d, weight: 1, normalise: thresholds([1, 0.3], [3, 0.7], [5, 1]) },
      ],
    },
    {
      key: 'roi',
      label: 'ROI',
      weight: 15,
      measures: [
        {
          key: 'value_milestones',
          label: 'Value milestones reached',
          feature: FEATURES.valueMilestones,
          weight: 2,
          normalise: thresholds([1, 0.4], [2, 0.7], [4, 1]),
        },
        { key: 'nps', label: 'NPS (latest)', feature: FEATURES.nps, weight: 2, normalise: NPS },
        { key: 'csat', label: 'CSAT (90d)', feature: FEATURES.csat, weight: 1, normalise: CSAT },
      ],
    },
  ],
  modifiers: [supportModifier({ tickets: 8, reopens: 6, negative: 10, escalations: 10 }), billingModifier({ paymentFailed: 15, downgraded: 10 })],
};

/**
 * Freemium and trial: the question is "are they activating?". Engagement and adoption (key
 * features, first value milestones) weigh 40 each; deployment (inviting a few teammates) and ROI
 * (surveys, often unanswered and then simply excluded) 10 each. Recency decays faster: a trial
 * silent for two weeks is lost.
 */
const TRIAL: Scorecard = {
  id: 'trial',
  version: 1,
  name: 'Freemium and trial',
  segments: ['freemium', 'trial'],
  bands: { good: 70, caution: 40 },
  components: [
    {
      key: 'deployment',
      label: 'Deployment',
      weight: 10,
      measures: [
        { key: 'active_users_30d', label: 'Active users (30d)', feature: FEATURES.activeUsers30d, weight: 2, normalise: thresholds([1, 0.3], [2, 0.6], [5, 1]) },
        { key: 'seat_utilisation', label: 'Seat utilisation', feature: FEATURES.seatUtilisation, weight: 1, normalise: SEAT_UTILISATION },
      ],
    },
    {
      key: 'engagement',
      label: 'Engagement',
      weight: 40,
      measures: [
        {
          key: 'days_since_last_activity',
          label: 'Days since last activity',
          feature: FEATURES.daysSinceLastActivity,
          weight: 3,
          normalise: linear([0, 1], [3, 0.6], [7, 0.2], [14, 0]),
        },
        { key: 'sessions_7d', label: 'Sessions (7d)', feature: FEATURES.sessions7d, weight: 2, normalise: linear([0, 0], [3, 0.5], [10, 1]) },
        { key: 'engagement_trend', label: 'Engagement trend', feature: FEATURES.engagementTrend, weight: 1, normalise: ENGAGEMENT_TREND },
      ],
    },
    {
      key: 'adoption',
      label: 'Adoption',
      weight: 40,
      measures: [
        // A trial that has tried a fifth of the key features is on its way; half is full.
        { key: 'key_features_used', label: 'Key features used (30d)', feature: FEATURES.keyFeaturesUsed30d, weight: 3, normalise: linear([0, 0], [0.2, 0.4], [0.5, 1]) },
        // Activation milestones: the first one matters most.
        {
          key: 'value_milestones',
          label: 'Activation milestones reached',
          feature: FEATURES.valueMilestones,
          weight: 2,
          normalise: thresholds([1, 0.5], [2, 0.8], [3, 1]),
        },
      ],
    },
    {
      key: 'roi',
      label: 'ROI',
      weight: 10,
      measures: [
        { key: 'nps', label: 'NPS (latest)', feature: FEATURES.nps, weight: 1, normalise: NPS },
        { key: 'csat', label: 'CSAT (90d)', feature: FEATURES.csat, weight: 1, normalise: CSAT },
      ],
    },
  ],
  modifiers: [supportModifier({ tickets: 5, reopens: 5, negative: 10, escalations: 10 }), billingModifier({ paymentFailed: 10, downgraded: 5 })],
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The seed scorecards, deeply frozen (shared constants: curves are shared between cards).
 * `structuredClone` one before editing it.
 */
export const DEFAULT_SCORECARDS: Scorecard[] = deepFreeze([ENTERPRISE, SMB, TRIAL]);

/**
 * Picks the scorecard for an account segment (exact, case-sensitive match, e.g. a ContractSize
 * value), in this order:
 *   1. the first scorecard (in array order) whose `segments` include `segment`;
 *   2. else the first whose `segments` include 'default';
 *   3. else the first whose `segments` include 'smb' (the middle-of-the-road card).
 * An undefined segment goes straight to 2. Throws if none of these exists (a configuration error).
 * Pass only the active version of each scorecard.
 */
export function scorecardForSegment(scorecards: Scorecard[], segment: string | undefined): Scorecard {
  const bySegment = (s: string): Scorecard | undefined => scorecards.find((card) => card.segments.includes(s));
  const found = (segment === undefined ? undefined : bySegment(segment)) ?? bySegment('default') ?? bySegment('smb');
  if (!found) {
    throw new Error(`No scorecard for segment '${segment ?? '(none)'}' and no 'default' or 'smb' scorecard to fall back to`);
  }
  return found;
}
