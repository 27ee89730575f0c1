#!/usr/bin/env node
// `npm run bench:notification [-- --events 2000 --rate 50 --concurrency 6 --smtp-connections 16]`: escalation assigned -> e-mail accepted by
// an SMTP server (target p99 <= 500 ms). Builds, starts a broker (or uses KAFKA_BROKERS), a local SMTP
// server (smtp-server) and the notification service (dist/, its own database), publishes
// `cs.escalation.assigned.v1` events at a steady rate, each to a different assignee, and times each one
// from just before the producer's send to the moment the SMTP server accepted the message (end of DATA).
// Prints the percentiles and writes .kizuna/bench/notification-<timestamp>.json.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { servicePort, runCommand, startProcess, stopAllProcesses, stopProcess, waitForHttp } from './lib/processes.mjs';
import { ensureTopic, freshBenchDatabase, kafkaClient, startBenchKafka, stopBenchKafka } from './lib/infra.mjs';
import { resetGroupToLatest } from './lib/health.mjs';

/** The topics notification consumes: its group starts at their end, not at an earlier run's backlog. */
const INPUT_TOPICS = ['cs.escalation.v1', 'cs.health.v1', 'cs.lifecycle.v1', 'cs.directory.v1', 'cs.product.v1'];

const require = createRequire(import.meta.url);
const { SMTPServer } = require('smtp-server');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TARGET_P99_MS = 500;
const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '6' },
    'smtp-connections': { type: 'string', default: '16' },
    'no-build': { type: 'boolean', default: false },
  },
});
const events = Number(opts.events);
const rate = Number(opts.rate);
const warmup = Number(opts.warmup);
const log = (m) => process.stdout.write(`[bench:notification] ${m}\n`);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = join(root, '.kizuna', 'bench');
mkdirSync(outDir, { recursive: true });

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  if (!opts['no-build']) {
    log('building ...');
    await runCommand(process.execPath, [join(root, 'tools/scripts/build.mjs')], { cwd: root });
  }
  const kafka = await startBenchKafka(root, log);
  const databaseUrl = process.env.NOTIFICATION_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kizuna_bench_notification';
  await freshBenchDatabase(databaseUrl);

  // The SMTP server: acceptance time per recipient.
  const accepted = new Map();
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, done) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        const now = performance.now();
        for (const r of session.envelope.rcptTo) if (!accepted.has(r.address)) accepted.set(r.address, now);
        done();
      });
    },
  });
  const smtpPort = await servicePort();
  await new Promise((r) => smtp.listen(smtpPort, '127.0.0.1', r));

  const prefix = `bench-${stamp}`;
  const admin = kafkaClient(kafka.brokers).admin();
  await admin.connect();
  for (const topic of INPUT_TOPICS) await ensureTopic(admin, topic, 6);
  await resetGroupToLatest(admin, `${prefix}.notification`, INPUT_TOPICS);
  await admin.disconnect();

  const port = await servicePort();
  const logFile = join(outDir, `notification-${stamp}.log`);
  const env = {
    // the bench's own settings win over the caller's environment

    ...process.env, PORT: String(port), HOST: '127.0.0.1', KAFKA_BROKERS: kafka.brokers, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn',
    KAFKA_GROUP_PREFIX: prefix, KAFKA_PARTITIONS_CONCURRENCY: opts.concurrency,
    NOTIFICATION_SMTP_MAX_CONNECTIONS: opts['smtp-connections'], NOTIFICATION_SMTP_HOST: '127.0.0.1', NOTIFICATION_SMTP_PORT: String(smtpPort),
  };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const service = startProcess('notification', process.execPath, [join(root, 'dist/apps/notification/src/main.js')], { env, cwd: root, logFile });
  const client = kafkaClient(kafka.brokers);
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, service, 90000);
    await producer.connect();
    const runId = randomUUID().slice(0, 8);
    const sent = new Map();
    const escalation = (n) => {
      const accountId = `bench-${runId}-${n}`;
      const email = `csm-${runId}-${n}@bench.example`;
      const at = new Date().toISOString();
      return {
        email,
        message: {
          key: accountId,
          value: JSON.stringify({
            specversion: '1.0', id: randomUUID(), source: 'kizuna/bench', type: 'cs.escalation.assigned.v1', subject: accountId, time: at,
            datacontenttype: 'application/json',
            data: {
              escalationId: `esc-${n}`, reason: 'repeat-inquiries', state: 'assigned', priority: 'high',
              assignee: { csmId: `csm-${runId}-${n}`, name: `CSM ${n}`, email, why: 'account owner' },
              evidence: [{ kind: 'ticket', ref: `t-${n}`, summary: 'Third question about SSO this week', at }],
              context: { accountName: `Bench Account ${n}`, band: 'danger', healthScore: 31, arr: 120000, region: 'apac', topMovers: ['engagement.active_users -12'] },
              changedAt: at,
            },
          }),
        },
      };
    };
    const publish = async (from, count, perSecond) => {
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        const due = started + (i * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const e = escalation(from + i);
        sent.set(e.email, performance.now());
        await producer.send({ topic: 'cs.escalation.v1', messages: [e.message] });
      }
    };
    const waitAll = async (emails, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (emails.some((e) => !accepted.has(e))) {
        if (Date.now() > deadline) throw new Error(`${emails.filter((e) => !accepted.has(e)).length} e-mails not received within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    log(`warm-up: ${warmup} events`);
    await publish(0, warmup, rate);
    await waitAll([...sent.keys()], 120000);
    sent.clear();
    log(`measuring: ${events} events at ${rate}/s, one assignee each (KAFKA_PARTITIONS_CONCURRENCY=${opts.concurrency}, NOTIFICATION_SMTP_MAX_CONNECTIONS=${opts['smtp-connections']})`);
    await publish(warmup, events, rate);
    await waitAll([...sent.keys()], 300000);
    const latencies = [...sent].map(([email, t]) => accepted.get(email) - t).sort((a, b) => a - b);
    const result = {
      scenario: 'escalation assigned -> e-mail accepted by the SMTP server',
      events, ratePerSec: rate, warmup, partitionsConcurrency: Number(opts.concurrency), smtpConnections: Number(opts['smtp-connections']),
      p50Ms: +percentile(latencies, 50).toFixed(1), p95Ms: +percentile(latencies, 95).toFixed(1), p99Ms: +percentile(latencies, 99).toFixed(1),
      maxMs: +latencies[latencies.length - 1].toFixed(1), targetP99Ms: TARGET_P99_MS,
    };
    result.pass = result.p99Ms <= TARGET_P99_MS;
    writeFileSync(join(outDir, `notification-${stamp}.json`), JSON.stringify(result, null, 2));
    log(`p50 ${result.p50Ms} ms | p95 ${result.p95Ms} ms | p99 ${result.p99Ms} ms | max ${result.maxMs} ms | target p99 <= ${TARGET_P99_MS} ms: ${result.pass ? 'PASS' : 'FAIL'}`);
    log(`written .kizuna/bench/notification-${stamp}.json`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await stopProcess(service);
    await new Promise((r) => smtp.close(r));
    await stopBenchKafka(root, kafka);
  }
}

main().catch(async (e) => {
  process.stderr.write(`[bench:notification] ${e.stack ?? e}\n`);
  await stopAllProcesses();
  process.exit(1);
});
