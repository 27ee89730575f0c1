#!/usr/bin/env node
// `npm run bench [-- --quick]`: measures the ingestion service against its targets (batched and
// single-event ingest, latency, RSS) with Kafka's own producer and a bare Fastify server measured
// beside it in the same run, then health-scoring (event → cs.health.v1 latency under 70 % of the
// measured ingest rate, backfill of 1M accounts beside a COPY of the same rows).
// Writes .kizuna/bench/ingestion-<timestamp>.json and docs/benchmarks.md.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, release, type as osType } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { devJwtKeys } from '../scripts/dev-auth.mjs';
import { servicePort, runCommand, sleep, startProcess, stopAllProcesses, stopProcess, waitForHttp } from './lib/processes.mjs';
import {
  DEFAULT_DATABASE_URL, ensureTopic, freshBenchDatabase, kafkaClient, postgresVersion, sampleMessages, startBenchKafka, stopBenchKafka, topicMessageCount,
} from './lib/infra.mjs';
import { batchBody, eventFactory, runLoad, singleBody } from './lib/load.mjs';
import { simulatorFeed } from './lib/feed.mjs';
import { YARDSTICK_REFERENCE, backgroundBusyPercent, cpuBetween, cpuSnapshot, cpuYardstick, rssSampler } from './lib/sampler.mjs';
import { kafkaLibsDir, runProducerPerf } from './lib/kafka-perf.mjs';
import { formatProfile, summariseProfile } from './lib/profile.mjs';
import { ALL_TOPICS, escalationScenario } from './lib/escalation.mjs';
import { startTimeline } from './lib/timeline.mjs';
import { barsSvg, timelineSvg } from './lib/svg.mjs';
import {
  TARGETS, cpuTable, escalationChecks, escalationCpuTable, escalationTextTable, foundationSection, healthChecks, healthCpuTable, healthTextTable, markdownDoc, pgActivityTable, runTextTable,
  summaryTextTable, textTable, throughputBars,
} from './lib/report.mjs';
import {
  HEALTH_INPUT_TOPICS, copyReference, generateAccounts, groupLag, healthGroup, latencyScenario, resetGroupToLatest, runBackfill, startHealthScoring,
  stopHealthScoring, waitForStableGroup,
} from './lib/health.mjs';
import { topicName } from './lib/topics.mjs';

// The services verify API bearer tokens at startup: the development key unless AUTH_JWT_KEYS is set.
process.env.AUTH_JWT_KEYS ??= devJwtKeys();

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PRODUCT_TOPIC = topicName('cs.product.v1');
const PERF_TOPIC = 'bench.producer-perf';
const WRITE_KEY = 'kizuna-bench-write-key';

const USAGE = `Usage: npm run bench [-- options]
  --quick                  short run (5 s per scenario, 100,000 accounts in the backfill), about 5 minutes
  --duration <s>           seconds per measured scenario (default 30, quick 5)
  --warmup <s>             warm-up seconds before the service is measured (default 10, quick 3)
  --batch-connections <n>  concurrent connections for /v1/batch (default 16)
  --single-connections <n> concurrent connections for /v1/track (default 128)
  --profile                run the service with node --cpu-prof and print where its CPU time went
                           (figures are lower with the profiler on; docs/benchmarks.md is not updated)
  --only <batch|single|ingestion|health|escalation|backfill>
                           measure only that service scenario, without the references
                           (for profiling one path; docs/benchmarks.md is not updated);
                           health = the health-scoring set, escalation = ticket → escalation →
                           e-mail (both measure /v1/batch first, for their rate); ingestion =
                           /v1/batch then /v1/track in one service, as in the full run; backfill =
                           the health-scoring backfill, dry run and COPY reference alone (no
                           ingestion service)
  --tickets-per-sec <n>    tickets per second in the escalation scenario (default 20)
  --escalation-ingest-share <x>
                           product events during the escalation scenario, as a share of the
                           measured /v1/batch throughput (default 1 = the sustained rate)
  --csms <n>               CSMs on the escalation roster (default 20)
  --escalation-warmup <s>  tickets and product events sent, not measured, after escalation-routing and
                           notification started (default 10, quick 5): freshly started services
                           (cold JIT, new pool connections, group joins) made the first seconds slow
  --health-rate <n>        events/s of the first health latency scenario instead of 70 % of /v1/batch
                           (exploring; with --only health, docs/benchmarks.md is not updated)
  --accounts <n>           accounts in the health-scoring backfill (default 1000000, quick 100000)
  --backfill-timeout <s>   stop waiting for a backfill (or dry run) after this long and report the
                           rate and the extrapolated time (default 1200, quick 300)
  --skip-build             do not run tools/scripts/build.mjs first
  --skip-docs              do not regenerate docs/benchmarks.md
  --from <result.json>     measure nothing: print the tables of an earlier result and regenerate
                           docs/benchmarks.md from it
Env: KAFKA_BROKERS (use that cluster instead of the bench broker on 127.0.0.1:19392 or BENCH_KAFKA_PORT),
     BENCH_KAFKA_PORT / BENCH_KAFKA_CONTROLLER_PORT (bench broker ports, default 19392 / port + 1),
     BENCH_DATABASE (database name, default kizuna_bench), BENCH_BASE_PORT (service ports from there up),
     DATABASE_URL (default ${DEFAULT_DATABASE_URL}; dropped first only if its name contains "bench"),
     KAFKA_TOPIC_PARTITIONS (default 6).`;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'batch-connections': { type: 'string', default: '16' },
      'single-connections': { type: 'string', default: '128' },
      profile: { type: 'boolean', default: false },
      only: { type: 'string' },
      accounts: { type: 'string' },
      'tickets-per-sec': { type: 'string', default: '20' },
      'escalation-ingest-share': { type: 'string', default: '1' },
      csms: { type: 'string', default: '20' },
      'escalation-warmup': { type: 'string' },
      'backfill-timeout': { type: 'string' },
      from: { type: 'string' },
      'health-rate': { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      'skip-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const int = (v, name) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return x;
  };
  const quick = values.quick;
  if (values.only && !['batch', 'single', 'ingestion', 'health', 'escalation', 'backfill'].includes(values.only)) throw new Error(`--only must be batch, single, ingestion, health, escalation or backfill, got ${values.only}`);
  const share = Number(values['escalation-ingest-share']);
  if (!(share > 0 && share <= 1)) throw new Error(`--escalation-ingest-share must be a number in (0, 1], got ${values['escalation-ingest-share']}`);
  return {
    help: values.help,
    quick,
    profile: values.profile,
    build: !values['skip-build'],
    only: values.only,
    from: values.from,
    docs: !values['skip-docs'] && !values.profile && !values.only && values['health-rate'] === undefined,
    durationSec: int(values.duration ?? (quick ? 5 : 30), 'duration'),
    warmupSec: int(values.warmup ?? (quick ? 3 : 10), 'warmup'),
    batchConnections: int(values['batch-connections'], 'batch-connections'),
    singleConnections: int(values['single-connections'], 'single-connections'),
    partitions: int(process.env.KAFKA_TOPIC_PARTITIONS ?? 6, 'KAFKA_TOPIC_PARTITIONS'),
    producerPerf: quick ? { records: 1000000, warmup: 300000 } : { records: 3000000, warmup: 500000 },
    accounts: int(values.accounts ?? (quick ? 100000 : 1000000), 'accounts'),
    backfillTimeoutSec: int(values['backfill-timeout'] ?? (quick ? 300 : 1200), 'backfill-timeout'),
    ticketsPerSec: int(values['tickets-per-sec'], 'tickets-per-sec'),
    escalationIngestShare: share,
    healthRate: values['health-rate'] === undefined ? undefined : int(values['health-rate'], 'health-rate'),
    escalationWarmupSec: int(values['escalation-warmup'] ?? (quick ? 5 : 10), 'escalation-warmup'),
    csms: int(values.csms, 'csms'),
  };
}

