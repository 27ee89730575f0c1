import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InboxReceivedIndex1796600000000 implements MigrationInterface {
  name = 'InboxReceivedIndex1796600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "inbox_received_idx" ON "health_scoring"."inbox" ("received_at") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "health_scoring"."inbox_received_idx"`);
  }
}
