import { existsSync, readFileSync, rmSync } from 'node:fs';
import { releaseTestInfrastructure, testKafka, type TestInfrastructure } from '@kizuna/shared/testing';
import { STATE_FILE } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE_FILE)) return;
  const infra = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as TestInfrastructure;
  rmSync(STATE_FILE, { force: true });
  // A broker given by KAFKA_BROKERS outlives the run: take the run's topics off it (a broker the run
  // started, or a container, goes away with them).
  if (infra.kafkaFrom === 'env' && infra.testRun) await deleteRunTopics(infra.kafkaBrokers, `${process.env['KAFKA_TOPIC_PREFIX'] ?? ''}${infra.testRun}-`);
  await releaseTestInfrastructure(infra);
}

async function deleteRunTopics(brokers: string, prefix: string): Promise<void> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30000 });
  } catch (e) {
    process.stderr.write(`[test-infra] could not delete this run's topics (${prefix}*): ${(e as Error).message}\n`);
  } finally {
    await admin.disconnect();
  }
}