const log = (msg) => console.log(`[bench] ${msg}`);

/** Lag, RSS and phases over the whole run (lib/timeline.mjs), once the broker is up. */
let timeline;
const phase = (label) => timeline?.phase(label);

// --- cleanup: everything started here is stopped again, also on failure and Ctrl-C --------------

const cleanups = [];
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e) => log(`cleanup: ${e.message}`));
    await stopAllProcesses();
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping everything the bench started ...`);
    void cleanup().finally(() => process.exit(130));
  });
}

// --- one bench at a time: runs share the bench broker, the database and the machine -------------

function lockHolder(file) {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return pid !== process.pid && cmdline.includes('tools/bench/run.mjs') ? pid : undefined;
  } catch {
    return undefined; // no lock, or its process is gone
  }
}

/** Waits (up to 15 min) while another bench run holds .kizuna/bench/run.lock, then takes it. */
async function takeLock(dir) {
  const file = join(dir, 'run.lock');
  const deadline = Date.now() + 15 * 60000;
  for (let said = false; ; ) {
    const holder = lockHolder(file);
    if (!holder) {
      rmSync(file, { force: true }); // none, or left by a run that died
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch {
        continue; // another run took it at this very moment
      }
    }
    if (Date.now() > deadline) throw new Error(`another bench run (pid ${holder}) still holds ${relative(root, file)} after 15 minutes`);
    if (!said) log(`another bench run (pid ${holder}) is in progress; waiting for it to finish ...`);
    said = true;
    await sleep(2000);
  }
  cleanups.push(async () => {
    if (lockHolder(file) === undefined && existsSync(file) && readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
  });
}

// --- facts -------------------------------------------------------------------------------------

/** The code measured: commit, and whether apps/ or libs/ had uncommitted changes (read-only git). */
async function revision() {
  const git = (args) => runCommand('git', args, { cwd: root, allowFailure: true }).then((r) => (r.code === 0 ? r.stdout.trim() : undefined), () => undefined);
  const commit = await git(['rev-parse', '--short', 'HEAD']);
  const dirty = (await git(['status', '--porcelain', '--', 'apps', 'libs']))?.split('\n').filter(Boolean).length ?? 0;
  return { commit, uncommittedFilesInAppsLibs: dirty };
}

async function machineFacts(databaseUrl) {
  const java = await runCommand('java', ['-version'], { allowFailure: true }).catch(() => ({ stderr: '' }));
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    java: /version "([^"]+)"/.exec(java.stderr)?.[1] ?? 'unknown',
    kafkaVersion: kafkaLibsDir(root).version,
    postgres: await postgresVersion(databaseUrl).catch((e) => `unreachable (${e.message})`),
  };
}

// --- scenarios ---------------------------------------------------------------------------------

/** Message count of the topic once in-flight requests have landed (stable for 500 ms). */
async function settledCount(admin) {
  let last = await topicMessageCount(admin, PRODUCT_TOPIC);
  for (let i = 0; i < 40; i++) {
    await sleep(500);
    const now = await topicMessageCount(admin, PRODUCT_TOPIC);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** One measured load: autocannon plus CPU, RSS and (for the service) the Kafka offsets check. */
async function scenario(label, { port, path, connections, durationSec, body, eventsPerRequest, writeKey, pids, rss, admin }) {
  const before = admin ? await settledCount(admin) : undefined;
  rss?.reset();
  const c0 = cpuSnapshot(pids);
  const fromUs = monotonicUs();
  const load = await runLoad({ url: `http://127.0.0.1:${port}`, path, connections, durationSec, body, eventsPerRequest, writeKey });
  const window = { label, fromUs, toUs: monotonicUs() };
  const c1 = cpuSnapshot(pids);
  const result = { ...load, cpu: cpuBetween(c0, c1), rssPeakMiB: rss?.peakMiB(), window };
  if (admin) {
    const after = await settledCount(admin);
    result.kafka = { topic: PRODUCT_TOPIC, before, after, delta: after - before };
  }
  log(
    `${label}: ${load.eventsPerSec.toLocaleString('en-US')} events/s (${load.requestsPerSec} req/s), p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ` +
      `non-2xx ${load.non2xx}, errors ${load.errors}, timeouts ${load.timeouts}` +
      (result.kafka ? `, Kafka +${result.kafka.delta} for ${load.acceptedEvents} accepted` : ''),
  );
  for (const sample of load.errorSamples) log(`  error answer: ${sample}`);
  return result;
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function loads(runId, o) {
  const nextEvent = eventFactory(runId, o.feed);
  return {
    batch: { path: '/v1/batch', connections: o.batchConnections, body: batchBody(nextEvent, TARGETS.batchSize), eventsPerRequest: TARGETS.batchSize },
    single: { path: '/v1/track', connections: o.singleConnections, body: singleBody(nextEvent), eventsPerRequest: 1 },
  };
}

