import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddProfileOwnerCsmEmail1796133195359 implements MigrationInterface {
  name = 'AddProfileOwnerCsmEmail1796133195359';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."account_profile" ADD "owner_csm_email" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."account_profile" DROP COLUMN "owner_csm_email"`);
  }
}
