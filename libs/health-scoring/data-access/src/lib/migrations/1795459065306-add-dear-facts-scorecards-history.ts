import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddDearFactsScorecardsHistory1795459065306 implements MigrationInterface {
  name = 'AddDearFactsScorecardsHistory1795459065306';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "health_scoring"."account_profile" ("account_id" text NOT NULL, "name" text, "plan" text, "arr" numeric, "seats_purchased" integer, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_1e736a175d9e7c0d246bd079c9b" PRIMARY KEY ("account_id"))`);
    await q.query(`CREATE TABLE "health_scoring"."account_user_day" ("account_id" text NOT NULL, "day" date NOT NULL, "user_key" text NOT NULL, CONSTRAINT "PK_294261628ac3aa1b32f5bf3e328" PRIMARY KEY ("account_id", "day", "user_key"))`);
    await q.query(`CREATE TABLE "health_scoring"."account_event_use" ("account_id" text NOT NULL, "event" text NOT NULL, "first_used_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_used_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_51b1d4817605038645b8d92a71b" PRIMARY KEY ("account_id", "event"))`);
    await q.query(`CREATE TABLE "health_scoring"."support_fact" ("kind" text NOT NULL, "ref" text NOT NULL, "account_id" text NOT NULL, "opened_at" TIMESTAMP WITH TIME ZONE NOT NULL, "reopened_count" integer NOT NULL DEFAULT '0', "negative" boolean NOT NULL DEFAULT false, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_da6496419c0875790f36861b964" PRIMARY KEY ("kind", "ref"))`);
    await q.query(`CREATE INDEX "support_fact_account_idx" ON "health_scoring"."support_fact" ("account_id", "opened_at") `);
    await q.query(`CREATE TABLE "health_scoring"."survey_fact" ("response_id" text NOT NULL, "account_id" text NOT NULL, "kind" text NOT NULL, "score" integer NOT NULL, "answered_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_78ee75a1daf2b84cef369b583b0" PRIMARY KEY ("response_id"))`);
    await q.query(`CREATE INDEX "survey_fact_account_idx" ON "health_scoring"."survey_fact" ("account_id", "answered_at") `);
    await q.query(`CREATE TABLE "health_scoring"."billing_fact" ("change_id" text NOT NULL, "account_id" text NOT NULL, "change" text NOT NULL, "effective_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_036a07fc11abffa3ba8654bba04" PRIMARY KEY ("change_id"))`);
    await q.query(`CREATE INDEX "billing_fact_account_idx" ON "health_scoring"."billing_fact" ("account_id", "effective_at") `);
    await q.query(`CREATE TABLE "health_scoring"."scorecard" ("id" text NOT NULL, "version" integer NOT NULL, "definition" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_3aac4c8d0db202a07a32b98c28e" PRIMARY KEY ("id", "version"))`);
    await q.query(`CREATE TABLE "health_scoring"."health_setting" ("key" text NOT NULL, "value" jsonb NOT NULL, CONSTRAINT "PK_3513f107fbc4e8c8031682215f8" PRIMARY KEY ("key"))`);
    await q.query(`CREATE TABLE "health_scoring"."health_change" ("seq" BIGSERIAL NOT NULL, "account_id" text NOT NULL, "event_id" text NOT NULL, "score" numeric(5,2) NOT NULL, "band" text NOT NULL, "previous_score" numeric(5,2), "previous_band" text, "scorecard_id" text NOT NULL, "scorecard_version" integer NOT NULL, "movers" jsonb NOT NULL, "computed_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_0517165818aa62b46290c9fc941" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "health_change_account_idx" ON "health_scoring"."health_change" ("account_id", "computed_at") `);
    await q.query(`ALTER TABLE "health_scoring"."account_health" ADD "segment" text`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" ADD "explanation" jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."account_health" DROP COLUMN "explanation"`);
    await q.query(`ALTER TABLE "health_scoring"."account_health" DROP COLUMN "segment"`);
    await q.query(`DROP INDEX "health_scoring"."health_change_account_idx"`);
    await q.query(`DROP TABLE "health_scoring"."health_change"`);
    await q.query(`DROP TABLE "health_scoring"."health_setting"`);
    await q.query(`DROP TABLE "health_scoring"."scorecard"`);
    await q.query(`DROP INDEX "health_scoring"."billing_fact_account_idx"`);
    await q.query(`DROP TABLE "health_scoring"."billing_fact"`);
    await q.query(`DROP INDEX "health_scoring"."survey_fact_account_idx"`);
    await q.query(`DROP TABLE "health_scoring"."survey_fact"`);
    await q.query(`DROP INDEX "health_scoring"."support_fact_account_idx"`);
    await q.query(`DROP TABLE "health_scoring"."support_fact"`);
    await q.query(`DROP TABLE "health_scoring"."account_event_use"`);
    await q.query(`DROP TABLE "health_scoring"."account_user_day"`);
    await q.query(`DROP TABLE "health_scoring"."account_profile"`);
  }
}
