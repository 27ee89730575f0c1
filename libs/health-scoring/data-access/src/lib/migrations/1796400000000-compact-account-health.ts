import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * account_health keeps the features an account was scored on instead of the whole explanation (the
 * explanation is recomputed on read from the features and the immutable scorecard version), and the
 * last emitted score and band (no scan of health_change per rescore). Existing rows: the features
 * are the explanation's raw measure values, the emitted score the last health_change of the account.
 */
export class CompactAccountHealth1796400000000 implements MigrationInterface {
  name = 'CompactAccountHealth1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."account_health" ADD "features" jsonb, ADD "emitted_score" numeric(5,2), ADD "emitted_band" text`);
    await q.query(
      `UPDATE "health_scoring"."account_health" h SET features = COALESCE((
         SELECT jsonb_object_agg(m->>'feature', m->'raw')
           FROM (SELECT jsonb_path_query(h.explanation, '$.components[*].measures[*]') AS m
                 UNION ALL SELECT jsonb_path_query(h.explanation, '$.modifiers[*].measures[*]')) x
          WHERE m->>'feature' IS NOT NULL), '{}'::jsonb)`,
    );
    await q.query(
      `UPDATE "health_scoring"."account_health" h SET emitted_score = c.score, emitted_band = c.band
         FROM (SELECT DISTINCT ON (account_id) account_id, score, band FROM "health_scoring"."health_change" ORDER BY account_id, seq DESC) c
        WHERE c.account_id = h.account_id`,
    );
    await q.query(`ALTER TABLE "health_scoring"."account_health" ALTER COLUMN "features" SET NOT NULL, DROP COLUMN "explanation"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "health_scoring"."account_health" ADD "explanation" jsonb, DROP COLUMN "features", DROP COLUMN "emitted_score", DROP COLUMN "emitted_band"`,
    );
  }
}
