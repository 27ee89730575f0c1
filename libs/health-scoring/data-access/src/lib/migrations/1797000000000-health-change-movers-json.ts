import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * health_change.movers from jsonb to json: the movers are written once and read as text (the relay
 * copies them into each cs.health.score.changed.v1 event, the history API parses them), so the jsonb
 * binary form was only converted both ways. Rewrites the table (ALTER COLUMN … TYPE).
 */
export class HealthChangeMoversJson1797000000000 implements MigrationInterface {
  name = 'HealthChangeMoversJson1797000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."health_change" ALTER COLUMN "movers" TYPE json USING movers::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."health_change" ALTER COLUMN "movers" TYPE jsonb USING movers::jsonb`);
  }
}
