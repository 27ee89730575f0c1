import type { MigrationInterface, QueryRunner } from 'typeorm';

export class LifecycleStepStaging1796167009510 implements MigrationInterface {
  name = 'LifecycleStepStaging1796167009510';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "lifecycle"."account_lifecycle" ADD "pending_step" integer`);
    await q.query(`ALTER TABLE "lifecycle"."lifecycle_signal" ADD "step" integer`);
    await q.query(`CREATE INDEX "account_lifecycle_pending_idx" ON "lifecycle"."account_lifecycle" ("pending_step") WHERE pending_step IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "lifecycle"."account_lifecycle_pending_idx"`);
    await q.query(`ALTER TABLE "lifecycle"."lifecycle_signal" DROP COLUMN "step"`);
    await q.query(`ALTER TABLE "lifecycle"."account_lifecycle" DROP COLUMN "pending_step"`);
  }
}
