import type { MigrationInterface, QueryRunner } from 'typeorm';

export class LifecycleMachineState1796130623388 implements MigrationInterface {
  name = 'LifecycleMachineState1796130623388';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "lifecycle"."account_lifecycle" ("account_id" text NOT NULL, "state" jsonb NOT NULL, "phase" text, "touch_model" text, "segments" jsonb NOT NULL DEFAULT '{}', "renewal_date" TIMESTAMP WITH TIME ZONE, "onboarding_started_at" TIMESTAMP WITH TIME ZONE, "mrr" numeric(14,2) NOT NULL DEFAULT '0', "horizon_at" TIMESTAMP(3) WITH TIME ZONE, "horizon_key" text, "next_due_at" TIMESTAMP WITH TIME ZONE, "name" text, "owner_csm_email" text, "profile_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_39c2b9a35b8f6525ce29074ab9d" PRIMARY KEY ("account_id"))`);
    await q.query(`CREATE INDEX "account_lifecycle_phase_idx" ON "lifecycle"."account_lifecycle" ("phase") `);
    await q.query(`CREATE INDEX "account_lifecycle_due_idx" ON "lifecycle"."account_lifecycle" ("next_due_at") WHERE next_due_at IS NOT NULL`);
    await q.query(`CREATE TABLE "lifecycle"."lifecycle_signal" ("account_id" text NOT NULL, "key" text NOT NULL, "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "signal" jsonb NOT NULL, CONSTRAINT "PK_255488ed764f11983c14c545701" PRIMARY KEY ("account_id", "key"))`);
    await q.query(`CREATE TABLE "lifecycle"."lifecycle_transition" ("seq" BIGSERIAL NOT NULL, "account_id" text NOT NULL, "kind" text NOT NULL, "dimension" text, "from_value" text, "to_value" text, "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "cause" text, "event_id" text NOT NULL, "data" jsonb NOT NULL, CONSTRAINT "UQ_31c9f6cdc24142eb8f87ec34d24" UNIQUE ("event_id"), CONSTRAINT "PK_7db775d3e6ed297fedba42216f2" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "lifecycle_transition_kind_at_idx" ON "lifecycle"."lifecycle_transition" ("kind", "at") `);
    await q.query(`CREATE INDEX "lifecycle_transition_account_idx" ON "lifecycle"."lifecycle_transition" ("account_id", "kind", "at") `);
    await q.query(`CREATE TABLE "lifecycle"."account_mrr_change" ("account_id" text NOT NULL, "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "mrr" numeric(14,2) NOT NULL, CONSTRAINT "PK_0c30748ca039c070d586f4cdffa" PRIMARY KEY ("account_id", "at"))`);
    await q.query(`CREATE TABLE "lifecycle"."survey_answer" ("response_key" text NOT NULL, "account_id" text NOT NULL, "kind" text NOT NULL, "score" integer NOT NULL, "answered_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_5578bfe5715a133635573a69fa9" PRIMARY KEY ("response_key"))`);
    await q.query(`CREATE INDEX "survey_answer_answered_idx" ON "lifecycle"."survey_answer" ("answered_at") `);
    await q.query(`CREATE TABLE "lifecycle"."lifecycle_rules" ("version" integer NOT NULL, "rules" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a0b59e5a173d31921caeff58289" PRIMARY KEY ("version"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "lifecycle"."lifecycle_rules"`);
    await q.query(`DROP INDEX "lifecycle"."survey_answer_answered_idx"`);
    await q.query(`DROP TABLE "lifecycle"."survey_answer"`);
    await q.query(`DROP TABLE "lifecycle"."account_mrr_change"`);
    await q.query(`DROP INDEX "lifecycle"."lifecycle_transition_account_idx"`);
    await q.query(`DROP INDEX "lifecycle"."lifecycle_transition_kind_at_idx"`);
    await q.query(`DROP TABLE "lifecycle"."lifecycle_transition"`);
    await q.query(`DROP TABLE "lifecycle"."lifecycle_signal"`);
    await q.query(`DROP INDEX "lifecycle"."account_lifecycle_due_idx"`);
    await q.query(`DROP INDEX "lifecycle"."account_lifecycle_phase_idx"`);
    await q.query(`DROP TABLE "lifecycle"."account_lifecycle"`);
  }
}