async function fastifyReference(runId, o, logDir) {
  const port = await servicePort();
  const server = startProcess('hello-fastify', process.execPath, [join(root, 'tools/bench/hello-fastify.mjs')], {
    env: { ...process.env, PORT: String(port) },
    logFile: join(logDir, 'hello-fastify.log'),
  });
  await waitForHttp(`http://127.0.0.1:${port}/health/ready`, server);
  const rss = rssSampler(server.pid);
  const l = loads(`${runId}-fastify`, o);
  const pids = { server: server.pid };
  await runLoad({ url: `http://127.0.0.1:${port}`, ...l.batch, durationSec: Math.min(o.warmupSec, 3) });
  const batch = await scenario('bare Fastify, batch body', { port, ...l.batch, durationSec: o.durationSec, pids, rss });
  const single = await scenario('bare Fastify, single body', { port, ...l.single, durationSec: o.durationSec, pids, rss });
  const peak = Math.max(batch.rssPeakMiB, single.rssPeakMiB);
  rss.stop();
  await stopProcess(server);
  return { batch, single, peakRssMiB: peak };
}

/**
 * The floor under a single event: bare Fastify with the services' Kafka publisher (hello-kafka.mjs),
 * each request one record, answered after the broker acknowledged it. Same bodies, same connections.
 */
async function kafkaFastifyReference(runId, o, { brokers, brokerPid, logDir }) {
  const port = await servicePort();
  const server = startProcess('hello-kafka', process.execPath, [join(root, 'tools/bench/hello-kafka.mjs')], {
    env: { ...process.env, PORT: String(port), KAFKA_BROKERS: brokers, KAFKA_TOPIC_PARTITIONS: String(o.partitions) },
    logFile: join(logDir, 'hello-kafka.log'),
  });
  await waitForHttp(`http://127.0.0.1:${port}/health/ready`, server, 60000);
  const rss = rssSampler(server.pid);
  const l = loads(`${runId}-hello-kafka`, o);
  await runLoad({ url: `http://127.0.0.1:${port}`, ...l.single, durationSec: Math.min(o.warmupSec, 3) });
  const single = await scenario('Fastify + Kafka publisher, single body', { port, ...l.single, durationSec: o.durationSec, pids: { server: server.pid, broker: brokerPid }, rss });
  rss.stop();
  await stopProcess(server);
  return { single };
}

async function startService(o, { brokers, databaseUrl, logDir, profileDir }) {
  const port = await servicePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: brokers,
    DATABASE_URL: databaseUrl,
    INGESTION_BOOTSTRAP_WRITE_KEY: WRITE_KEY,
    LOG_LEVEL: 'warn',
    KAFKA_TOPIC_PARTITIONS: String(o.partitions),
  };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT; // measure without a trace exporter
  const main = join(root, 'dist/apps/ingestion/src/main.js');
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service (diagnostics: --trace-gc, --trace-deopt, ...).
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [...nodeArgs, ...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, main] : [main])];
  const started = Date.now();
  const logFile = join(logDir, 'ingestion.log');
  const service = startProcess('ingestion', process.execPath, args, { env, cwd: root, logFile });
  await waitForHttp(`http://127.0.0.1:${port}/health/ready`, service, 90000).catch((e) => {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l && !/^\s+at /.test(l)).slice(-8).join('\n') : '';
    throw new Error(`${e.message}\n--- ${relative(root, logFile)} (last lines) ---\n${tail}`);
  });
  return { service, port, startupMs: Date.now() - started };
}

async function measureService(runId, o, ctx) {
  const { service, port, startupMs } = await startService(o, ctx);
  log(`ingestion service ready on :${port} in ${startupMs} ms (pid ${service.pid})`);
  await sleep(1000);
  const rss = rssSampler(service.pid);
  const idleRssMiB = rss.lastMiB();
  const kafka = kafkaClient(ctx.brokers);
  ctx.kafka = kafka;
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const pids = { server: service.pid, broker: ctx.brokerPid };
  const l = loads(runId, o);
  const common = { port, writeKey: WRITE_KEY, pids, rss, admin };

  // The health set drives /v1/batch at 70 % of the batch throughput measured here, so it needs batch.
  const both = !o.only || o.only === 'ingestion';
  const wanted = (name) => both || o.only === name || (['health', 'escalation'].includes(o.only) && name === 'batch');
  log(`warm-up: ${o.warmupSec} s${both ? ` of batches, ${Math.ceil(o.warmupSec / 2)} s of single events` : ` of ${wanted('single') ? 'single' : 'batch'}`}`);
  phase('ingestion warm-up');
  if (wanted('batch')) await runLoad({ url: `http://127.0.0.1:${port}`, ...l.batch, durationSec: o.warmupSec, writeKey: WRITE_KEY });
  if (wanted('single')) await runLoad({ url: `http://127.0.0.1:${port}`, ...l.single, durationSec: Math.ceil(o.warmupSec / (both ? 2 : 1)), writeKey: WRITE_KEY });

  if (wanted('batch')) phase('ingestion /v1/batch');
  const batch = wanted('batch') ? await scenario('ingestion /v1/batch', { ...common, ...l.batch, durationSec: o.durationSec }) : undefined;
  if (wanted('single')) phase('ingestion /v1/track');
  const single = wanted('single') ? await scenario('ingestion /v1/track', { ...common, ...l.single, durationSec: o.durationSec }) : undefined;
  const peakRssMiB = Math.max(batch?.rssPeakMiB ?? 0, single?.rssPeakMiB ?? 0);
  await sleep(3000);
  const afterLoadRssMiB = rss.lastMiB(); // idle again, with whatever the load left in memory
  rss.stop();
  // Health-scoring's latency and the escalation scenarios need this ingestion service running (warm, as measured).
  const running = { service, port, batch, kafka, admin };
  const health = ctx.whileRunning ? await ctx.whileRunning(running) : undefined;
  const escalation = ctx.escalationWhileRunning ? await ctx.escalationWhileRunning(running) : undefined;
  if (rss.processes() > 1) log(`the service ran as ${rss.processes()} processes (cluster workers); RSS and CPU are summed over all of them`);
  const stopped = await stopProcess(service, 30000);
  if (stopped.code !== 0) log(`ingestion service exited with ${stopped.code ?? stopped.signal}`);
  const processes = rss.processes();
  return { batch, single, health, escalation, service: { startupMs, processes, idleRssMiB, peakRssMiB, afterLoadRssMiB, exit: stopped.code ?? stopped.signal }, kafka, admin };
}

