import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddBackfillJobs1795460210036 implements MigrationInterface {
  name = 'AddBackfillJobs1795460210036';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "health_scoring"."backfill_job" ("id" text NOT NULL, "scorecard_id" text NOT NULL, "scorecard_version" integer NOT NULL, "dry_run" boolean NOT NULL, "status" text NOT NULL, "total" integer NOT NULL, "processed" integer NOT NULL DEFAULT '0', "cursor" text NOT NULL DEFAULT '', "before" jsonb NOT NULL DEFAULT '{}', "after" jsonb NOT NULL DEFAULT '{}', "error" text, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_decb91d71ea643de5a03bc3af40" PRIMARY KEY ("id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "health_scoring"."backfill_job"`);
  }
}
