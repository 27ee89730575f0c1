import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { createDataSource, ensureDatabase, runServiceMigrations } from '@kizuna/shared/persistence';
import { healthScoringData } from '../health-scoring-data';
import { MIGRATIONS } from './index';
import { AccountHealthFeaturesArray1796900000000, FEATURE_ORDER_1796900000000 } from './1796900000000-account-health-features-array';

/**
 * Migration 1796900000000 on rows written by the jsonb schema, in a database of its own: every
 * feature lands at its frozen position (missing and JSON null as NULL), and down gives the object back.
 */
describe('migration: account_health.features from jsonb to float8[]', () => {
  const url = new URL(process.env['DATABASE_URL'] as string);
  url.pathname = `/kizuna_migration_${randomUUID().slice(0, 8)}`;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const at = MIGRATIONS.indexOf(AccountHealthFeaturesArray1796900000000);
  const upTo = (n: number) => createDataSource({ ...healthScoringData, migrations: MIGRATIONS.slice(0, n) }, { url: url.toString(), poolSize: 2 });

  afterAll(async () => {
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
    await c.end();
  });

  it('moves every feature to its position and back', async () => {
    await ensureDatabase(url.toString());
    const before = upTo(at);
    await before.initialize();
    await runServiceMigrations(before, healthScoringData.schema);
    const insert = `INSERT INTO health_scoring.account_health (account_id, score, band, scorecard_id, scorecard_version, computed_at, last_event_id, segment, features)
                    VALUES ($1, 50, 'caution', 'smb', 1, now(), 'seed', 'smb', $2::jsonb)`;
    await before.query(insert, ['full', JSON.stringify(Object.fromEntries(FEATURE_ORDER_1796900000000.map((f, i) => [f, i + 0.5])))]);
    await before.query(insert, ['some', JSON.stringify({ nps_latest: 9, csat_avg_90d: null, downgraded_90d: 1, not_a_feature: 4 })]);
    await before.query(insert, ['none', '{}']);
    await before.destroy();

    const after = upTo(at + 1);
    await after.initialize();
    expect(await runServiceMigrations(after, healthScoringData.schema)).toEqual(['AccountHealthFeaturesArray1796900000000']);
    const rows: { account_id: string; features: (number | null)[] }[] = await after.query(`SELECT account_id, features FROM health_scoring.account_health ORDER BY account_id`);
    const position = (f: string) => FEATURE_ORDER_1796900000000.indexOf(f);
    const some = FEATURE_ORDER_1796900000000.map(() => null as number | null);
    some[position('nps_latest')] = 9;
    some[position('downgraded_90d')] = 1;
    expect(rows).toEqual([
      { account_id: 'full', features: FEATURE_ORDER_1796900000000.map((_, i) => i + 0.5) },
      { account_id: 'none', features: FEATURE_ORDER_1796900000000.map(() => null) },
      { account_id: 'some', features: some },
    ]);

    await after.undoLastMigration({ transaction: 'each' });
    const back: { account_id: string; features: Record<string, number | null> }[] = await after.query(`SELECT account_id, features FROM health_scoring.account_health WHERE account_id = 'some'`);
    expect(back[0]?.features).toEqual({ ...Object.fromEntries(FEATURE_ORDER_1796900000000.map((f) => [f, null])), nps_latest: 9, downgraded_90d: 1 });
    await after.destroy();
  });
});
