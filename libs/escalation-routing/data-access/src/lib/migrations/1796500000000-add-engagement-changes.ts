import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The engagement part of each recent health change, so "engagement is falling" spans days, not one change. */
export class AddEngagementChanges1796500000000 implements MigrationInterface {
  name = 'AddEngagementChanges1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "escalation_routing"."account_context" ADD "engagement_changes" jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "escalation_routing"."account_context" DROP COLUMN "engagement_changes"`);
  }
}
