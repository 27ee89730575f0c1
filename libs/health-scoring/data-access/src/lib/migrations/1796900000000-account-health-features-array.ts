import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The order of account_health.features as this migration froze it. Element i of the array is the
 * value of feature FEATURE_ORDER_1796900000000[i - 1]; later features are appended after these (see
 * STORED_FEATURE_ORDER), so rows written before they existed read them as no data.
 */
export const FEATURE_ORDER_1796900000000: readonly string[] = Object.freeze([
  'seat_utilisation', 'active_users_7d', 'active_users_30d', 'sessions_7d', 'sessions_30d', 'engagement_trend',
  'days_since_last_activity', 'key_features_used_30d', 'value_milestones', 'nps_latest', 'csat_avg_90d',
  'tickets_per_active_user_30d', 'reopen_rate_90d', 'negative_contacts_30d', 'open_escalations', 'payment_failed_30d', 'downgraded_90d',
]);

/**
 * account_health.features from a jsonb object (name -> value, about 550 bytes a row) to a float8[]
 * in a fixed order (about 160 bytes): every rescore rewrites the row, so its size is WAL and heap
 * written per scored account. A missing or null feature becomes a NULL element (no data, as before).
 */
export class AccountHealthFeaturesArray1796900000000 implements MigrationInterface {
  name = 'AccountHealthFeaturesArray1796900000000';

  async up(q: QueryRunner): Promise<void> {
    const elements = FEATURE_ORDER_1796900000000.map((f) => `(features ->> '${f}')::float8`).join(', ');
    await q.query(`ALTER TABLE "health_scoring"."account_health" ADD "features_array" double precision array`);
    await q.query(`UPDATE "health_scoring"."account_health" SET features_array = ARRAY[${elements}]::float8[]`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" DROP COLUMN "features"`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" RENAME COLUMN "features_array" TO "features"`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" ALTER COLUMN "features" SET NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    const pairs = FEATURE_ORDER_1796900000000.map((f, i) => `'${f}', features[${i + 1}]`).join(', ');
    await q.query(`ALTER TABLE "health_scoring"."account_health" ADD "features_object" jsonb`);
    await q.query(`UPDATE "health_scoring"."account_health" SET features_object = jsonb_build_object(${pairs})`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" DROP COLUMN "features"`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" RENAME COLUMN "features_object" TO "features"`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" ALTER COLUMN "features" SET NOT NULL`);
  }
}