/** Kafka's own producer with the service's average record size (key + value + headers), acks=all. */
async function kafkaReference(runId, o, svc, kafkaInfo) {
  log(`reference: Kafka ProducerPerformance, same record size as the service's ${PRODUCT_TOPIC} records`);
  phase('reference: Kafka ProducerPerformance');
  const messageSample = await sampleMessages(svc.kafka, PRODUCT_TOPIC);
  if (!messageSample.example?.includes(runId)) log(`warning: sampled message does not carry this run's id: ${messageSample.example?.slice(0, 200)}`);
  const recordSize = messageSample.valueBytes + messageSample.keyBytes + messageSample.headerBytes;
  await ensureTopic(svc.admin, PERF_TOPIC, o.partitions);
  const c0 = cpuSnapshot({ broker: kafkaInfo.pid });
  const kp = await runProducerPerf(root, { brokers: kafkaInfo.brokers, topic: PERF_TOPIC, records: o.producerPerf.records, warmup: o.producerPerf.warmup, recordSize });
  kp.cpu = cpuBetween(c0, cpuSnapshot({ broker: kafkaInfo.pid }));
  kp.recordSize = recordSize;
  kp.command = kp.command.replace(`${root}/`, '');
  log(`Kafka ProducerPerformance: ${Math.round(kp.recordsPerSec).toLocaleString('en-US')} records/s of ${recordSize} B (${kp.mbPerSec} MB/s), p50 ${kp.p50Ms} ms, p99 ${kp.p99Ms} ms`);
  return { messageSample, kp };
}

function serviceLogSummary(file) {
  if (!existsSync(file)) return { warn: 0, error: 0, samples: [] };
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const levelOf = (l) => /"level":"(\w+)"/.exec(l)?.[1];
  const bad = lines.filter((l) => ['error', 'fatal'].includes(levelOf(l)));
  return {
    warn: lines.filter((l) => levelOf(l) === 'warn').length,
    error: bad.length,
    samples: bad.slice(0, 3).map((l) => /"msg":"([^"]*)"/.exec(l)?.[1] ?? l.slice(0, 200)),
  };
}

// --- health scoring ----------------------------------------------------------------------------

const wantHealth = (o) => !o.only || o.only === 'health';
const wantEscalation = (o) => !o.only || o.only === 'escalation';

/**
 * Ticket → escalation assigned → e-mail accepted, with the ingestion service of this run: tickets
 * through its ticket intake while /v1/batch carries product events at the sustained batch rate
 * measured just before (or the share of it given by --escalation-ingest-share).
 */
async function escalationPipeline(runId, o, ctx, { service, port, batch, kafka }) {
  phase('ticket → escalation → e-mail');
  const share = o.escalationIngestShare;
  const common = {
    root, runId, kafka, ctx, ingestion: { pid: service.pid, port }, writeKey: WRITE_KEY, batchSize: TARGETS.batchSize, ticketsPerSec: o.ticketsPerSec, csms: o.csms, feed: o.feed,
    warmupSec: o.escalationWarmupSec, durationSec: Math.max(o.durationSec, 10), drainSec: o.quick ? 10 : Math.max(15, o.durationSec),
    // Both with every partition in parallel (their transactions are short and wait on round trips, so at
    // 3 a ticket queued behind the one before it: at 20 tickets/s p50 0.3-4 s, at 6 0.15-0.19 s) and
    // notification with a pool of SMTP connections (ESCALATION_BENCH_CONCURRENCY, NOTIFICATION_BENCH_CONCURRENCY,
    // NOTIFICATION_BENCH_SMTP_CONNECTIONS override them).
    escalationEnv: { KAFKA_PARTITIONS_CONCURRENCY: process.env.ESCALATION_BENCH_CONCURRENCY ?? '6' },
    notificationEnv: { KAFKA_PARTITIONS_CONCURRENCY: process.env.NOTIFICATION_BENCH_CONCURRENCY ?? '6', NOTIFICATION_SMTP_MAX_CONNECTIONS: process.env.NOTIFICATION_BENCH_SMTP_CONNECTIONS ?? '16' },
    log,
  };
  const first = await escalationScenario({
    ...common,
    productEventsPerSec: share * batch.eventsPerSec,
    productRateSource: share === 1 ? 'the /v1/batch throughput measured above' : `${share * 100} % of the /v1/batch throughput measured above`,
  });
  if (!first.saturated) return first;
  // Like health-scoring's: when the services fell behind the product stream, the latencies again at
  // 70 % of what escalation-routing got through (the slower of the two in the bench), to show them
  // within capacity.
  const consumed = Object.entries(first.consumedPerSec ?? {}).find(([g]) => g.endsWith('.escalation-routing.product'))?.[1] ?? 0;
  const rate = Math.max(100, 0.7 * consumed);
  log(`the services fell behind ${first.product.eventsPerSecSent.toLocaleString('en-US')} product events/s (escalation-routing got through ${consumed.toLocaleString('en-US')}/s): again at 70 % of that`);
  phase('ticket → escalation → e-mail within capacity');
  first.withinCapacity = await escalationScenario({
    ...common, tag: 'esc70', label: 'ticket → escalation → e-mail within capacity',
    productEventsPerSec: rate, productRateSource: `70 % of the ${consumed.toLocaleString('en-US')} events/s escalation-routing consumed under the first load`,
  });
  return first;
}

