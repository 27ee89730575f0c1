import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitEscalationRoutingSchema1795454402824 implements MigrationInterface {
  name = 'InitEscalationRoutingSchema1795454402824';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "escalation_routing"."inbox" ("consumer" text NOT NULL, "event_id" text NOT NULL, "event_type" text NOT NULL, "account_id" text NOT NULL, "trace_id" text, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_625a303addbbe1f30d3f65ed7fe" PRIMARY KEY ("consumer", "event_id"))`);
    await q.query(`CREATE TABLE "escalation_routing"."outbox" ("seq" BIGSERIAL NOT NULL, "event_id" text NOT NULL, "topic" text NOT NULL, "message_key" text NOT NULL, "envelope" jsonb NOT NULL, "headers" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "published_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "UQ_cc0c9e40998e45ecfc5e313429d" UNIQUE ("event_id"), CONSTRAINT "PK_acf0725c6a7245b71c651964ee4" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "outbox_unpublished_idx" ON "escalation_routing"."outbox" ("seq") WHERE published_at IS NULL`);
    await q.query(`CREATE TABLE "escalation_routing"."account_health_projection" ("account_id" text NOT NULL, "score" numeric(5,2) NOT NULL, "band" text NOT NULL, "previous_band" text, "scorecard_version" integer NOT NULL, "computed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "source_event_id" text NOT NULL, CONSTRAINT "PK_be6ebec440ed21c3e570135fd21" PRIMARY KEY ("account_id"))`);
    await q.query(`CREATE TABLE "escalation_routing"."support_contact" ("kind" text NOT NULL, "ref" text NOT NULL, "account_id" text NOT NULL, "category" text, "needs_cs" boolean NOT NULL DEFAULT false, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_1cf5d8d0c1f4ab13c6ce6805449" PRIMARY KEY ("kind", "ref"))`);
    await q.query(`CREATE INDEX "support_contact_account_time_idx" ON "escalation_routing"."support_contact" ("account_id", "occurred_at") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "escalation_routing"."support_contact_account_time_idx"`);
    await q.query(`DROP TABLE "escalation_routing"."support_contact"`);
    await q.query(`DROP TABLE "escalation_routing"."account_health_projection"`);
    await q.query(`DROP INDEX "escalation_routing"."outbox_unpublished_idx"`);
    await q.query(`DROP TABLE "escalation_routing"."outbox"`);
    await q.query(`DROP TABLE "escalation_routing"."inbox"`);
  }
}
