#!/usr/bin/env node
// `npm start`: the whole platform in the foreground. Postgres (DATABASE_URL or the local server),
// the local Kafka broker (unless KAFKA_BROKERS is set or one already runs), a build, the five
// services; waits until every /health/ready answers, prints where to look; Ctrl-C stops it all
// (the broker too, unless it was running before).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { devJwtKeys, signLocalToken } from './dev-auth.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = [
  ['ingestion', 3001],
  ['health-scoring', 3002],
  ['lifecycle', 3003],
  ['escalation-routing', 3004],
  ['notification', 3005],
];
// Development defaults (printed at startup); set real values in the environment for anything else.
const DEV_ADMIN_TOKEN = 'dev-admin-token-change-me';
const DEV_WRITE_KEY = 'dev-write-key';
process.env.INGESTION_ADMIN_TOKEN ??= DEV_ADMIN_TOKEN;
process.env.INGESTION_BOOTSTRAP_WRITE_KEY ??= DEV_WRITE_KEY;
// Encrypt webhook signing secrets at rest: random keys kept (git-ignored) in .kizuna/, one per service.
for (const [variable, name] of [['INGESTION_SECRET_KEY', 'dev-secret-key'], ['NOTIFICATION_SECRET_KEY', 'dev-notification-secret-key']]) {
  if (process.env[variable]) continue;
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.kizuna', name);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  process.env[variable] = readFileSync(file, 'utf8').trim();
}
// Bearer tokens of the APIs: without AUTH_JWT_KEYS, a random development HS256 key kept in .kizuna/
// (`npm run token -- --role admin` signs with it).
const devAuth = !process.env.AUTH_JWT_KEYS;
if (devAuth) process.env.AUTH_JWT_KEYS = devJwtKeys();
// Spans go to files (no collector needed): `npm run trace -- <accountId|traceId>` reads them. A fresh
// directory per run; set OTEL_EXPORTER_OTLP_ENDPOINT as well to send them to Jaeger or a collector.
if (process.env.KIZUNA_TRACE_DIR === undefined) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.kizuna', 'traces');
  rmSync(dir, { recursive: true, force: true });
  process.env.KIZUNA_TRACE_DIR = dir;
}
const READY_TIMEOUT_MS = Number(process.env.KIZUNA_READY_TIMEOUT_MS ?? 90000);

// The demo: a simulated company played into the platform once it is up (`npm start -- --no-demo` skips it).
const { values: opts } = parseArgs({
  options: {
    'no-demo': { type: 'boolean', default: process.env.KIZUNA_DEMO === '0' },
    'demo-seed': { type: 'string', default: '42' },
    'demo-accounts': { type: 'string', default: '80' },
    'demo-days': { type: 'string', default: '60' },
    'demo-activity': { type: 'string', default: '0.3' },
    'demo-compress': { type: 'string', default: '120' },
    // Simulated days per step of the play: three keep the demo within minutes (the lifecycle tick and the
    // health sweep then run every third simulated day); the persona suite steps one day at a time.
    'demo-step-days': { type: 'string', default: '3' },
    // The window's last day (YYYY-MM-DD, it ends at the next UTC midnight); default: today's. The simulated
    // company's week has its weekends on Saturdays and Sundays, so one seed gives one history per end day.
    'demo-end': { type: 'string', default: process.env.KIZUNA_DEMO_END ?? '' },
  },
});
const DEMO = !opts['no-demo'];
/** Seconds between launching the services and the first simulated day (they start meanwhile). */
const DEMO_LEAD_S = Number(process.env.KIZUNA_DEMO_LEAD_S ?? 45);
const DAY_MS = 86_400_000;
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kizuna';
const colors = [36, 32, 35, 33, 34];
const say = (msg) => process.stdout.write(`\x1b[1m[kizuna]\x1b[0m ${msg}\n`);
const children = [];
let broker; // the broker child when we started it
let stopping = false;