/** Starts health-scoring after moving its group past the backlog, and waits for its consumer group. */
async function startHealth(o, ctx, admin, logName, extraEnv) {
  await resetGroupToLatest(ctx.kafka, admin, healthGroup(), HEALTH_INPUT_TOPICS);
  const h = await startHealthScoring(root, {
    brokers: ctx.brokers, databaseUrl: ctx.databaseUrl, partitions: o.partitions, logDir: ctx.logDir, logName, extraEnv,
    profileDir: o.profile ? ctx.profileDir : undefined,
  });
  ctx.pidNames.set(h.service.pid, logName);
  await waitForStableGroup(admin, healthGroup());
  log(`${logName} ready on :${h.port} in ${h.startupMs} ms (pid ${h.service.pid}${Object.keys(extraEnv).length ? `, ${Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''})`);
  return h;
}

async function stopHealth(h, admin) {
  const stopped = await stopHealthScoring(h);
  if (stopped.code !== 0) log(`health-scoring exited with ${stopped.code ?? stopped.signal}`);
  const lag = await groupLag(admin, healthGroup(), HEALTH_INPUT_TOPICS).catch(() => undefined);
  return { exit: stopped.code ?? stopped.signal, lagAtStop: lag?.total };
}

/**
 * Event → cs.health.v1 latency, with the ingestion service of this run still up: paced /v1/batch at
 * 70 % of its measured batch throughput; when health-scoring cannot keep up with that (its lag
 * grows), a second scenario at 70 % of what health-scoring processed, to show the latency within
 * its capacity.
 */
async function healthLatency(runId, o, ctx, { service, port, batch, kafka, admin }) {
  const common = {
    runId, kafka, admin, databaseUrl: ctx.databaseUrl, ingestion: { pid: service.pid, port }, brokerPid: ctx.brokerPid, writeKey: WRITE_KEY, batchSize: TARGETS.batchSize, feed: o.feed,
    warmupSec: Math.max(3, Math.min(o.warmupSec, 10)), durationSec: o.durationSec, drainSec: Math.max(15, o.durationSec), log,
  };
  const env = { HEALTH_MIN_DELTA: '0' };
  const scenarios = {};
  phase('event → cs.health.v1 latency');
  let h = await startHealth(o, ctx, admin, 'health-scoring-latency', env);
  try {
    const rate = o.healthRate ?? TARGETS.health.ingestShare * batch.eventsPerSec;
    scenarios.atIngestShare = await latencyScenario({
      ...common, health: h, eventsPerSec: rate, tag: 'l70',
      ...(o.healthRate
        ? { label: `event → cs.health.v1 at ${o.healthRate} events/s (--health-rate)`, batchSize: Math.max(1, Math.min(TARGETS.batchSize, Math.round(rate / 10))) }
        : { label: 'event → cs.health.v1 at 70 % of /v1/batch' }),
    });
    const first = scenarios.atIngestShare;
    const saturated = first.consumerLag.afterWait > rate || first.notSeenWithinWait > 0.01 * first.measuredAccepted;
    scenarios.atIngestShare.saturated = saturated;
    scenarios.atIngestShare.service = await stopHealth(h, admin);
    h = undefined;
    if (saturated && (first.healthProcessedEventsPerSec > 0 || first.healthAppliedPerSecDuringWait > 0)) {
      log(
        `health-scoring fell behind (${first.healthProcessedEventsPerSec.toLocaleString('en-US')} events/s applied under the load, ${first.healthAppliedPerSecDuringWait ?? '–'}/s with the load stopped,` +
          ` for ${first.eventsPerSecSent.toLocaleString('en-US')} sent): latency again at 70 % of what it applied`,
      );
      phase('event → cs.health.v1 latency within capacity');
      h = await startHealth(o, ctx, admin, 'health-scoring-capacity', env);
      // What it applied while the load ran, not its drain rate once sending stopped: that one has the
      // cores to itself, and 70 % of it was more than health-scoring sustains with ingestion beside it
      // (2026-12-05: 70 % of a 7,287/s drain was 5,101 events/s, of which it applied 4,677/s; p99 1.6 s).
      const capacity = first.healthProcessedEventsPerSec || (first.healthAppliedPerSecDuringWait ?? 0);
      // Smaller batches at this rate (about 10 requests/s): a batch of 100 would be a burst of its own.
      const within = Math.max(10, 0.7 * capacity);
      scenarios.withinCapacity = await latencyScenario({
        ...common, label: 'event → cs.health.v1 at 70 % of health-scoring throughput', tag: 'c70', health: h, eventsPerSec: within,
        batchSize: Math.max(1, Math.min(TARGETS.batchSize, Math.round(within / 10))),
      });
      scenarios.withinCapacity.service = await stopHealth(h, admin);
      h = undefined;
    }
  } finally {
    if (h) await stopHealthScoring(h);
  }
  return scenarios;
}

/**
 * Backfill of o.accounts accounts: health-scoring started (schema, seeded scorecards), facts and
 * scores generated set-based in SQL, then POST /v1/scorecards/smb/backfill and a dry run through
 * the API; then the COPY reference with the same rows.
 */
async function healthBackfill(o, ctx, admin, stamp) {
  phase('health-scoring backfill');
  const h = await startHealth(o, ctx, admin, 'health-scoring-backfill', {});
  const out = {};
  try {
    await sleep(1000);
    const idle = rssSampler(h.service.pid);
    out.idleRssMiB = idle.lastMiB();
    idle.stop();
    log(`generating ${o.accounts.toLocaleString('en-US')} accounts' facts and scores in SQL (generate_series) ...`);
    out.generation = await generateAccounts(ctx.databaseUrl, o.accounts, log);
    log(`generated in ${out.generation.insertSeconds} s + VACUUM ANALYZE ${out.generation.analyzeSeconds} s + CHECKPOINT ${out.generation.checkpointSeconds} s (schema now ${out.generation.schemaMiB} MiB)`);
    const common = { health: h, databaseUrl: ctx.databaseUrl, scorecardId: 'smb', timeoutSec: o.backfillTimeoutSec, brokerPid: ctx.brokerPid, admin, log };
    out.backfill = await runBackfill({ ...common, label: `backfill of ${o.accounts.toLocaleString('en-US')} accounts`, dryRun: false });
    out.dryRun = await runBackfill({ ...common, label: `dry run of ${o.accounts.toLocaleString('en-US')} accounts`, dryRun: true });
  } finally {
    out.service = await stopHealth(h, admin);
  }
  log(`reference: COPY of ${o.accounts.toLocaleString('en-US')} account_health rows into an empty table`);
  phase('reference: Postgres COPY');
  const copyFile = join(root, '.kizuna/bench', `copy-${stamp}.tsv`); // removed by copyReference, and here on Ctrl-C
  cleanups.push(async () => rmSync(copyFile, { force: true }));
  out.copy = await copyReference({ databaseUrl: ctx.databaseUrl, n: o.accounts, outDir: join(root, '.kizuna/bench'), stamp, log });
  log(`COPY: ${out.copy.rows.toLocaleString('en-US')} rows in ${out.copy.seconds} s (${out.copy.rowsPerSec.toLocaleString('en-US')} rows/s, ${out.copy.tableMiB} MiB)`);
  return out;
}

