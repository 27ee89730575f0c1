import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { analyzeStaleTables, autovacuumSetting } from '@kizuna/shared/persistence';
import { LOCAL_POSTGRES_URL } from '@kizuna/shared/testing';
import { TableStatistics } from './table-statistics.service';

const logger = pino({ level: 'silent' });

/** Planner statistics kept by the service when the server has no autovacuum, on real Postgres. */
describe('table statistics', () => {
  const schema = `it_table_stats_${randomUUID().slice(0, 8)}`;
  let ds: DataSource;

  beforeAll(async () => {
    ds = new DataSource({ type: 'postgres', url: process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL, logging: false, extra: { max: 1 } });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA "${schema}"`);
    // Autovacuum off for these tables whatever the server's setting, so that only the code under test analyzes them.
    for (const t of ['facts', 'quiet', 'Odd Name']) {
      await ds.query(`CREATE TABLE "${schema}"."${t}" (account_id text NOT NULL, day int NOT NULL, PRIMARY KEY (account_id, day)) WITH (autovacuum_enabled = false)`);
    }
  });

  afterAll(async () => {
    await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds.destroy();
  });

  /** Inserts n rows and makes this backend's table counters visible at once (Postgres flushes them lazily). */
  const insert = async (table: string, n: number, from = 0) => {
    await ds.query(`INSERT INTO "${schema}"."${table}" SELECT 'acc-' || (i % 1000), i FROM generate_series($1::int, $2::int) i`, [from, from + n - 1]);
    await ds.query('SELECT pg_stat_force_next_flush()');
    await ds.query('SELECT pg_stat_clear_snapshot()');
  };
  const analyzedAt = async (table: string): Promise<Date | null> =>
    (await ds.query(`SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2`, [schema, table]))[0]?.last_analyze ?? null;
  const flush = () => ds.query('SELECT pg_stat_force_next_flush()').then(() => ds.query('SELECT pg_stat_clear_snapshot()'));

  it('analyzes the tables changed past the analyze threshold (50 rows + 10 % of the table), once, and none other', async () => {
    await insert('facts', 5000);
    await insert('Odd Name', 51);
    await insert('quiet', 50);
    expect(await analyzeStaleTables(ds, schema)).toEqual([`${schema}."Odd Name"`, `${schema}.facts`]);
    await flush();
    expect(await analyzedAt('facts')).not.toBeNull();
    expect(await analyzedAt('quiet')).toBeNull();
    // The planner now knows the table: the row estimate of a whole-table read is its size.
    const [plan] = await ds.query(`EXPLAIN (FORMAT JSON) SELECT * FROM "${schema}".facts`);
    expect(plan['QUERY PLAN'][0].Plan['Plan Rows']).toBe(5000);
    // Nothing changed since: nothing to do.
    expect(await analyzeStaleTables(ds, schema)).toEqual([]);
    // 10 % of 5,000 plus 50 is the threshold: 550 more rows is not past it, 551 is.
    await insert('facts', 550, 10_000);
    expect(await analyzeStaleTables(ds, schema)).toEqual([]);
    await insert('facts', 1, 20_000);
    expect(await analyzeStaleTables(ds, schema)).toEqual([`${schema}.facts`]);
  });

  it('runs at start and on its interval when the server has no autovacuum, and leaves the tables to autovacuum when it has', async () => {
    await insert('quiet', 100, 1000);
    const stats = new TableStatistics(ds, schema, loadConfig(ServiceConfig, { ...process.env, DB_ANALYZE_INTERVAL_MS: '1000' }), logger);
    const spy = jest.spyOn(stats, 'runOnce');
    await stats.onApplicationBootstrap();
    try {
      if ((await autovacuumSetting(ds)) === 'on') {
        expect(spy).not.toHaveBeenCalled();
      } else {
        expect(spy).toHaveBeenCalledTimes(1);
        await expect(spy.mock.results[0]?.value).resolves.toEqual([`${schema}.quiet`]);
        await new Promise<void>((resolve) => {
          // The next run comes from the interval, not from a test's sleep.
          spy.mockImplementationOnce(async () => {
            resolve();
            return [];
          });
        });
      }
    } finally {
      await stats.onModuleDestroy();
    }
  });
});
