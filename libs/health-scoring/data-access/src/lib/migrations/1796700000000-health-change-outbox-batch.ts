import type { MigrationInterface, QueryRunner } from 'typeorm';

export class HealthChangeOutboxBatch1796700000000 implements MigrationInterface {
  name = 'HealthChangeOutboxBatch1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."health_change" ADD "outbox_batch" uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."health_change" DROP COLUMN "outbox_batch"`);
  }
}
