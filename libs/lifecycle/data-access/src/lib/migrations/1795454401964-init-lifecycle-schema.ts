import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitLifecycleSchema1795454401964 implements MigrationInterface {
  name = 'InitLifecycleSchema1795454401964';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "lifecycle"."inbox" ("consumer" text NOT NULL, "event_id" text NOT NULL, "event_type" text NOT NULL, "account_id" text NOT NULL, "trace_id" text, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_625a303addbbe1f30d3f65ed7fe" PRIMARY KEY ("consumer", "event_id"))`);
    await q.query(`CREATE TABLE "lifecycle"."outbox" ("seq" BIGSERIAL NOT NULL, "event_id" text NOT NULL, "topic" text NOT NULL, "message_key" text NOT NULL, "envelope" jsonb NOT NULL, "headers" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "published_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "UQ_cc0c9e40998e45ecfc5e313429d" UNIQUE ("event_id"), CONSTRAINT "PK_acf0725c6a7245b71c651964ee4" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "outbox_unpublished_idx" ON "lifecycle"."outbox" ("seq") WHERE published_at IS NULL`);
    await q.query(`CREATE TABLE "lifecycle"."account_health_projection" ("account_id" text NOT NULL, "score" numeric(5,2) NOT NULL, "band" text NOT NULL, "previous_band" text, "scorecard_version" integer NOT NULL, "computed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "source_event_id" text NOT NULL, CONSTRAINT "PK_be6ebec440ed21c3e570135fd21" PRIMARY KEY ("account_id"))`);
    await q.query(`CREATE TABLE "lifecycle"."account_activity" ("account_id" text NOT NULL, "first_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "events_total" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_9f1024d051852a98217e40d52cd" PRIMARY KEY ("account_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "lifecycle"."account_activity"`);
    await q.query(`DROP TABLE "lifecycle"."account_health_projection"`);
    await q.query(`DROP INDEX "lifecycle"."outbox_unpublished_idx"`);
    await q.query(`DROP TABLE "lifecycle"."outbox"`);
    await q.query(`DROP TABLE "lifecycle"."inbox"`);
  }
}