function portOpen(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function ensurePostgres() {
  const url = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (await portOpen(host, port)) return;
  const isLocal = ['127.0.0.1', 'localhost'].includes(host) && !process.env.DATABASE_URL;
  if (isLocal && existsSync('/etc/postgresql') && spawnSync('which', ['pg_ctlcluster']).status === 0) {
    for (const version of readdirSync('/etc/postgresql')) {
      say(`Postgres is not answering on ${host}:${port}; starting the local cluster ${version}/main`);
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
    }
    for (let i = 0; i < 30; i++) {
      if (await portOpen(host, port)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(
    `Postgres does not answer on ${host}:${port}. Set DATABASE_URL to a reachable server, or start the local one ` +
      '(Debian: pg_ctlcluster --skip-systemctl-redirect <version> main start).',
  );
}

async function ensureKafka() {
  if (process.env.KAFKA_BROKERS) {
    say(`using Kafka at ${process.env.KAFKA_BROKERS}`);
    return;
  }
  if (await portOpen('127.0.0.1', Number(process.env.KAFKA_PORT ?? 9092))) {
    say(`a Kafka broker is already running on 127.0.0.1:${process.env.KAFKA_PORT ?? 9092}; using it (and leaving it running)`);
    return;
  }
  say('starting the local Kafka broker (infra/kafka; the first run fetches it with Maven)');
  broker = spawn('bash', [join(root, 'infra/kafka/kafka.sh'), 'run'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  pipe(broker, 'kafka', 90);
  const wait = spawnSync('bash', [join(root, 'infra/kafka/kafka.sh'), 'wait'], { stdio: 'inherit' });
  if (wait.status !== 0) throw new Error('the Kafka broker did not become ready (see .kizuna/kafka/logs/server.log)');
}

function pipe(child, name, color) {
  const prefix = `\x1b[${color}m${name.padEnd(18)}\x1b[0m|`;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
  }
}

function startServices() {
  SERVICES.forEach(([name, port], i) => {
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist/apps', name, 'src/main.js')], {
      cwd: root,
      env: { ...process.env, PORT: process.env[`${name.toUpperCase().replace(/-/g, '_')}_PORT`] ?? String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pipe(child, name, colors[i]);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        say(`${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping the platform`);
        void shutdown(1);
      }
    });
    children.push({ name, child });
  });
}

/** Local sinks the demo's notifications go to: an SMTP server and a webhook receiver, each message a JSON file. */
async function startSinks(dir) {
  const mailDir = join(dir, 'mail');
  const webhookDir = join(dir, 'webhooks');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(mailDir, { recursive: true });
  mkdirSync(webhookDir, { recursive: true });
  let n = 0;
  const { SMTPServer } = await import('smtp-server');
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = /^subject: (.*)$/im.exec(raw)?.[1] ?? '';
        const file = join(mailDir, `${String(++n).padStart(6, '0')}.json`);
        writeFileSync(file, JSON.stringify({ from: session.envelope.mailFrom?.address, to: session.envelope.rcptTo.map((r) => r.address), subject, at: new Date().toISOString() }));
        callback();
      });
    },
  });
  await new Promise((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const hooks = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      writeFileSync(join(webhookDir, `${String(++n).padStart(6, '0')}.json`), JSON.stringify({ path: req.url, id: req.headers['webhook-id'], body: Buffer.concat(chunks).toString('utf8') }));
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  return { smtpPort: smtp.server.address().port, webhookUrl: `http://127.0.0.1:${hooks.address().port}/kizuna`, mailDir, webhookDir, close: () => { smtp.close(); hooks.close(); } };
}

/**
 * The demo's clock window: the services' clock stands at the first simulated day until the demo
 * starts (when every service is ready and the demo has set them up, it writes the real start to
 * KIZUNA_CLOCK_START_FILE), plays the simulated days in --demo-compress seconds, then runs on at real
 * speed from the end of the window, the UTC midnight after the expected end (DEMO_LEAD_S after launch
 * plus the window), so data and "now" agree afterwards.
 */
function demoWindow() {
  const realStart = Date.now() + DEMO_LEAD_S * 1000;
  const realEnd = realStart + Number(opts['demo-compress']) * 1000;
  let simEnd = Math.ceil(realEnd / DAY_MS) * DAY_MS;
  if (opts['demo-end']) {
    const last = Date.parse(`${opts['demo-end']}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(opts['demo-end']) || Number.isNaN(last)) throw new Error(`--demo-end must be a day, YYYY-MM-DD, got ${opts['demo-end']}`);
    simEnd = last + DAY_MS;
  }
  const simStart = simEnd - Number(opts['demo-days']) * DAY_MS;
  return { realStart, realEnd, simStart, simEnd };
}

async function runDemo(window, sinks) {
  // The demo reads and configures the services through their APIs: an admin token for its run.
  const token = await signLocalToken({ roles: ['admin'], sub: 'demo', ttlSeconds: 3600 });
  const args = [
    '-r', '@swc-node/register', join(root, 'tools/simulator/src/demo.ts'),
    '--start', new Date(window.simStart).toISOString(), '--clock-file', process.env.KIZUNA_CLOCK_START_FILE,
    '--compress', String(window.realEnd - window.realStart),
    '--seed', opts['demo-seed'], '--accounts', opts['demo-accounts'], '--days', opts['demo-days'], '--activity', opts['demo-activity'],
    '--step-days', opts['demo-step-days'],
    '--mail-dir', sinks.mailDir, '--webhook-dir', sinks.webhookDir, '--webhook-url', sinks.webhookUrl,
    '--summary-out', join(root, '.kizuna', 'demo', 'summary.json'),
  ];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, KIZUNA_DEMO_TOKEN: token }, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code) => {
    if (stopping) return;
    say(code === 0 ? 'demo done; the platform keeps running with its data. Press Ctrl-C to stop everything.' : `the demo failed (exit ${code}); the platform keeps running.`);
  });
  children.push({ name: 'demo', child });
}

async function waitReady() {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const pending = new Set(SERVICES.map(([name]) => name));
  while (pending.size && Date.now() < deadline && !stopping) {
    for (const [name, port] of SERVICES) {
      if (!pending.has(name)) continue;
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      if (res?.status === 200) pending.delete(name);
    }
    if (pending.size) await new Promise((r) => setTimeout(r, 500));
  }
  if (pending.size) throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s: ${[...pending].join(', ')}`);
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping the services...');
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 35000).unref();
        }),
    ),
  );
  if (broker && broker.exitCode === null) {
    say('stopping the Kafka broker this run started...');
    await new Promise((resolve) => {
      broker.once('exit', resolve);
      process.kill(-broker.pid, 'SIGTERM');
      setTimeout(() => broker.exitCode === null && process.kill(-broker.pid, 'SIGKILL'), 35000).unref();
    });
  }
  say('stopped.');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/**
 * The demo runs on its own broker (port 9192, data in .kizuna/kafka-demo) and its own database
 * (kizuna_demo), both emptied at each start, so the same seed gives the same run; `--no-demo` uses
 * the development broker (9092) and database (kizuna), which keep their data.
 */
