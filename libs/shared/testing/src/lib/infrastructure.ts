import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/** Where the tests' Kafka and Postgres came from, and what to stop afterwards. */
export interface TestInfrastructure {
  kafkaBrokers: string;
  databaseUrl: string;
  kafkaFrom: 'env' | 'testcontainers' | 'local-broker';
  postgresFrom: 'env' | 'testcontainers' | 'local-server';
  /** True when this run started the local broker (and so must stop it). */
  startedLocalBroker: boolean;
  containerIds: string[];
  /** This run's id, the start of the names of its test files' topics and databases (tools/testing/namespace.ts). */
  testRun?: string;
}

/**
 * The local test database and broker port. KIZUNA_TEST_DATABASE / KIZUNA_TEST_KAFKA_PORT move them,
 * so two checkouts on one machine can run their suites at the same time.
 */
export const TEST_DATABASE = process.env['KIZUNA_TEST_DATABASE'] || 'kizuna_test';
export const LOCAL_POSTGRES_URL = `postgres://postgres@127.0.0.1:5432/${TEST_DATABASE}`;
/** The test suite's own broker (fresh every run, never the dev broker of `npm start`). */
export const TEST_KAFKA_PORT = Number(process.env['KIZUNA_TEST_KAFKA_PORT'] || 19092);
export const LOCAL_KAFKA_BROKERS = `127.0.0.1:${TEST_KAFKA_PORT}`;

/**
 * The HTTP ports of the suites that start service processes, in one table so two suites running side
 * by side never share one (CI: notification-restart's service took crash replay's ingestion port, and
 * the replay's requests were answered 404 by the wrong service). KIZUNA_TEST_BASE_PORT moves the whole
 * range (checkouts running their suites at once); each suite owns ten ports from its offset.
 */
export const TEST_BASE_PORT = Number(process.env['KIZUNA_TEST_BASE_PORT'] || 13001);
const TEST_PORT_OFFSETS = {
  walkingSkeleton: 0,
  crashReplay: 10,
  traceToNotification: 20,
  notificationRestart: 30,
  personas: 40,
  laneProcess: 50,
} as const;
/** The first port of a suite's range of ten (services use first + their index in SERVICES). */
export function testPortRange(suite: keyof typeof TEST_PORT_OFFSETS): number {
  return TEST_BASE_PORT + TEST_PORT_OFFSETS[suite];
}

export function testBrokerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_PORT: String(TEST_KAFKA_PORT),
    KAFKA_CONTROLLER_PORT: String(TEST_KAFKA_PORT + 1),
    KAFKA_DATA_DIR: join(repoRoot(), '.kizuna', 'kafka-test'),
    KAFKA_HEAP_OPTS: process.env['KAFKA_TEST_HEAP_OPTS'] ?? '-Xms256m -Xmx768m',
  };
}

export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = join(dir, '..');
    if (up === dir) throw new Error('cannot find the repository root (nx.json)');
    dir = up;
  }
  return dir;
}

/** Does a Docker engine answer? (The client alone is not enough.) */
export async function dockerEngineAvailable(): Promise<boolean> {
  if (process.env['KIZUNA_TEST_DOCKER'] === 'off') return false;
  const hasSocket = !!process.env['DOCKER_HOST'] || existsSync('/var/run/docker.sock') || existsSync(join(process.env['HOME'] ?? '', '.docker/run/docker.sock'));
  if (!hasSocket) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 10000)),
    ]);
    return true;
  } catch {
    return false;
  }
}

async function postgresAnswers(url: string): Promise<boolean> {
  const u = new URL(url);
  u.pathname = '/postgres';
  const c = new Client({ connectionString: u.toString(), connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Real Kafka and real Postgres for integration and end-to-end tests, in this order of preference:
 * KAFKA_BROKERS / DATABASE_URL when set; else Testcontainers when a Docker engine answers;
 * else the local broker from infra/kafka (started if needed) and the local Postgres server.
 */
export async function provisionTestInfrastructure(log: (msg: string) => void = () => undefined): Promise<TestInfrastructure> {
  const infra: TestInfrastructure = {
    kafkaBrokers: process.env['KAFKA_BROKERS'] ?? '',
    databaseUrl: process.env['DATABASE_URL'] ?? '',
    kafkaFrom: 'env',
    postgresFrom: 'env',
    startedLocalBroker: false,
    containerIds: [],
  };
  const needDocker = !infra.kafkaBrokers || !infra.databaseUrl;
  const docker = needDocker && (await dockerEngineAvailable());

  if (!infra.kafkaBrokers) {
    if (docker) {
      const { KafkaContainer } = await import('@testcontainers/kafka');
      const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
      infra.kafkaBrokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
      infra.kafkaFrom = 'testcontainers';
      infra.containerIds.push(kafka.getId());
    } else {
      // A fresh broker for every run: reset wipes its data (the jars are kept).
      const script = join(repoRoot(), 'infra/kafka/kafka.sh');
      const env = testBrokerEnv();
      log(`kafka: starting a fresh local test broker on ${LOCAL_KAFKA_BROKERS} (infra/kafka)`);
      await run('bash', [script, 'reset'], { env, maxBuffer: 10 * 1024 * 1024 });
      await run('bash', [script, 'start'], { env, maxBuffer: 10 * 1024 * 1024, timeout: 15 * 60 * 1000 });
      infra.kafkaBrokers = LOCAL_KAFKA_BROKERS;
      infra.kafkaFrom = 'local-broker';
      infra.startedLocalBroker = true;
    }
  }

  if (!infra.databaseUrl) {
    if (docker) {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const pg = await new PostgreSqlContainer('postgres:16')
        .withDatabase(TEST_DATABASE)
        .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
        .start();
      infra.databaseUrl = pg.getConnectionUri();
      infra.postgresFrom = 'testcontainers';
      infra.containerIds.push(pg.getId());
    } else {
      if (!(await postgresAnswers(LOCAL_POSTGRES_URL))) {
        throw new Error(
          'No Postgres for the tests: DATABASE_URL is not set, no Docker engine answers, and nothing listens on 127.0.0.1:5432. ' +
            'Start the local server (e.g. `pg_ctlcluster --skip-systemctl-redirect <version> main start`) or set DATABASE_URL.',
        );
      }
      infra.databaseUrl = LOCAL_POSTGRES_URL;
      infra.postgresFrom = 'local-server';
    }
  }
  return infra;
}

export async function releaseTestInfrastructure(infra: TestInfrastructure): Promise<void> {
  if (infra.startedLocalBroker) {
    await run('bash', [join(repoRoot(), 'infra/kafka/kafka.sh'), 'stop'], { env: testBrokerEnv() }).catch(() => undefined);
  }
  if (infra.containerIds.length) {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    for (const id of infra.containerIds) {
      await client.container.stop(client.container.getById(id)).catch(() => undefined);
    }
  }
}
