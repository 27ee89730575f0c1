import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddChannelsDeliveriesPreferencesPlays1796133127154 implements MigrationInterface {
  name = 'AddChannelsDeliveriesPreferencesPlays1796133127154';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "notification"."recipient" ("csm_id" text NOT NULL, "email" text NOT NULL, "name" text, "time_zone" text NOT NULL DEFAULT 'UTC', "quiet_start" text, "quiet_end" text, "digest_enabled" boolean NOT NULL DEFAULT false, "digest_hour" integer NOT NULL DEFAULT '9', "channels" jsonb NOT NULL DEFAULT '{}', "slack_webhook_url" text, "webhooks" jsonb NOT NULL DEFAULT '[]', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_6f8cbf8639225d2327854a8a02e" PRIMARY KEY ("csm_id"))`);
    await q.query(`CREATE UNIQUE INDEX "recipient_email_idx" ON "notification"."recipient" ("email") `);
    await q.query(`CREATE TABLE "notification"."notification" ("id" uuid NOT NULL, "trigger_event_id" text NOT NULL, "trigger" text NOT NULL, "recipient" text NOT NULL, "account_id" text NOT NULL, "priority" text NOT NULL, "title" text NOT NULL, "content" jsonb NOT NULL, "in_app" boolean NOT NULL, "read_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "notification_trigger_recipient_uq" UNIQUE ("trigger_event_id", "trigger", "recipient"), CONSTRAINT "PK_705b6c7cdf9b2c2ff7ac7872cb7" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "notification_inbox_idx" ON "notification"."notification" ("recipient", "created_at") `);
    await q.query(`CREATE TABLE "notification"."delivery" ("id" uuid NOT NULL, "seq" BIGSERIAL NOT NULL, "idempotency_key" text NOT NULL, "notification_id" uuid NOT NULL, "trigger_event_id" text NOT NULL, "trigger" text NOT NULL, "recipient" text NOT NULL, "account_id" text NOT NULL, "channel" text NOT NULL, "address" text NOT NULL, "target_key" text NOT NULL, "endpoint_id" text, "mode" text NOT NULL DEFAULT 'instant', "status" text NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "throttled" integer NOT NULL DEFAULT '0', "held" boolean NOT NULL DEFAULT false, "next_attempt_at" TIMESTAMP WITH TIME ZONE, "lease_until" TIMESTAMP WITH TIME ZONE, "delivered_at" TIMESTAMP WITH TIME ZONE, "provider_response" text, "last_error" text, "attempt_log" jsonb NOT NULL DEFAULT '[]', "trace_headers" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_ffad7bf84e68716cd9af89003b0" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "delivery_idempotency_uq" ON "notification"."delivery" ("idempotency_key") `);
    await q.query(`CREATE INDEX "delivery_status_idx" ON "notification"."delivery" ("status", "updated_at") `);
    await q.query(`CREATE INDEX "delivery_target_idx" ON "notification"."delivery" ("target_key", "seq") `);
    await q.query(`CREATE INDEX "delivery_due_idx" ON "notification"."delivery" ("next_attempt_at") WHERE status IN ('pending', 'failed', 'sending')`);
    await q.query(`CREATE TABLE "notification"."channel_target" ("target_key" text NOT NULL, "next_send_at" TIMESTAMP WITH TIME ZONE, "failing_since" TIMESTAMP WITH TIME ZONE, "disabled_at" TIMESTAMP WITH TIME ZONE, "last_error" text, CONSTRAINT "PK_4c3a09ab74c6fb3af2fd412fc5a" PRIMARY KEY ("target_key"))`);
    await q.query(`CREATE TABLE "notification"."account_directory" ("account_id" text NOT NULL, "name" text, "owner_email" text, "touch_model" text, "segments" jsonb NOT NULL DEFAULT '{}', "first_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "directory_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_2eb881f6ca2b5b98445e295db3a" PRIMARY KEY ("account_id"))`);
    await q.query(`CREATE TABLE "notification"."account_contact" ("account_id" text NOT NULL, "user_id" text NOT NULL, "email" text NOT NULL, "name" text, "role" text, "is_admin" boolean NOT NULL DEFAULT false, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_03c446a1401096c2d27edc31287" PRIMARY KEY ("account_id", "user_id"))`);
    await q.query(`CREATE TABLE "notification"."account_feature_use" ("account_id" text NOT NULL, "feature" text NOT NULL, "first_used_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_032d7d5c65cb289c11844f9a037" PRIMARY KEY ("account_id", "feature"))`);
    await q.query(`CREATE TABLE "notification"."contact_opt_out" ("email" text NOT NULL, "via" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5f9689c9e42b511057731435ab3" PRIMARY KEY ("email"))`);
    await q.query(`CREATE TABLE "notification"."play_send" ("play_id" text NOT NULL, "email" text NOT NULL, "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_d4d489ebf9c56e5f21e91bc27bc" PRIMARY KEY ("play_id", "email"))`);
    await q.query(`CREATE TABLE "notification"."notification_setting" ("key" text NOT NULL, "version" integer NOT NULL, "value" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_6b5d841cc318d35d7e42e7231ac" PRIMARY KEY ("key", "version"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "notification"."notification_setting"`);
    await q.query(`DROP TABLE "notification"."play_send"`);
    await q.query(`DROP TABLE "notification"."contact_opt_out"`);
    await q.query(`DROP TABLE "notification"."account_feature_use"`);
    await q.query(`DROP TABLE "notification"."account_contact"`);
    await q.query(`DROP TABLE "notification"."account_directory"`);
    await q.query(`DROP TABLE "notification"."channel_target"`);
    await q.query(`DROP INDEX "notification"."delivery_due_idx"`);
    await q.query(`DROP INDEX "notification"."delivery_target_idx"`);
    await q.query(`DROP INDEX "notification"."delivery_status_idx"`);
    await q.query(`DROP INDEX "notification"."delivery_idempotency_uq"`);
    await q.query(`DROP TABLE "notification"."delivery"`);
    await q.query(`DROP INDEX "notification"."notification_inbox_idx"`);
    await q.query(`DROP TABLE "notification"."notification"`);
    await q.query(`DROP INDEX "notification"."recipient_email_idx"`);
    await q.query(`DROP TABLE "notification"."recipient"`);
  }
}
