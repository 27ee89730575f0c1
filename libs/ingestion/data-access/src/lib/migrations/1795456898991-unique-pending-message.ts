import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UniquePendingMessage1795456898991 implements MigrationInterface {
  name = 'UniquePendingMessage1795456898991';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ingestion"."pending_event_source_idx"`);
    await q.query(`CREATE UNIQUE INDEX "pending_event_message_idx" ON "ingestion"."pending_event" ("source_id", "message_id") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "ingestion"."pending_event_message_idx"`);
    await q.query(`CREATE INDEX "pending_event_source_idx" ON "ingestion"."pending_event" ("source_id") `);
  }
}
