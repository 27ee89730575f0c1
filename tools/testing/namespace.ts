// Every integration and e2e test file runs against Kafka topics and a database of its own, so the
// services one file starts never act on another file's data (files run two at a time):
// - topics: KAFKA_TOPIC_PREFIX `<run>-<file>.` (libs/shared/contracts reads it when it loads);
// - database: `<test database>_<run>_<file>`, a copy of the test database that globalSetup migrated
//   (CREATE DATABASE … TEMPLATE: about 0.1 s), so the services start on a migrated schema.
// Without them one file's lifecycle put segments on another file's health accounts, one file's
// notification service claimed and sent another's deliveries with its own retry schedule, and
// health sweeps and backfills ran over every file's accounts.
// globalTeardown deletes the run's topics (from a broker that outlives the run) and drops its databases.
// No import here may load @kizuna/shared/contracts: test-namespace.ts imports this file before it sets
// KAFKA_TOPIC_PREFIX, and the topic names are fixed when contracts loads.
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

/** globalSetup's id of the run (`kt` + 6 hex digits): the start of every name its files use. */
export const RUN_ENV = 'KIZUNA_TEST_RUN';
/** The migrated test database every file's database is copied from. */
export const TEMPLATE_URL_ENV = 'KIZUNA_TEST_TEMPLATE_URL';

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

async function withAdmin<T>(url: string, f: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl(url) });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** The file's database URL: the template's, with `_<run>_<file>` after its database name. */
export function fileDatabaseUrl(templateUrl: string, run: string, file: string): string {
  const u = new URL(templateUrl);
  u.pathname = `/${databaseOf(templateUrl)}_${run}_${file}`;
  return u.toString();
}

export async function createFileDatabase(url: string, templateUrl: string): Promise<void> {
  await withAdmin(url, (c) => c.query(`CREATE DATABASE ${ident(databaseOf(url))} TEMPLATE ${ident(databaseOf(templateUrl))}`));
}

/** Drops the databases of the run's files (their services are stopped by now; FORCE ends what is left). */
export async function dropRunDatabases(templateUrl: string, run: string): Promise<void> {
  await withAdmin(templateUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [`${databaseOf(templateUrl)}_${run}_`]);
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`);
  });
}

/** Deletes the topics whose names start with `prefix` (the run's). */
export async function deleteRunTopics(brokers: string, prefix: string): Promise<void> {
  const admin = new Kafka({ clientId: 'kizuna-test-teardown', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30000 });
  } finally {
    await admin.disconnect();
  }
}
