import type { DataSource } from 'typeorm';
import {
  createDataSource, ensureDatabase, pendingSchemaChanges, runServiceMigrations, type ServiceDataSpec,
} from '@kizuna/shared/persistence';

/** The same server and credentials as `url`, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface SchemaDiff {
  up: string[];
  down: string[];
}

/**
 * Rebuilds the service's schema from its migrations in a scratch database and returns the SQL
 * `migration:generate` would produce (empty when entities and migrations are in step).
 */
export async function diffAgainstMigrations(spec: ServiceDataSpec, scratchUrl: string): Promise<SchemaDiff> {
  await ensureDatabase(scratchUrl);
  const ds: DataSource = createDataSource(spec, { url: scratchUrl, poolSize: 2 });
  await ds.initialize();
  try {
    await ds.query(`DROP SCHEMA IF EXISTS "${spec.schema}" CASCADE`);
    await runServiceMigrations(ds, spec.schema);
    const log = await ds.driver.createSchemaBuilder().log();
    return { up: log.upQueries.map((q) => q.query), down: log.downQueries.map((q) => q.query).reverse() };
  } finally {
    await ds.destroy();
  }
}

export { pendingSchemaChanges };