// --- main --------------------------------------------------------------------------------------

async function bench(o) {
  const outDir = join(root, '.kizuna/bench');
  mkdirSync(outDir, { recursive: true });
  await takeLock(outDir);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const runId = `b${startedAt.getTime().toString(36)}`;
  const logDir = join(outDir, `logs-${stamp}`);
  const profileDir = join(outDir, `profile-${stamp}`);
  mkdirSync(logDir, { recursive: true });
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  log(`${o.quick ? 'quick' : 'full'} run: ${o.durationSec} s per scenario, warm-up ${o.warmupSec} s, logs in ${relative(root, logDir)}`);

  const machine = await machineFacts(databaseUrl);
  machine.backgroundBusyPct = await backgroundBusyPercent();
  const code = await revision();
  log(`machine: ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, Java ${machine.java}, Postgres ${machine.postgres}`);
  const busy = `machine busy before the bench: ${machine.backgroundBusyPct} % of one core`;
  log(machine.backgroundBusyPct > 25 ? `WARNING: ${busy}; other work competes for the cores and lowers every figure` : busy);
  machine.yardstickSec = await cpuYardstick();
  machine.yardstickReference = YARDSTICK_REFERENCE;
  log(`CPU yardstick: ${machine.yardstickSec} s for 3e8 iterations of an integer loop on one core (${YARDSTICK_REFERENCE.seconds} s on ${YARDSTICK_REFERENCE.date}; longer = a slower machine)`);
  if (o.build) {
    const { stdout } = await runCommand(process.execPath, [join(root, 'tools/scripts/build.mjs')], { cwd: root });
    log(stdout.trim());
  }

  const dropped = await freshBenchDatabase(databaseUrl).catch((e) => {
    throw new Error(`Postgres not reachable at ${new URL(databaseUrl).host} (DATABASE_URL): ${e.message}`);
  });
  if (dropped) log(`dropped ${new URL(databaseUrl).pathname.slice(1)}; the service recreates it`);
  const kafkaInfo = await startBenchKafka(root, log);
  cleanups.push(() => stopBenchKafka(root, kafkaInfo).then(() => kafkaInfo.startedByUs && log('bench broker stopped')));
  const timelineKafka = kafkaClient(kafkaInfo.brokers);
  const timelineAdmin = timelineKafka.admin();
  await timelineAdmin.connect();
  timeline = startTimeline({ admin: timelineAdmin, topics: ALL_TOPICS, log: process.env.BENCH_DEBUG ? log : undefined });
  if (kafkaInfo.startedByUs) timeline.watch('kafka broker', kafkaInfo.pid);
  cleanups.push(async () => {
    await timeline?.stop();
    await timelineAdmin.disconnect();
  });

  if (o.only !== 'backfill') {
    // The traffic: the simulator's company (its track calls and tickets), generated once per parameters.
    o.feed = simulatorFeed(root, { seed: 42, accounts: 200, days: 30, dir: outDir });
    log(`traffic: ${o.feed.describe}`);
  }

  if (o.only === 'backfill') return backfillOnly(o, { kafkaInfo, databaseUrl, logDir, profileDir, startedAt, stamp, runId, machine, code, outDir });

  let fastify = {};
  if (!o.only) {
    log('reference: bare Fastify under the same load generator');
    phase('reference: bare Fastify');
    fastify = await fastifyReference(runId, o, logDir);
  }

  log('ingestion service');
  phase('ingestion start');
  const ctx = { brokers: kafkaInfo.brokers, brokerPid: kafkaInfo.pid, databaseUrl, logDir, profileDir, pidNames: new Map(), partitions: o.partitions };
  if (wantHealth(o)) ctx.whileRunning = (running) => (ctx.pidNames.set(running.service.pid, 'ingestion'), healthLatency(runId, o, ctx, running));
  if (wantEscalation(o)) ctx.escalationWhileRunning = (running) => escalationPipeline(runId, o, ctx, running);
  const svc = await measureService(runId, o, ctx);

  const { messageSample, kp } = o.only ? {} : await kafkaReference(runId, o, svc, kafkaInfo);
  let kafkaFastify = {};
  if (!o.only || o.only === 'single' || o.only === 'ingestion') {
    log('reference: Fastify + the Kafka publisher, single events');
    phase('reference: Fastify + Kafka publisher');
    kafkaFastify = await kafkaFastifyReference(runId, o, ctx);
  }
  const escalation = svc.escalation;
  if (escalation) {
    escalation.log = Object.fromEntries(
      ['escalation-routing', 'notification'].map((n) => [n, serviceLogSummary(join(logDir, `${n}.log`))]).filter(([, v]) => v.warn + v.error > 0 || v.samples.length),
    );
  }

  let health;
  if (wantHealth(o)) {
    log('health scoring: backfill');
    health = { latency: svc.health, ...(await healthBackfill(o, ctx, svc.admin, stamp)) };
    health.peakRssMiB = Math.max(
      ...Object.values(health.latency ?? {}).map((s) => s.healthRssPeakMiB ?? 0),
      health.backfill?.healthRssPeakMiB ?? 0,
      health.dryRun?.healthRssPeakMiB ?? 0,
    );
    health.settings = {
      ingestShare: TARGETS.health.ingestShare,
      accounts: o.accounts,
      backfillTimeoutSec: o.backfillTimeoutSec,
      latencyEnv: { HEALTH_MIN_DELTA: '0', HEALTH_SWEEP_INTERVAL_MS: process.env.HEALTH_SWEEP_INTERVAL_MS ?? '86400000' },
    };
    health.log = Object.fromEntries(
      ['health-scoring-latency', 'health-scoring-capacity', 'health-scoring-backfill'].map((n) => [n, serviceLogSummary(join(logDir, `${n}.log`))]).filter(([, v]) => v.warn + v.error > 0 || v.samples.length),
    );
  }

  let profile;
  if (o.profile) {
    // One file per process (cluster workers each write theirs); an idle primary is left out.
    const files = existsSync(profileDir) ? readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];
    const windows = [svc.batch, svc.single, ...Object.values(svc.health ?? {}), health?.backfill, health?.dryRun].filter(Boolean).map((s) => s.window);
    const processOf = (file) => ctx.pidNames.get(Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1])) ?? 'ingestion';
    profile = files
      .flatMap((file) => windows.map((window) => ({ ...summariseProfile(join(profileDir, file), { window }), process: processOf(file) })))
      .filter((p) => p.busyPct > 5 && p.totalMs > 500);
    if (!files.length) log(`no .cpuprofile found in ${profileDir}`);
  }

  const series = await timeline.stop();
  timeline = undefined;
  const { batch, single } = svc;
  const result = {
    tool: 'tools/bench/run.mjs',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: o.quick ? 'quick' : 'full',
    profiled: o.profile,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    runId,
    revision: code,
    machine,
    traffic: o.feed?.describe,
    settings: {
      durationSec: o.durationSec,
      warmupSec: o.warmupSec,
      batchSize: TARGETS.batchSize,
      batchConnections: o.batchConnections,
      singleConnections: o.singleConnections,
      partitions: o.partitions,
      producerPerf: o.producerPerf,
      ...(health ? { healthAccounts: o.accounts } : {}),
    },
    targets: TARGETS,
    infra: { brokers: kafkaInfo.brokers, brokerStartedByUs: kafkaInfo.startedByUs, database: new URL(databaseUrl).pathname.slice(1) },
    // Settings passed on to the service from the environment (INGESTION_*, DATABASE_*, OTEL_*, NODE_OPTIONS).
    serviceEnv: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(INGESTION_(?!BOOTSTRAP)|HEALTH_|DATABASE_POOL|OTEL_|NODE_OPTIONS$)/.test(k))),
    service: { ...svc.service, log: serviceLogSummary(join(logDir, 'ingestion.log')) },
    scenarios: { ...(batch ? { batch } : {}), ...(single ? { single } : {}) },
    reference: {
      fastifyBatch: fastify.batch,
      fastifySingle: fastify.single,
      fastifyPeakRssMiB: fastify.peakRssMiB,
      kafkaFastifySingle: kafkaFastify.single,
      kafkaProducerPerf: kp,
      messageSample: messageSample && { ...messageSample, example: messageSample.example?.slice(0, 2000) },
    },
    checks: {
      batchThroughput: batch && batch.eventsPerSec >= TARGETS.batchEventsPerSec,
      batchAcked: batch && batch.kafka.delta >= batch.acceptedEvents,
      singleThroughput: single && single.eventsPerSec >= TARGETS.singleEventsPerSec,
      singleAcked: single && single.kafka.delta >= single.acceptedEvents,
      noErrors: [batch, single].filter(Boolean).every((s) => s.non2xx + s.errors + s.timeouts === 0),
      ...(health ? healthChecks(health, o.accounts) : {}),
      ...(escalation ? escalationChecks(escalation) : {}),
    },
    ...(health ? { health } : {}),
    ...(escalation ? { escalation } : {}),
    // Peak RSS of every process the run started (sampled every second over the whole run; the
    // per-scenario peaks above are sampled every 200 ms), and the series behind the chart.
    peakRssMiB: series.peakRssMiB,
    timeline: series,
    ...(profile ? { profile } : {}),
    logs: relative(root, logDir),
  };
  const file = join(outDir, `ingestion-${stamp}.json`);
  result.resultFile = relative(root, file);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  report(result, o);
}

