import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OutboxPublishedIndex1796800000000 implements MigrationInterface {
  name = 'OutboxPublishedIndex1796800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "outbox_published_idx" ON "notification"."outbox" ("published_at") WHERE published_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "notification"."outbox_published_idx"`);
  }
}
