import { existsSync, readFileSync, rmSync } from 'node:fs';
import { releaseTestInfrastructure, type TestInfrastructure } from '@kizuna/shared/testing';
import { STATE_FILE } from './global-setup';
import { deleteRunTopics, dropRunDatabases } from './namespace';

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE_FILE)) return;
  const infra = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as TestInfrastructure;
  rmSync(STATE_FILE, { force: true });
  if (infra.testRun) {
    const run = infra.testRun;
    const warn = (what: string) => (e: unknown) => process.stderr.write(`[test-infra] could not ${what}: ${(e as Error).message}\n`);
    await dropRunDatabases(infra.databaseUrl, run).catch(warn(`drop this run's databases (${run})`));
    // A broker given by KAFKA_BROKERS outlives the run (one the run started, or a container, does not).
    if (infra.kafkaFrom === 'env') {
      await deleteRunTopics(infra.kafkaBrokers, `${process.env['KAFKA_TOPIC_PREFIX'] ?? ''}${run}-`).catch(warn(`delete this run's topics (${run}-*)`));
    }
  }
  await releaseTestInfrastructure(infra);
}
