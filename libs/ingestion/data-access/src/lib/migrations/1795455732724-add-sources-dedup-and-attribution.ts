import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddSourcesDedupAndAttribution1795455732724 implements MigrationInterface {
  name = 'AddSourcesDedupAndAttribution1795455732724';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "ingestion"."source" ("id" text NOT NULL, "name" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_018c433f8264b58c86363eaadde" PRIMARY KEY ("id"))`);
    await q.query(`CREATE TABLE "ingestion"."source_key" ("id" text NOT NULL, "source_id" text NOT NULL, "key_hash" text NOT NULL, "hint" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_a37f1f7364cdb7b729b6d63ccc0" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "source_key_source_idx" ON "ingestion"."source_key" ("source_id") `);
    await q.query(`CREATE UNIQUE INDEX "source_key_hash_idx" ON "ingestion"."source_key" ("key_hash") `);
    await q.query(`CREATE TABLE "ingestion"."received_message" ("source_id" text NOT NULL, "message_id" text NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_44a1cd5db27a0b0709c826b3f3c" PRIMARY KEY ("source_id", "message_id"))`);
    await q.query(`CREATE INDEX "received_message_time_idx" ON "ingestion"."received_message" ("received_at") `);
    await q.query(`CREATE TABLE "ingestion"."user_account" ("source_id" text NOT NULL, "user_key" text NOT NULL, "account_id" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_d02d3a20455256fad57beb71993" PRIMARY KEY ("source_id", "user_key"))`);
    await q.query(`CREATE TABLE "ingestion"."pending_event" ("seq" BIGSERIAL NOT NULL, "source_id" text NOT NULL, "message_id" text NOT NULL, "user_keys" text array NOT NULL, "message" jsonb NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_2b8d28233a5c09a4c2b0bf6a0ca" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "pending_event_expiry_idx" ON "ingestion"."pending_event" ("expires_at") `);
    await q.query(`CREATE INDEX "pending_event_source_idx" ON "ingestion"."pending_event" ("source_id") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ingestion"."pending_event_source_idx"`);
    await q.query(`DROP INDEX "ingestion"."pending_event_expiry_idx"`);
    await q.query(`DROP TABLE "ingestion"."pending_event"`);
    await q.query(`DROP TABLE "ingestion"."user_account"`);
    await q.query(`DROP INDEX "ingestion"."received_message_time_idx"`);
    await q.query(`DROP TABLE "ingestion"."received_message"`);
    await q.query(`DROP INDEX "ingestion"."source_key_hash_idx"`);
    await q.query(`DROP INDEX "ingestion"."source_key_source_idx"`);
    await q.query(`DROP TABLE "ingestion"."source_key"`);
    await q.query(`DROP TABLE "ingestion"."source"`);
  }
}
