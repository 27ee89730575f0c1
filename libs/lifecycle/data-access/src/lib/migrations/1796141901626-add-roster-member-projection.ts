import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddRosterMemberProjection1796141901626 implements MigrationInterface {
  name = 'AddRosterMemberProjection1796141901626';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "lifecycle"."roster_member_projection" ("csm_id" text NOT NULL, "email" text NOT NULL, "team_id" text, "active" boolean NOT NULL, "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "source_event_id" text NOT NULL, CONSTRAINT "PK_389896cce4fea6570a830ea7cf0" PRIMARY KEY ("csm_id"))`);
    await q.query(`CREATE INDEX "roster_member_projection_team_idx" ON "lifecycle"."roster_member_projection" ("team_id", "email") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "lifecycle"."roster_member_projection_team_idx"`);
    await q.query(`DROP TABLE "lifecycle"."roster_member_projection"`);
  }
}
