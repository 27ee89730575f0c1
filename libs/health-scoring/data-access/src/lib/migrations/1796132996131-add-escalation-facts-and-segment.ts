import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddEscalationFactsAndSegment1796132996131 implements MigrationInterface {
  name = 'AddEscalationFactsAndSegment1796132996131';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "health_scoring"."escalation_fact" ("escalation_id" text NOT NULL, "account_id" text NOT NULL, "reason" text NOT NULL, "state" text NOT NULL, "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_e13ca886132df28d0c7897381ec" PRIMARY KEY ("escalation_id"))`);
    await q.query(`CREATE INDEX "escalation_fact_account_idx" ON "health_scoring"."escalation_fact" ("account_id") `);
    await q.query(`CREATE TABLE "health_scoring"."account_segment" ("account_id" text NOT NULL, "contract_size" text NOT NULL, "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_246acdcdf20a7fdd2d2a1521cb5" PRIMARY KEY ("account_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "health_scoring"."account_segment"`);
    await q.query(`DROP INDEX "health_scoring"."escalation_fact_account_idx"`);
    await q.query(`DROP TABLE "health_scoring"."escalation_fact"`);
  }
}
