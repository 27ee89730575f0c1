import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddEscalationsRosterRulesContext1796130722238 implements MigrationInterface {
  name = 'AddEscalationsRosterRulesContext1796130722238';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "escalation_routing"."account_context" ("account_id" text NOT NULL, "name" text, "arr" numeric(14,2), "region" text, "owner_csm_email" text, "plan" text, "directory_at" TIMESTAMP WITH TIME ZONE, "top_movers" jsonb NOT NULL DEFAULT '[]', "health_at" TIMESTAMP WITH TIME ZONE, "phase" text, "phase_at" TIMESTAMP WITH TIME ZONE, "touch_model" text, "touch_model_at" TIMESTAMP WITH TIME ZONE, "usage_status" text, "usage_status_at" TIMESTAMP WITH TIME ZONE, "onboarding_stalled_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_dade15b3e3602d67d3c30a93e56" PRIMARY KEY ("account_id"))`);
    await q.query(`CREATE TABLE "escalation_routing"."csm" ("id" text NOT NULL, "name" text NOT NULL, "email" text NOT NULL, "region" text, "team_id" text, "specialties" text array NOT NULL DEFAULT '{}', "capacity" integer NOT NULL, "active" boolean NOT NULL, "out_of_office_from" TIMESTAMP WITH TIME ZONE, "out_of_office_to" TIMESTAMP WITH TIME ZONE, "notification_channels" jsonb NOT NULL DEFAULT '[]', "last_assigned_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_94a5f8093c4083fe4a2dcb5fc96" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "csm_email_idx" ON "escalation_routing"."csm" ("email") `);
    await q.query(`CREATE TABLE "escalation_routing"."team" ("id" text NOT NULL, "name" text NOT NULL, "region" text NOT NULL, "lead_csm_id" text, "business_hours" jsonb NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_f57d8293406df4af348402e4b74" PRIMARY KEY ("id"))`);
    await q.query(`CREATE TABLE "escalation_routing"."escalation_rules" ("version" integer NOT NULL, "definition" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_by" text NOT NULL, CONSTRAINT "PK_afc7f444eed1bfebc16e1a75940" PRIMARY KEY ("version"))`);
    await q.query(`CREATE TABLE "escalation_routing"."escalation" ("id" uuid NOT NULL, "account_id" text NOT NULL, "reason" text NOT NULL, "rule" text NOT NULL, "rules_version" integer, "state" text NOT NULL, "priority" text NOT NULL, "assignee_csm_id" text, "team_id" text, "routing_why" text, "opened_why" text NOT NULL, "opened_by" text NOT NULL, "opened_at" TIMESTAMP WITH TIME ZONE NOT NULL, "assigned_at" TIMESTAMP WITH TIME ZONE, "ack_due_at" TIMESTAMP WITH TIME ZONE, "acknowledged_at" TIMESTAMP WITH TIME ZONE, "closed_at" TIMESTAMP WITH TIME ZONE, "resolution" text, "hand_back_note" text, "sla_breached_at" TIMESTAMP WITH TIME ZONE, "breach_count" integer NOT NULL DEFAULT '0', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_2c9a4d9277ed8620a8a72813864" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "escalation_ack_due_idx" ON "escalation_routing"."escalation" ("ack_due_at") WHERE state IN ('open', 'assigned')`);
    await q.query(`CREATE INDEX "escalation_assignee_idx" ON "escalation_routing"."escalation" ("assignee_csm_id", "state") `);
    await q.query(`CREATE INDEX "escalation_account_idx" ON "escalation_routing"."escalation" ("account_id", "opened_at") `);
    await q.query(`CREATE UNIQUE INDEX "escalation_open_reason_idx" ON "escalation_routing"."escalation" ("account_id", "reason") WHERE state IN ('open', 'assigned', 'acknowledged')`);
    await q.query(`CREATE TABLE "escalation_routing"."escalation_evidence" ("seq" BIGSERIAL NOT NULL, "escalation_id" uuid NOT NULL, "kind" text NOT NULL, "ref" text NOT NULL, "summary" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "rule" text NOT NULL, "why" text NOT NULL, "added_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_b5e3cee311122c05fcb7c4d2422" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE UNIQUE INDEX "escalation_evidence_ref_idx" ON "escalation_routing"."escalation_evidence" ("escalation_id", "kind", "ref") `);
    await q.query(`CREATE TABLE "escalation_routing"."escalation_audit" ("seq" BIGSERIAL NOT NULL, "escalation_id" uuid NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "actor" text NOT NULL, "action" text NOT NULL, "detail" jsonb NOT NULL, CONSTRAINT "PK_6f09b09a26395399d3cc34fa429" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "escalation_audit_escalation_idx" ON "escalation_routing"."escalation_audit" ("escalation_id", "seq") `);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "tags" text array NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "subject" text`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "channel" text`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "status" text`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "priority" text`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "sentiment" numeric(4,3)`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "satisfaction" smallint`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "first_response_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" ADD "resolved_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "resolved_at"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "first_response_at"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "satisfaction"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "sentiment"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "priority"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "status"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "channel"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "subject"`);
    await q.query(`ALTER TABLE "escalation_routing"."support_contact" DROP COLUMN "tags"`);
    await q.query(`DROP INDEX "escalation_routing"."escalation_audit_escalation_idx"`);
    await q.query(`DROP TABLE "escalation_routing"."escalation_audit"`);
    await q.query(`DROP INDEX "escalation_routing"."escalation_evidence_ref_idx"`);
    await q.query(`DROP TABLE "escalation_routing"."escalation_evidence"`);
    await q.query(`DROP INDEX "escalation_routing"."escalation_open_reason_idx"`);
    await q.query(`DROP INDEX "escalation_routing"."escalation_account_idx"`);
    await q.query(`DROP INDEX "escalation_routing"."escalation_assignee_idx"`);
    await q.query(`DROP INDEX "escalation_routing"."escalation_ack_due_idx"`);
    await q.query(`DROP TABLE "escalation_routing"."escalation"`);
    await q.query(`DROP TABLE "escalation_routing"."escalation_rules"`);
    await q.query(`DROP TABLE "escalation_routing"."team"`);
    await q.query(`DROP INDEX "escalation_routing"."csm_email_idx"`);
    await q.query(`DROP TABLE "escalation_routing"."csm"`);
    await q.query(`DROP TABLE "escalation_routing"."account_context"`);
  }
}
