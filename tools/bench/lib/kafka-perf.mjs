// Kafka's own producer perf test (org.apache.kafka.tools.ProducerPerformance from kafka-tools),
// run from the jars the local broker setup fetched: the ceiling of "acks=all into this broker".
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { runCommand } from './processes.mjs';

export function kafkaLibsDir(root) {
  const version = process.env.KAFKA_VERSION ?? '4.3.1';
  const libsRoot = process.env.KAFKA_LIBS_ROOT ?? join(root, '.kizuna/kafka-libs');
  return { version, dir: join(libsRoot, version) };
}

const javaBin = () => (process.env.JAVA_HOME && existsSync(join(process.env.JAVA_HOME, 'bin/java')) ? join(process.env.JAVA_HOME, 'bin/java') : 'java');

export function producerPerfCommand(root, { brokers, topic, records, warmup, recordSize }) {
  const { dir } = kafkaLibsDir(root);
  const args = [
    '-Xms128m', '-Xmx512m',
    `-Dlog4j2.configurationFile=${join(root, 'infra/kafka/log4j2-tools.properties')}`,
    '-cp', `${dir}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server', brokers,
    '--topic', topic,
    '--num-records', String(records),
    ...(warmup ? ['--warmup-records', String(warmup)] : []),
    '--record-size', String(recordSize),
    '--throughput', '-1',
    '--command-property', 'acks=all',
  ];
  return { cmd: javaBin(), args };
}

// "800000 steady state records sent, 89535.5 records/sec (51.23 MB/sec), 548.15 ms avg latency,
//  981.00 ms max latency, 509 ms 50th, 857 ms 95th, 951 ms 99th, 975 ms 99.9th."
const SUMMARY = /^(\d+) (steady state )?records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/;

export function parseProducerPerf(stdout) {
  const summaries = stdout
    .split('\n')
    .map((l) => SUMMARY.exec(l.trim()))
    .filter(Boolean)
    .map((m) => ({
      records: Number(m[1]),
      steadyState: Boolean(m[2]),
      recordsPerSec: Number(m[3]),
      mbPerSec: Number(m[4]),
      avgLatencyMs: Number(m[5]),
      maxLatencyMs: Number(m[6]),
      p50Ms: Number(m[7]),
      p95Ms: Number(m[8]),
      p99Ms: Number(m[9]),
    }));
  // With --warmup-records the tool prints the whole run, then the steady state (after warm-up).
  return summaries.find((s) => s.steadyState) ?? summaries.at(-1);
}

export async function runProducerPerf(root, opts) {
  const { cmd, args } = producerPerfCommand(root, opts);
  const started = Date.now();
  const { stdout } = await runCommand(cmd, args, { cwd: root });
  const result = parseProducerPerf(stdout);
  if (!result) throw new Error(`could not parse ProducerPerformance output:\n${stdout.slice(-1500)}`);
  return { ...result, wallSeconds: (Date.now() - started) / 1000, command: `java -cp "${kafkaLibsDir(root).dir}/*" ${args.slice(args.indexOf('org.apache.kafka.tools.ProducerPerformance')).join(' ')}` };
}