async function isolateDemo() {
  if (!process.env.DATABASE_URL) {
    const url = new URL(DEFAULT_DATABASE_URL);
    url.pathname = '/kizuna_demo';
    const admin = new URL(DEFAULT_DATABASE_URL);
    admin.pathname = '/postgres';
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query('DROP DATABASE IF EXISTS kizuna_demo WITH (FORCE)').finally(() => client.end());
    process.env.DATABASE_URL = url.toString();
  }
  if (!process.env.KAFKA_BROKERS && process.env.KAFKA_PORT === undefined) {
    Object.assign(process.env, { KAFKA_PORT: '9192', KAFKA_CONTROLLER_PORT: '9193', KAFKA_DATA_DIR: join(root, '.kizuna', 'kafka-demo') });
    const script = join(root, 'infra/kafka/kafka.sh');
    spawnSync('bash', [script, 'stop'], { stdio: 'ignore' });
    spawnSync('bash', [script, 'reset'], { stdio: 'ignore' });
  }
  say(`demo: a fresh database (${new URL(process.env.DATABASE_URL).pathname.slice(1)}) and broker (port ${process.env.KAFKA_PORT ?? 'from KAFKA_BROKERS'})`);
}

try {
  const t0 = Date.now();
  await ensurePostgres();
  if (DEMO) await isolateDemo();
  await ensureKafka();
  if (DEMO && !process.env.KAFKA_BROKERS && process.env.KAFKA_PORT) process.env.KAFKA_BROKERS = `127.0.0.1:${process.env.KAFKA_PORT}`;
  say('building (SWC)...');
  const build = spawnSync(process.execPath, [join(root, 'tools/scripts/build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  let sinks;
  let window;
  if (DEMO) {
    sinks = await startSinks(join(root, '.kizuna', 'demo'));
    window = demoWindow();
    Object.assign(process.env, {
      KIZUNA_CLOCK_WINDOW: [window.simStart, window.simEnd, window.realStart, window.realEnd].map((t) => new Date(t).toISOString()).join(','),
      // The services' clock follows this file: the demo moves it one simulated day at a time, each once the
      // services have consumed the day before (FileDrivenClock), however long they take.
      KIZUNA_CLOCK_START_FILE: join(sinks.mailDir, '..', 'clock'),
      // While the demo steps the clock, the time-driven work (lifecycle tick, health sweep, plays)
      // runs once per simulated day, after the day's events (PeriodicTask on a stepped clock); the demo waits
      // on each service's consumer lag between steps, so the lag is read afresh at every scrape.
      KAFKA_LAG_CACHE_MS: process.env.KAFKA_LAG_CACHE_MS ?? '0',
      // Health is scored once per closed stage (the sweep), so the changes emitted do not depend on how a
      // stage's events were split into consumer runs: the same seed, the same summary.
      HEALTH_SCORE_ON_CLOCK_STEPS: process.env.HEALTH_SCORE_ON_CLOCK_STEPS ?? 'true',
      // Escalations are routed when their stage closes, all at once in one order, so who takes one routed
      // by load does not depend on which partition's consumer opened it first.
      ESCALATION_ROUTE_ON_CLOCK_STEPS: process.env.ESCALATION_ROUTE_ON_CLOCK_STEPS ?? 'true',
      // Lifecycle logs a stage's signals and rebuilds each account from its log at the close, so its phase,
      // touch-model, segment and stall events do not depend on the order it read topics and partitions in.
      LIFECYCLE_EVALUATE_ON_CLOCK_STEPS: process.env.LIFECYCLE_EVALUATE_ON_CLOCK_STEPS ?? 'true',
      // Nobody acknowledges the simulated escalations, so the SLA sweep (real-time interval, not stepped) would
      // re-route every one once breached: hourly during the demo.
      ESCALATION_SLA_SWEEP_INTERVAL_MS: process.env.ESCALATION_SLA_SWEEP_INTERVAL_MS ?? '3600000',
      NOTIFICATION_SMTP_HOST: '127.0.0.1',
      NOTIFICATION_SMTP_PORT: String(sinks.smtpPort),
      NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true',
    });
    process.env.LOG_LEVEL ??= 'warn';
    say(`demo: services run on a simulated clock: ${opts['demo-days']} days (${new Date(window.simStart).toISOString().slice(0, 10)} .. ${new Date(window.simEnd).toISOString().slice(0, 10)}) played ${opts['demo-step-days']} day(s) at a time as fast as they consume them, then real time; mail and webhooks go to local sinks (.kizuna/demo)`);
  }
  say('starting the five services (each applies its own migrations)...');
  startServices();
  await waitReady();
  say(`all five services ready in ${((Date.now() - t0) / 1000).toFixed(1)} s:`);
  for (const [name, port] of SERVICES) say(`  ${name.padEnd(18)} http://127.0.0.1:${port}/health/ready`);
  say(`write key of source "default": ${process.env.INGESTION_BOOTSTRAP_WRITE_KEY}   admin token: ${process.env.INGESTION_ADMIN_TOKEN === DEV_ADMIN_TOKEN ? DEV_ADMIN_TOKEN : '(from INGESTION_ADMIN_TOKEN)'}`);
  say(`send an event:  curl -u ${process.env.INGESTION_BOOTSTRAP_WRITE_KEY}: -XPOST http://127.0.0.1:3001/v1/track -H "content-type: application/json" \\`);
  say('                  -d \'{"userId":"u1","event":"Report Shared","context":{"groupId":"acme"}}\'');
  say(`API token:  TOKEN=$(npm run -s token -- --role admin)   then  curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3002/v1/health${devAuth ? '' : '   (signs with AUTH_JWT_KEYS)'}`);
  say('see where it went:  npm run trace -- acme      metrics: http://127.0.0.1:3002/metrics (each service)');
  if (DEMO) {
    say(`demo: ${opts['demo-accounts']} simulated accounts over ${opts['demo-days']} days (seed ${opts['demo-seed']}); skip it with npm start -- --no-demo`);
    await runDemo(window, sinks);
  } else say('press Ctrl-C to stop everything.');
} catch (e) {
  say(`\x1b[31m${e.message}\x1b[0m`);
  await shutdown(1);
}
