/**
 * The account features the DEAR scoring reads: a flat map from feature name to value, computed
 * upstream (health-scoring feature/data-access layers) from product, support, survey and
 * billing events. A missing, null or non-finite value means "no data" (never "zero").
 */
export type AccountFeatures = Readonly<Record<string, number | null | undefined>>;

export const FEATURES = {
  /** Active users over 30 days / seats purchased, 0..n (above 1 = over-deployed). */
  seatUtilisation: 'seat_utilisation',
  /** Distinct active users over the last 7 days. */
  activeUsers7d: 'active_users_7d',
  /** Distinct active users over the last 30 days. */
  activeUsers30d: 'active_users_30d',
  /** Sessions over the last 7 days. */
  sessions7d: 'sessions_7d',
  /** Sessions over the last 30 days. */
  sessions30d: 'sessions_30d',
  /** Events in the last 7 days vs the weekly average of the previous 21 days, ratio; 1 = flat. */
  engagementTrend: 'engagement_trend',
  /** Whole days since the last product activity of any user. */
  daysSinceLastActivity: 'days_since_last_activity',
  /** Share 0..1 of the configured key features used in the last 30 days. */
  keyFeaturesUsed30d: 'key_features_used_30d',
  /** Count of value milestones reached. */
  valueMilestones: 'value_milestones',
  /** Latest NPS answer, 0..10. */
  nps: 'nps_latest',
  /** Average CSAT over 90 days, 1..5. */
  csat: 'csat_avg_90d',
  /** Support tickets opened over 30 days per active user (30d). */
  ticketsPerActiveUser30d: 'tickets_per_active_user_30d',
  /** Share 0..1 of tickets reopened over 90 days. */
  reopenRate90d: 'reopen_rate_90d',
  /** Negative-sentiment contacts (tickets, calls, emails) over 30 days. */
  negativeContacts30d: 'negative_contacts_30d',
  /** Escalations currently open. */
  openEscalations: 'open_escalations',
  /** Failed payments over 30 days (count). */
  paymentFailed30d: 'payment_failed_30d',
  /** 1 if the plan was downgraded in the last 90 days, else 0. */
  downgraded90d: 'downgraded_90d',
} as const;

export type FeatureName = (typeof FEATURES)[keyof typeof FEATURES];
