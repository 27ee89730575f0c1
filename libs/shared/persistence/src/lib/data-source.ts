import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';
import { Client } from 'pg';
import { createHash } from 'node:crypto';

type EntityTarget = string | EntitySchema | (new (...args: never[]) => unknown);

/** What a service declares about its own data: one schema, its entities and migrations. */
export interface ServiceDataSpec {
  /** Postgres schema owned by the service, e.g. "health_scoring". */
  schema: string;
  entities: MixedList<EntityTarget>;
  migrations: MixedList<string | (new () => unknown)>;
  /**
   * The least time published outbox rows are kept (OUTBOX_RETAIN_MS may ask for longer): for a
   * service whose enqueueOutbox(…, { skipDuplicates }) relies on them to leave out a re-emitted id.
   */
  outboxRetainMs?: number;
}

export interface DataSourceParams {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

export function dataSourceOptions(spec: ServiceDataSpec, params: DataSourceParams): DataSourceOptions {
  return {
    type: 'postgres',
    url: params.url,
    schema: spec.schema,
    entities: spec.entities as DataSourceOptions['entities'],
    migrations: spec.migrations as DataSourceOptions['migrations'],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    // TypeORM's own error log prints the query's parameters (personal data, secrets): off. A failed
    // query surfaces as an exception, logged by its caller with the message only.
    logging: false,
    applicationName: params.applicationName ?? `kizuna-${spec.schema}`,
    extra: { max: params.poolSize ?? 10 },
  };
}

export function createDataSource(spec: ServiceDataSpec, params: DataSourceParams): DataSource {
  return new DataSource(dataSourceOptions(spec, params));
}

/** A stable advisory-lock key per schema, so concurrent instances migrate one at a time. */
function lockKey(schema: string): string {
  return BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`kizuna:migrate:${schema}`).digest('hex').slice(0, 16)}`)).toString();
}

/**
 * Creates the service's schema if needed and applies its pending migrations, holding a
 * Postgres advisory lock so that several instances starting together do not race.
 * Returns the names of the migrations applied.
 */
export async function runServiceMigrations(ds: DataSource, schema: string): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  const key = lockKey(schema);
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [key]);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
    await runner.release();
  }
}

/**
 * The SQL `migration:generate` would write: empty when entities and migrations are in step.
 * Run it after the migrations have been applied.
 */
export async function pendingSchemaChanges(ds: DataSource): Promise<string[]> {
  const log = await ds.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

/**
 * Makes sure the database named in the URL exists: connects to it, and when Postgres answers
 * "does not exist" creates it through the "postgres" maintenance database.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const unreachable = (e: unknown) =>
    new Error(
      `cannot reach Postgres at ${target.host} (${(e as Error).message}). ` +
        'Set DATABASE_URL, or start the local server (see docs/operations.md).',
    );
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw unreachable(e);
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (e) {
    throw unreachable(e);
  }
  try {
    await client.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
      // Created concurrently (several services starting at once): 42P04, or 23505 on pg_database's
      // unique index when the other CREATE commits while this one runs.
      if (e.code !== '42P04' && e.code !== '23505') throw e;
    });
  } finally {
    await client.end();
  }
}

/**
 * Runs a query and returns its rows. TypeORM's Postgres driver answers UPDATE and DELETE with
 * `[rows, rowCount]` and everything else with `rows`; this hides the difference.
 */
export async function queryRows<T>(runner: { query: (sql: string, params?: unknown[]) => Promise<unknown> }, sql: string, params: unknown[] = []): Promise<T[]> {
  const result = await runner.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}
