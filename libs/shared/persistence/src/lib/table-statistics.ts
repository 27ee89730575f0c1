import type { DataSource } from 'typeorm';
import { queryRows } from './data-source';

/** The server's autovacuum setting: 'on' or 'off'. */
export async function autovacuumSetting(ds: DataSource): Promise<string> {
  const [row] = await queryRows<{ value: string }>(ds, `SELECT current_setting('autovacuum') AS value`);
  return row?.value ?? 'on';
}

/**
 * ANALYZEs the tables of `schema` that have changed more than autovacuum's own analyze threshold
 * since their statistics were last taken (the server's `autovacuum_analyze_threshold` rows plus
 * `autovacuum_analyze_scale_factor` of the table, a table's own storage parameters first), one
 * statement per table; returns their names. For a server running without autovacuum: there, a table
 * that grows from empty is never analyzed, and the planner, seeing no statistics, takes a lookup of
 * a few hundred accounts for a read of the whole table (measured in docs/benchmarks.md).
 */
export async function analyzeStaleTables(ds: DataSource, schema: string): Promise<string[]> {
  const stale = await queryRows<{ name: string }>(
    ds,
    `SELECT format('%I.%I', s.schemaname, s.relname) AS name
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
       CROSS JOIN LATERAL (SELECT
         coalesce((SELECT split_part(o, '=', 2) FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum_analyze_threshold=%'),
                  current_setting('autovacuum_analyze_threshold'))::float8 AS base,
         coalesce((SELECT split_part(o, '=', 2) FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum_analyze_scale_factor=%'),
                  current_setting('autovacuum_analyze_scale_factor'))::float8 AS scale) t
      WHERE s.schemaname = $1 AND s.n_mod_since_analyze > t.base + t.scale * greatest(c.reltuples, 0)
      ORDER BY s.relname`,
    [schema],
  );
  for (const { name } of stale) await ds.query(`ANALYZE ${name}`);
  return stale.map((t) => t.name);
}