/**
 * --only backfill: the health-scoring backfill, its dry run and the COPY reference, without the
 * ingestion scenarios before them (health-scoring still needs the broker for its consumer and outbox).
 */
async function backfillOnly(o, { kafkaInfo, databaseUrl, logDir, profileDir, startedAt, stamp, runId, machine, code, outDir }) {
  const kafka = kafkaClient(kafkaInfo.brokers);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const ctx = { brokers: kafkaInfo.brokers, brokerPid: kafkaInfo.pid, databaseUrl, logDir, profileDir, pidNames: new Map(), partitions: o.partitions, kafka };
  log('health scoring: backfill');
  const health = await healthBackfill(o, ctx, admin, stamp);
  health.peakRssMiB = Math.max(health.backfill?.healthRssPeakMiB ?? 0, health.dryRun?.healthRssPeakMiB ?? 0);
  health.settings = { accounts: o.accounts, backfillTimeoutSec: o.backfillTimeoutSec };
  health.log = Object.fromEntries([['health-scoring-backfill', serviceLogSummary(join(logDir, 'health-scoring-backfill.log'))]].filter(([, v]) => v.warn + v.error > 0 || v.samples.length));
  const series = await timeline.stop();
  timeline = undefined;
  const result = {
    tool: 'tools/bench/run.mjs',
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    mode: 'backfill only',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    runId,
    revision: code,
    machine,
    settings: { partitions: o.partitions, healthAccounts: o.accounts },
    targets: TARGETS,
    infra: { brokers: kafkaInfo.brokers, brokerStartedByUs: kafkaInfo.startedByUs, database: new URL(databaseUrl).pathname.slice(1) },
    serviceEnv: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(HEALTH_|DATABASE_POOL|NODE_OPTIONS$)/.test(k))),
    checks: healthChecks(health, o.accounts),
    health,
    peakRssMiB: series.peakRssMiB,
    timeline: series,
    logs: relative(root, logDir),
  };
  const file = join(outDir, `backfill-${stamp}.json`);
  result.resultFile = relative(root, file);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nHealth scoring:\n${healthTextTable(result)}\n\nCPU during the health scenarios (% of one core):\n${healthCpuTable(result)}\n`);
  const pga = pgActivityTable(result);
  if (pga) console.log(`${pga}\n`);
  for (const [name, l] of Object.entries(result.health.log ?? {})) if (l.error || l.warn) log(`${name} logged ${l.error} errors, ${l.warn} warnings${l.samples.length ? `, e.g. ${l.samples.join(' | ')}` : ''}`);
  log(`result: ${result.resultFile} (docs/benchmarks.md is not updated by --only)`);
}

function report(result, o) {
  const { machine, profile } = result;
  console.log(`\n${textTable(result)}\n\nCPU during each scenario (% of one core, machine = ${machine.cores * 100} %):\n${cpuTable(result)}\n`);
  if (result.service.log.error) log(`service logged ${result.service.log.error} errors, e.g. ${result.service.log.samples.join(' | ')}`);
  if (result.health) {
    console.log(`Health scoring:\n${healthTextTable(result)}\n\nCPU during the health scenarios (% of one core):\n${healthCpuTable(result)}\n`);
    const pga = pgActivityTable(result);
    if (pga) console.log(`${pga}\n`);
    for (const [name, l] of Object.entries(result.health.log ?? {})) if (l.error || l.warn) log(`${name} logged ${l.error} errors, ${l.warn} warnings${l.samples.length ? `, e.g. ${l.samples.join(' | ')}` : ''}`);
  }
  if (result.escalation) {
    console.log(`Ticket → escalation → e-mail:\n${escalationTextTable(result)}\n\nCPU during the scenario (% of one core):\n${escalationCpuTable(result)}\n`);
    for (const [name, l] of Object.entries(result.escalation.log ?? {})) if (l.error || l.warn) log(`${name} logged ${l.error} errors, ${l.warn} warnings${l.samples.length ? `, e.g. ${l.samples.join(' | ')}` : ''}`);
  }
  if (result.timeline) console.log(`${runTextTable(result)}\n`);
  console.log(`Every figure of the run, with its target:\n${summaryTextTable(result)}\n`);
  const phases = result.timeline?.phases ?? [];
  if (phases.length) log(`time per phase: ${phases.map((p) => `${p.label} ${Math.round(p.toSec - p.fromSec)} s`).join(', ')}`);
  for (const p of [].concat(profile ?? [])) console.log(`${formatProfile(p)}\n`);
  log(`result: ${result.resultFile}`);
  // Only a complete, unprofiled run describes the service (the CLI options also turn docs off).
  const complete = !result.profiled && result.reference?.kafkaProducerPerf && result.scenarios.batch && result.scenarios.single && (result.health || o.from);
  if (o.docs && complete) {
    const docPath = join(root, 'docs/benchmarks.md');
    // The charts, generated from this result: lag and RSS over the run, throughput per scenario.
    const chartDir = join(root, 'docs/bench');
    mkdirSync(chartDir, { recursive: true });
    const charts = {};
    const title = `${result.mode} run of ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC at ${result.revision?.commit ?? '?'}`;
    if (result.timeline?.samples?.length) {
      writeFileSync(join(chartDir, 'timeline.svg'), timelineSvg(result.timeline, { title: `npm run bench: consumer lag and RSS over the ${title}` }));
      charts.timeline = 'bench/timeline.svg';
    }
    writeFileSync(join(chartDir, 'throughput.svg'), barsSvg(throughputBars(result), { title: `Throughput per scenario (blue: services, red: references, green: health-scoring, orange: load beside the tickets), ${title}` }));
    charts.throughput = 'bench/throughput.svg';
    writeFileSync(docPath, markdownDoc(result, foundationSection(docPath), charts));
    log(`updated docs/benchmarks.md and ${Object.values(charts).map((c) => `docs/${c}`).join(', ')}`);
  } else {
    log('docs/benchmarks.md not updated (--skip-docs, --profile, --only, or an incomplete result)');
  }
}

let o;
try {
  o = options();
} catch (e) {
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (o.help) {
  console.log(USAGE);
  process.exit(0);
}
const t0 = Date.now();
try {
  if (o.from) report(JSON.parse(readFileSync(resolve(o.from), 'utf8')), o);
  else await bench(o);
  await cleanup();
  const total = Math.round((Date.now() - t0) / 1000);
  if (!o.from) log(`done: total wall time ${Math.floor(total / 60)} min ${total % 60} s${o.quick && !o.only ? ` (quick run: should stay under 5 min, ${total < 300 ? 'it did' : 'it did NOT'})` : ''}`);
  process.exit(0);
} catch (e) {
  // The message says what failed; the stack only helps when the bench itself is wrong.
  console.error(`[bench] FAILED: ${process.env.BENCH_DEBUG ? e.stack : e.message}`);
  await cleanup();
  process.exit(1);
}
