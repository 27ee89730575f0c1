import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitHealthScoringSchema1795454401110 implements MigrationInterface {
  name = 'InitHealthScoringSchema1795454401110';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "health_scoring"."inbox" ("consumer" text NOT NULL, "event_id" text NOT NULL, "event_type" text NOT NULL, "account_id" text NOT NULL, "trace_id" text, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_625a303addbbe1f30d3f65ed7fe" PRIMARY KEY ("consumer", "event_id"))`);
    await q.query(`CREATE TABLE "health_scoring"."outbox" ("seq" BIGSERIAL NOT NULL, "event_id" text NOT NULL, "topic" text NOT NULL, "message_key" text NOT NULL, "envelope" jsonb NOT NULL, "headers" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "published_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "UQ_cc0c9e40998e45ecfc5e313429d" UNIQUE ("event_id"), CONSTRAINT "PK_acf0725c6a7245b71c651964ee4" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "outbox_unpublished_idx" ON "health_scoring"."outbox" ("seq") WHERE published_at IS NULL`);
    await q.query(`CREATE TABLE "health_scoring"."account_daily_activity" ("account_id" text NOT NULL, "day" date NOT NULL, "events" integer NOT NULL DEFAULT '0', CONSTRAINT "PK_7c5f53464b4996073b0b7c6d57a" PRIMARY KEY ("account_id", "day"))`);
    await q.query(`CREATE TABLE "health_scoring"."account_health" ("account_id" text NOT NULL, "score" numeric(5,2) NOT NULL, "band" text NOT NULL, "scorecard_id" text NOT NULL, "scorecard_version" integer NOT NULL, "computed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_event_id" text NOT NULL, CONSTRAINT "PK_b9342856ff00d46bd98c14c4757" PRIMARY KEY ("account_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "health_scoring"."account_health"`);
    await q.query(`DROP TABLE "health_scoring"."account_daily_activity"`);
    await q.query(`DROP INDEX "health_scoring"."outbox_unpublished_idx"`);
    await q.query(`DROP TABLE "health_scoring"."outbox"`);
    await q.query(`DROP TABLE "health_scoring"."inbox"`);
  }
}
