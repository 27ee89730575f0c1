import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * outbox.envelope and outbox.headers from jsonb to json: a row is written once, read once as text by
 * the relay and deleted, so the binary form was only a conversion each way (jsonb input was three
 * quarters of the insert's time). Rewrites the table (ALTER COLUMN … TYPE); the outbox holds only
 * what is not yet published.
 */
export class OutboxJson1797100000000 implements MigrationInterface {
  name = 'OutboxJson1797100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "health_scoring"."outbox" ALTER COLUMN "envelope" TYPE json USING envelope::json, ALTER COLUMN "headers" DROP DEFAULT,
         ALTER COLUMN "headers" TYPE json USING headers::json, ALTER COLUMN "headers" SET DEFAULT '{}'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "health_scoring"."outbox" ALTER COLUMN "envelope" TYPE jsonb USING envelope::jsonb, ALTER COLUMN "headers" DROP DEFAULT,
         ALTER COLUMN "headers" TYPE jsonb USING headers::jsonb, ALTER COLUMN "headers" SET DEFAULT '{}'`,
    );
  }
}
