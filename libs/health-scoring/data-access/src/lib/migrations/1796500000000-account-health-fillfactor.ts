import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * account_health is rewritten on every rescore (streaming, sweep, backfill) and has one index, the
 * primary key, on a column a rescore never changes. With free room on each page the rewrite stays
 * on its page as a heap-only tuple (no new primary-key entry, the old version pruned in place); at
 * the default fillfactor (100) every rewrite moved the row to another page and added an index entry.
 * Existing pages take the setting as they are rewritten (or at the next VACUUM FULL).
 */
export class AccountHealthFillfactor1796500000000 implements MigrationInterface {
  name = 'AccountHealthFillfactor1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."account_health" SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "health_scoring"."account_health" RESET (fillfactor)`);
  }
}
