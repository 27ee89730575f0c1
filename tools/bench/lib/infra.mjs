// The bench's infrastructure: a dedicated Kafka broker (or KAFKA_BROKERS), the bench database,
// and small Kafka admin helpers (topic message counts, a message sample).
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './processes.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const pg = require('pg');

/**
 * The bench broker: 127.0.0.1:19392 (controller 19393, storage .kizuna/kafka-bench) unless
 * BENCH_KAFKA_PORT / BENCH_KAFKA_CONTROLLER_PORT say otherwise (another port gets its own storage
 * directory), so that two checkouts can bench at the same time.
 */
export const BENCH_KAFKA = (() => {
  const port = Number(process.env.BENCH_KAFKA_PORT ?? 19392);
  const controllerPort = Number(process.env.BENCH_KAFKA_CONTROLLER_PORT ?? port + 1);
  for (const [name, v] of [['BENCH_KAFKA_PORT', port], ['BENCH_KAFKA_CONTROLLER_PORT', controllerPort]]) {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw new Error(`${name} must be a TCP port, got ${v}`);
  }
  return { port, controllerPort, dataDir: port === 19392 ? '.kizuna/kafka-bench' : `.kizuna/kafka-bench-${port}` };
})();

function kafkaEnv(root) {
  return {
    ...process.env,
    KAFKA_PORT: String(BENCH_KAFKA.port),
    KAFKA_CONTROLLER_PORT: String(BENCH_KAFKA.controllerPort),
    KAFKA_DATA_DIR: join(root, BENCH_KAFKA.dataDir),
  };
}

const kafkaSh = (root, cmd) => runCommand('bash', [join(root, 'infra/kafka/kafka.sh'), cmd], { env: kafkaEnv(root), cwd: root, allowFailure: true });

/**
 * Starts the bench broker on 127.0.0.1:BENCH_KAFKA.port (fresh storage) unless it already runs.
 * Returns { brokers, startedByUs, pid }. With KAFKA_BROKERS set, that cluster is used as is.
 */
export async function startBenchKafka(root, log) {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, startedByUs: false, external: true };
  const brokers = `127.0.0.1:${BENCH_KAFKA.port}`;
  const status = await kafkaSh(root, 'status');
  if (status.code === 0) {
    log(`bench broker already running on ${brokers}; using it as is (not reset, not stopped)`);
    return { brokers, startedByUs: false, pid: brokerPid(root) };
  }
  log(`starting a fresh bench Kafka broker on ${brokers} (${BENCH_KAFKA.dataDir}) ...`);
  await kafkaSh(root, 'reset');
  const started = await kafkaSh(root, 'start');
  if (started.code !== 0) throw new Error(`bench Kafka broker did not start:\n${started.stdout}${started.stderr}`);
  return { brokers, startedByUs: true, pid: brokerPid(root) };
}

export async function stopBenchKafka(root, kafka) {
  if (kafka?.startedByUs) await kafkaSh(root, 'stop');
}

function brokerPid(root) {
  const file = join(root, BENCH_KAFKA.dataDir, 'kafka.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || undefined : undefined;
}

/** postgres://postgres@127.0.0.1:5432/kizuna_bench, or the database named by BENCH_DATABASE. */
export const DEFAULT_DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${encodeURIComponent(process.env.BENCH_DATABASE ?? 'kizuna_bench')}`;

/**
 * Drops the bench database so each run starts without last run's dedup rows (the service
 * recreates it). Only for databases whose name contains "bench": a DATABASE_URL pointing
 * anywhere else is left alone.
 */
export async function freshBenchDatabase(url) {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.slice(1));
  if (!/bench/.test(db)) return false;
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${db.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  return true;
}

export async function postgresVersion(url) {
  const u = new URL(url);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    const { rows } = await client.query('SHOW server_version');
    return rows[0].server_version;
  } finally {
    await client.end();
  }
}

/**
 * The bench's own kafkajs clients, with the services' fix of kafkajs's request-queue timer (an idle
 * connection re-checked its empty queue every millisecond: libs/shared/messaging's
 * kafkajs-request-queue.ts), taken from the build the bench runs.
 */
export function kafkaClient(brokers) {
  const fix = join(import.meta.dirname, '../../../dist/libs/shared/messaging/src/lib/kafkajs-request-queue.js');
  if (existsSync(fix)) require(fix).installRequestQueueTimerFix();
  // The services' batches are zstd (KAFKA_COMPRESSION): their codec, registered with this kafkajs.
  const codecs = join(import.meta.dirname, '../../../dist/libs/shared/contracts/src/lib/kafka-compression.js');
  if (existsSync(codecs)) require(codecs).installKafkaCodecs();
  return new Kafka({ clientId: 'kizuna-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

/** Messages on a topic: the sum of the partitions' high watermarks. */
export async function topicMessageCount(admin, topic) {
  for (let attempt = 1; ; attempt++) {
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    } catch (e) {
      // A topic the service has just created: its leader may not be known to this client yet.
      if (attempt >= 20 || !/leader|metadata|does not host|unknown topic/i.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function ensureTopic(admin, topic, partitions) {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
}

/**
 * Reads up to `max` messages of `topic` from the beginning and returns their average sizes
 * (value, key, headers) and one decoded value, to size Kafka's own perf test like the service's records.
 */
export async function sampleMessages(kafka, topic, max = 500, timeoutMs = 30000) {
  const consumer = kafka.consumer({ groupId: `kizuna-bench-sample-${process.pid}-${Date.now()}` });
  const seen = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => (seen.length ? resolve() : reject(new Error(`no message read from ${topic} within ${timeoutMs} ms`))), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) if (seen.length < max) seen.push(m);
            if (seen.length >= max) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  const avg = (f) => seen.reduce((s, m) => s + f(m), 0) / seen.length;
  const headerBytes = (m) => Object.entries(m.headers ?? {}).reduce((s, [k, v]) => s + k.length + (v?.length ?? 0), 0);
  return {
    count: seen.length,
    valueBytes: Math.round(avg((m) => m.value?.length ?? 0)),
    keyBytes: Math.round(avg((m) => m.key?.length ?? 0)),
    headerBytes: Math.round(avg(headerBytes)),
    example: seen[seen.length - 1]?.value?.toString(),
  };
}
