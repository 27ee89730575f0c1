import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The walking skeleton's activity projection: replaced by the signal log (lifecycle_signal). */
export class DropAccountActivity1796130623389 implements MigrationInterface {
  name = 'DropAccountActivity1796130623389';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "lifecycle"."account_activity"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "lifecycle"."account_activity" ("account_id" text NOT NULL, "first_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "events_total" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_9f1024d051852a98217e40d52cd" PRIMARY KEY ("account_id"))`);
  }
}
