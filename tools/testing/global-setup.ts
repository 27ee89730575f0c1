import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { installRequestQueueTimerFix } from '@kizuna/shared/messaging';
import { createDataSource, ensureDatabase, runServiceMigrations } from '@kizuna/shared/persistence';
import { provisionTestInfrastructure, repoRoot } from '@kizuna/shared/testing';
import { SERVICE_DATA } from '../db/data-specs';
import { RUN_ENV, TEMPLATE_URL_ENV } from './namespace';

export const STATE_FILE = join(repoRoot(), '.kizuna', 'test-infra.json');

/**
 * Jest globalSetup for integration and e2e tests: real Kafka and Postgres (see
 * provisionTestInfrastructure), every service schema rebuilt from its migrations once, and the
 * services built into dist/ once for the suites that run them as processes (built here, not per
 * suite: a suite's rebuild removed dist/ under another suite's starting services).
 */
export default async function globalSetup(): Promise<void> {
  const log = (m: string) => process.stderr.write(`[test-infra] ${m}\n`);
  installRequestQueueTimerFix(); // the broker checks' kafkajs clients, as the services have it (no TimeoutNegativeWarning)
  execFileSync(process.execPath, [join(repoRoot(), 'tools/scripts/build.mjs')], { stdio: 'ignore' });
  const infra = await provisionTestInfrastructure(log);
  // The run's id starts the names of every test file's topics and database (namespace.ts); the
  // database migrated below is the template of theirs.
  infra.testRun = `kt${randomBytes(3).toString('hex')}`;
  process.env[RUN_ENV] = infra.testRun;
  process.env[TEMPLATE_URL_ENV] = infra.databaseUrl;
  process.env['KAFKA_BROKERS'] = infra.kafkaBrokers;
  process.env['DATABASE_URL'] = infra.databaseUrl;
  await ensureDatabase(infra.databaseUrl);
  log(`kafka ${infra.kafkaBrokers} (${infra.kafkaFrom}), postgres ${new URL(infra.databaseUrl).host} (${infra.postgresFrom})`);
  for (const { spec } of Object.values(SERVICE_DATA)) {
    const ds = createDataSource(spec, { url: infra.databaseUrl, poolSize: 2 });
    await ds.initialize();
    try {
      await ds.query(`DROP SCHEMA IF EXISTS "${spec.schema}" CASCADE`);
      await runServiceMigrations(ds, spec.schema);
    } finally {
      await ds.destroy();
    }
  }
  mkdirSync(join(repoRoot(), '.kizuna'), { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(infra, null, 2));
}
