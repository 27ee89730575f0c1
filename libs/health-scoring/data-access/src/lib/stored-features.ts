import type { ValueTransformer } from 'typeorm';
import type { AccountFeatures } from '@kizuna/health-scoring/domain';

/**
 * The features' order in account_health.features (float8[]; element 1 is the first). Append only:
 * the first 17 were frozen by migration 1796900000000 and every stored row depends on them. A feature
 * appended later needs no migration: rows written before it have shorter arrays and read it as NULL,
 * which is no data.
 */
export const STORED_FEATURE_ORDER: readonly string[] = Object.freeze([
  'seat_utilisation',
  'active_users_7d',
  'active_users_30d',
  'sessions_7d',
  'sessions_30d',
  'engagement_trend',
  'days_since_last_activity',
  'key_features_used_30d',
  'value_milestones',
  'nps_latest',
  'csat_avg_90d',
  'tickets_per_active_user_30d',
  'reopen_rate_90d',
  'negative_contacts_30d',
  'open_escalations',
  'payment_failed_30d',
  'downgraded_90d',
]);

const POSITION = new Map(STORED_FEATURE_ORDER.map((f, i) => [f, i + 1]));

/** The 1-based element of a feature in account_health.features, if it is stored. */
export const storedFeaturePosition = (feature: string): number | undefined => POSITION.get(feature);

/** Features as stored: one element per STORED_FEATURE_ORDER entry; missing or non-finite is NULL. */
export function toStoredFeatures(features: AccountFeatures): (number | null)[] {
  return STORED_FEATURE_ORDER.map((f) => {
    const v = features[f];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  });
}

/** Stored features back to the map scoring reads: every stored feature, NULL as null. */
export function fromStoredFeatures(stored: readonly (number | null)[] | null): Record<string, number | null> {
  const features: Record<string, number | null> = {};
  STORED_FEATURE_ORDER.forEach((f, i) => {
    features[f] = stored?.[i] ?? null;
  });
  return features;
}

/** TypeORM column transformer of account_health.features. */
export const storedFeatures: ValueTransformer = {
  to: (features: AccountFeatures | undefined) => (features === undefined ? undefined : toStoredFeatures(features)),
  from: (stored: (number | null)[] | null) => fromStoredFeatures(stored),
};
