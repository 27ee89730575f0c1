import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddSupportIntake1795456121438 implements MigrationInterface {
  name = 'AddSupportIntake1795456121438';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "ingestion"."source_secret" ("id" text NOT NULL, "source_id" text NOT NULL, "secret_enc" text NOT NULL, "hint" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_fea96cf7b5c88a2007a2afad3c6" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "source_secret_source_idx" ON "ingestion"."source_secret" ("source_id") `);
    await q.query(`CREATE TABLE "ingestion"."account_domain" ("domain" text NOT NULL, "account_id" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_5b864a366c0b80e94e01ba4284a" PRIMARY KEY ("domain"))`);
    await q.query(`CREATE TABLE "ingestion"."contact" ("email" text NOT NULL, "account_id" text NOT NULL, "user_id" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_eff09bb429f175523787f46003b" PRIMARY KEY ("email"))`);
    await q.query(`CREATE TABLE "ingestion"."unmatched_record" ("seq" BIGSERIAL NOT NULL, "source_id" text NOT NULL, "kind" text NOT NULL, "external_id" text NOT NULL, "message_id" text NOT NULL, "email" text, "domain" text, "draft" jsonb NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_d17c48f517e32f9a0fea6cb3b48" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "unmatched_record_domain_idx" ON "ingestion"."unmatched_record" ("domain") `);
    await q.query(`CREATE INDEX "unmatched_record_email_idx" ON "ingestion"."unmatched_record" ("email") `);
    await q.query(`CREATE TABLE "ingestion"."call_record_state" ("source_id" text NOT NULL, "contact_id" text NOT NULL, "last_updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_f04cf6b39a0f3060e7f20dfba33" PRIMARY KEY ("source_id", "contact_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "ingestion"."call_record_state"`);
    await q.query(`DROP INDEX "ingestion"."unmatched_record_email_idx"`);
    await q.query(`DROP INDEX "ingestion"."unmatched_record_domain_idx"`);
    await q.query(`DROP TABLE "ingestion"."unmatched_record"`);
    await q.query(`DROP TABLE "ingestion"."contact"`);
    await q.query(`DROP TABLE "ingestion"."account_domain"`);
    await q.query(`DROP INDEX "ingestion"."source_secret_source_idx"`);
    await q.query(`DROP TABLE "ingestion"."source_secret"`);
  }
}
