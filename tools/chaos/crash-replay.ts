import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ALL_TOPICS, deadLetterTopic, Topics } from '@kizuna/shared/contracts';
import { ensureDatabase } from '@kizuna/shared/persistence';
import { SERVICES, SmtpSink, WebhookSink, authHeader, repoRoot, testKafka, waitFor, type ServiceName } from '@kizuna/shared/testing';
import { ChaosBroker } from './chaos-broker';
import { planEvents, type EventPlan } from './event-plan';
import { IngestDriver, type DriverStats } from './ingest-driver';
import { ServiceFleet, type FleetStats } from './service-fleet';
import { duplicatePublications, scanTopics, verifyRun, type Check } from './verify';
import { verifyNotifications, type Arrivals } from './verify-notifications';

const run = promisify(execFile);

export interface CrashReplayOptions {
  /** Product (track) events with distinct messageIds; group calls and tickets come on top. */
  productEvents: number;
  accounts: number;
  /** Share of messages and tickets sent twice on purpose. */
  duplicateRate: number;
  /** How long the events are spread over (the kills and the broker restart happen meanwhile). */
  driveMs: number;
  /** A random live service is SIGKILLed every [min, max] ms, and started again at once. */
  killEveryMs: [number, number];
  /** The kills go on after the last event was acknowledged (while the consumers catch up) until this many were made, every service at least once. */
  minKills: number;
  /**
   * `own`: the harness starts its own broker (infra/kafka on this port, own data dir) and restarts
   * it once mid-run; `external`: these brokers (Testcontainers, KAFKA_BROKERS), never restarted.
   */
  broker: { kind: 'own'; port: number } | { kind: 'external'; brokers: string };
  /** Dropped and created again: the harness owns this database. */
  databaseUrl: string;
  /** Five consecutive ports from here. */
  basePort: number;
  partitions: number;
  batchSize: number;
  concurrency: number;
  /** How long the system may take to catch up after the last kill. */
  settleTimeoutMs: number;
  seed: number;
  /** Build and broker data go here (one per profile: runs side by side must not share them). */
  workDir: string;
  log: (msg: string) => void;
}

export interface CrashReplayReport {
  ok: boolean;
  runId: string;
  startedAt: string;
  events: { distinct: number; product: number; accountUpdates: number; tickets: number; sentWithDuplicates: number; acknowledged: number };
  driver: DriverStats;
  fleet: FleetStats;
  brokerRestarts: number;
  brokerRestartMs?: number;
  durations: { setupMs: number; driveMs: number; settleMs: number; verifyMs: number; totalMs: number };
  duplicatePublications: Record<string, { messages: number; distinct: number }>;
  /** What reached the SMTP and webhook sinks (distinct delivery ids), and how many arrivals were re-sends after a SIGKILL. */
  notifications?: Arrivals;
  shutdownExitCodes: Record<string, number | null>;
  checks: Check[];
  failures: string[];
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function recreateDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '')}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
  await ensureDatabase(url);
}

/** Sum of kizuna_consumer_lag on a service's /metrics (read from the broker at scrape time); undefined when unreadable. */
async function consumerLag(url: string): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  if (res?.status !== 200) return undefined;
  const lines = (await res.text()).split('\n').filter((l) => l.startsWith('kizuna_consumer_lag{'));
  if (lines.length === 0) return undefined;
  return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * The run's CSMs on escalation-routing's roster (each owns every n-th account: escalations route to the
 * owner) and as notification recipients: e-mail, a signed webhook to the sink (`/<csm id>`) and in-app
 * for escalations and health and onboarding alerts. Made before any event is sent, with no kills yet.
 */
async function setUpRecipients(csms: EventPlan['csms'], fleet: ServiceFleet, webhookUrl: string, secret: string): Promise<void> {
  const headers = { 'content-type': 'application/json', ...(await authHeader({ roles: ['admin'], sub: 'chaos-harness' })) };
  const put = async (url: string, body: unknown) => {
    const res = await fetch(url, { method: 'PUT', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`PUT ${url}: ${res.status} ${await res.text()}`);
  };
  const everywhere = ['email', 'webhook', 'in-app'];
  for (const c of csms) {
    await put(`${fleet.url('escalation-routing')}/v1/csms/${c.id}`, { name: c.name, email: c.email, capacity: 10_000, active: true });
    await put(`${fleet.url('notification')}/v1/recipients/${c.id}`, {
      email: c.email, name: c.name,
      channels: Object.fromEntries(['escalation.assigned', 'escalation.reassigned', 'health.danger', 'health.large-drop', 'lifecycle.onboarding-stalled'].map((t) => [t, everywhere])),
      webhooks: [{ id: 'chaos', url: `${webhookUrl}/${c.id}`, secrets: [secret] }],
    });
  }
}

/**
 * The crash-replay harness: builds once, runs the five services as processes on their own database
 * and consumer-group prefix, drives events through ingestion's HTTP API while SIGKILLing a random
 * service every few seconds (and restarting the broker once), waits until every consumer has caught
 * up, then checks each service's state against the ledger of what ingestion acknowledged.
 */
export async function runCrashReplay(o: CrashReplayOptions): Promise<CrashReplayReport> {
  const t0 = Date.now();
  const runId = randomUUID().slice(0, 8);
  const groupPrefix = `chaos-${runId}`;
  const writeKey = `chaos-write-key-${runId}`;
  const distDir = join(o.workDir, 'dist');
  const failures: string[] = [];
  const log = o.log;

  log(`build into ${distDir}`);
  await run(process.execPath, [join(repoRoot(), 'tools/scripts/build.mjs'), '--out', distDir]);
  const broker = o.broker.kind === 'own' ? new ChaosBroker(o.broker.port, join(o.workDir, 'kafka')) : undefined;
  if (broker) {
    log(`fresh broker on ${broker.brokers}`);
    await broker.startFresh();
    log(`broker ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const brokers = broker ? broker.brokers : (o.broker as { brokers: string }).brokers;
  await recreateDatabase(o.databaseUrl);

  const plan = planEvents({
    runId, productEvents: o.productEvents, accounts: o.accounts, duplicateRate: o.duplicateRate, windowDays: 3, now: new Date(), seed: o.seed,
  });
  const ticketCount = [...plan.tickets.values()].reduce((n, l) => n + l.length, 0);
  // Notification delivers for real: e-mail to an SMTP sink, signed webhooks to an HTTP sink, both the harness's.
  const smtp = await new SmtpSink().start();
  const hooks = await new WebhookSink().start();
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const env: NodeJS.ProcessEnv = {
    KAFKA_BROKERS: brokers,
    DATABASE_URL: o.databaseUrl,
    DATABASE_POOL_SIZE: '5',
    KAFKA_GROUP_PREFIX: groupPrefix,
    // The verifier reads what each service emitted from its outbox: keep published rows.
    OUTBOX_RETAIN_MS: '86400000',
    KAFKA_TOPIC_PARTITIONS: String(o.partitions),
    INGESTION_BOOTSTRAP_WRITE_KEY: writeKey,
    // Only the events drive the state: periodic sweeps would keep emitting while the harness waits for quiet.
    HEALTH_SWEEP_INTERVAL_MS: '3600000',
    LIFECYCLE_TICK_INTERVAL_MS: '3600000',
    ESCALATION_SLA_SWEEP_INTERVAL_MS: '3600000',
    LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    KIZUNA_TRACE_DIR: '',
    SHUTDOWN_TIMEOUT_MS: '30000',
    // A killed consumer's partitions go to its successor within 10-15 s instead of 30-60 s.
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
    KAFKA_REBALANCE_TIMEOUT_MS: '15000',
    NOTIFICATION_SMTP_HOST: '127.0.0.1',
    NOTIFICATION_SMTP_PORT: String(smtp.port),
    NOTIFICATION_SMTP_FROM: 'Kizuna <kizuna@chaos.example.com>',
    NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true',
    NOTIFICATION_SECRET_KEY: randomBytes(32).toString('base64'),
    // A send cut by a SIGKILL is claimed again when its lease ends (2 x timeout + 30 s); retries soon.
    NOTIFICATION_SEND_TIMEOUT_MS: '5000',
    NOTIFICATION_RETRY_SCHEDULE: '1s,2s,5s,10s,20s,30s,60s',
  };
  const portOf = (s: ServiceName) => o.basePort + SERVICES.indexOf(s);
  const fleet = new ServiceFleet(portOf, env, distDir, log);
  const driver = new IngestDriver(() => fleet.url('ingestion'), writeKey, log);
  const db = new Client({ connectionString: o.databaseUrl });
  let brokerRestarts = 0;
  let brokerRestartMs: number | undefined;
  let shutdownExitCodes: Record<string, number | null> = {};
  const durations = { setupMs: 0, driveMs: 0, settleMs: 0, verifyMs: 0, totalMs: 0 };
  let checks: Check[] = [];
  let dupes: CrashReplayReport['duplicatePublications'] = {};
  let arrivals: Arrivals | undefined;
  try {
    fleet.startAll();
    await fleet.allReady(120_000);
    await db.connect();
    await setUpRecipients(plan.csms, fleet, hooks.url, webhookSecret);
    durations.setupMs = Date.now() - t0;
    log(`services ready after ${(durations.setupMs / 1000).toFixed(1)} s; sending ${plan.sendOrder.length} messages (${plan.messages.length} distinct) and ${ticketCount} tickets over ${o.driveMs / 1000} s`);

    // Chaos: a random live service is killed every few seconds, the broker restarted once half-way.
    const tDrive = Date.now();
    let chaos = true;
    // While the broker is away no service is killed: the ones running must reconnect by themselves.
    let brokerDown = false;
    let kills = 0;
    const killer = (async () => {
      while (chaos) {
        await delay(o.killEveryMs[0] + Math.random() * (o.killEveryMs[1] - o.killEveryMs[0]));
        if (!chaos) return;
        if (brokerDown) continue;
        const live = (await Promise.all(SERVICES.map(async (s) => ((await fleet.isLive(s)) ? s : undefined)))).filter((s): s is ServiceName => !!s);
        const victim = live[Math.floor(Math.random() * live.length)];
        if (!victim || brokerDown) continue;
        fleet.kill(victim);
        kills++;
        log(`SIGKILL ${victim} at ${((Date.now() - tDrive) / 1000).toFixed(1)} s`);
      }
    })();
    const brokerBounce = (async () => {
      if (!broker) return;
      await delay(o.driveMs * 0.25);
      const t = Date.now();
      log('restarting the broker');
      brokerDown = true;
      await broker.stop();
      await broker.start();
      brokerDown = false;
      brokerRestarts++;
      brokerRestartMs = Date.now() - t;
      log(`broker back after ${(brokerRestartMs / 1000).toFixed(1)} s`);
    })();
    await driver.run(plan, { durationMs: o.driveMs, batchSize: o.batchSize, concurrency: o.concurrency });
    log(`all ${driver.stats.acknowledged} events acknowledged after ${((Date.now() - tDrive) / 1000).toFixed(1)} s`);
    await brokerBounce;
    await waitFor(`${o.minKills} kills, every service at least once`, () => kills >= o.minKills && SERVICES.every((s) => fleet.stats.kills[s] > 0), {
      timeoutMs: 10 * 60_000, intervalMs: 200,
    });
    chaos = false;
    await killer;
    durations.driveMs = Date.now() - tDrive;
    log(`chaos over after ${(durations.driveMs / 1000).toFixed(1)} s; kills: ${JSON.stringify(fleet.stats.kills)}`);

    // Settle: every service up, every consumer caught up, every outbox empty, twice in a row.
    const tSettle = Date.now();
    await fleet.allReady(120_000);
    let quietSince = 0;
    let lastReport = Date.now();
    await waitFor(
      'every consumer caught up (lag 0) and every outbox drained',
      async () => {
        const lags = await Promise.all(SERVICES.filter((s) => s !== 'ingestion').map((s) => consumerLag(fleet.url(s))));
        const backlog = (
          await db.query<{ n: string }>(
            `SELECT (SELECT count(*) FROM health_scoring.outbox WHERE published_at IS NULL) + (SELECT count(*) FROM lifecycle.outbox WHERE published_at IS NULL)
                  + (SELECT count(*) FROM escalation_routing.outbox WHERE published_at IS NULL) + (SELECT count(*) FROM notification.outbox WHERE published_at IS NULL)
                  + (SELECT count(*) FROM notification.delivery WHERE status IN ('pending', 'sending', 'failed')) AS n`,
          )
        ).rows[0]?.n;
        const quiet = lags.every((l) => l === 0) && Number(backlog) === 0;
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          log(`catching up: lag ${SERVICES.filter((s) => s !== 'ingestion').map((s, i) => `${s} ${lags[i] ?? '?'}`).join(', ')}; outbox and delivery backlog ${backlog}`);
        }
        if (!quiet) {
          quietSince = 0;
          return false;
        }
        quietSince ||= Date.now();
        return Date.now() - quietSince >= 3000;
      },
      { timeoutMs: o.settleTimeoutMs, intervalMs: 1000 },
    );
    durations.settleMs = Date.now() - tSettle;
    log(`caught up ${(durations.settleMs / 1000).toFixed(1)} s after the last kill`);

    const tVerify = Date.now();
    const kafka = testKafka(brokers);
    const topics = [Topics.product, Topics.directory, Topics.support, Topics.health, Topics.lifecycle, Topics.escalation];
    const scan = await scanTopics(kafka, [...topics, ...ALL_TOPICS.map((t) => deadLetterTopic(t))], new Set(plan.accounts));
    dupes = duplicatePublications(scan);
    checks = await verifyRun(db, plan, driver.ledger, groupPrefix, scan);
    const sent = await verifyNotifications(db, plan, {
      mails: smtp.mails, webhooks: hooks.requests, webhookSecret, notificationKills: fleet.stats.killTimes.notification,
    });
    checks.push(...sent.checks);
    arrivals = sent.arrivals;
    checks.push({ name: 'consumer lag back to 0', ok: true, detail: `lag 0 on every consumer group (kizuna_consumer_lag) ${(durations.settleMs / 1000).toFixed(1)} s after the last kill` });
    durations.verifyMs = Date.now() - tVerify;
  } catch (e) {
    failures.push(`harness: ${(e as Error).message}`);
    for (const s of SERVICES) log(`--- last output of ${s}:\n${fleet.output(s).slice(-10).join('\n')}`);
  } finally {
    driver.abort();
    shutdownExitCodes = await fleet.stopAll();
    await db.end().catch(() => undefined);
    if (broker) await broker.stop().catch(() => undefined);
    await smtp.stop();
    await hooks.stop();
  }
  for (const c of checks) if (!c.ok) failures.push(`${c.name}: ${c.detail}`);
  if (driver.stats.rejected.length) failures.push(`ingestion refused valid input: ${driver.stats.rejected.slice(0, 3).join(' | ')}`);
  const notClean = Object.entries(shutdownExitCodes).filter(([, c]) => c !== 0);
  if (notClean.length) failures.push(`graceful shutdown after the run: ${notClean.map(([s, c]) => `${s} exited ${c}`).join(', ')}`);
  durations.totalMs = Date.now() - t0;
  return {
    ok: failures.length === 0,
    runId,
    startedAt: new Date(t0).toISOString(),
    events: {
      distinct: plan.messages.length + ticketCount,
      product: plan.messages.filter((m) => m.kind === 'track').length,
      accountUpdates: plan.accounts.length,
      tickets: ticketCount,
      sentWithDuplicates: plan.sendOrder.length + ticketCount + plan.duplicateTickets.size,
      acknowledged: driver.stats.acknowledged,
    },
    driver: driver.stats,
    fleet: fleet.stats,
    brokerRestarts,
    ...(brokerRestartMs !== undefined ? { brokerRestartMs } : {}),
    durations,
    duplicatePublications: dupes,
    ...(arrivals ? { notifications: arrivals } : {}),
    shutdownExitCodes,
    checks,
    failures,
  };
}

/** A few lines for a human. */
export function summarise(r: CrashReplayReport): string {
  const kills = Object.values(r.fleet.kills).reduce((a, b) => a + b, 0);
  const lines = [
    `crash replay ${r.runId}: ${r.ok ? 'PASSED' : 'FAILED'} in ${(r.durations.totalMs / 1000).toFixed(0)} s`,
    `  events: ${r.events.distinct} distinct (${r.events.product} product, ${r.events.accountUpdates} account updates, ${r.events.tickets} tickets), ${r.events.sentWithDuplicates} sent with duplicates, ${r.events.acknowledged} acknowledged; ${r.driver.requests} requests, retries ${JSON.stringify(r.driver.retries)}`,
    `  chaos: ${kills} SIGKILLs ${JSON.stringify(r.fleet.kills)}, unexpected exits ${JSON.stringify(r.fleet.unexpectedExits)}, broker restarts ${r.brokerRestarts}${r.brokerRestartMs ? ` (${(r.brokerRestartMs / 1000).toFixed(1)} s down)` : ''}`,
    `  durations: setup ${(r.durations.setupMs / 1000).toFixed(1)} s, drive ${(r.durations.driveMs / 1000).toFixed(1)} s, catch-up ${(r.durations.settleMs / 1000).toFixed(1)} s, verify ${(r.durations.verifyMs / 1000).toFixed(1)} s`,
    ...(r.notifications ? [`  notifications: ${r.notifications.email} e-mails and ${r.notifications.webhook} webhooks arrived, ${r.notifications.resentAfterKill} re-sent with the same id after a SIGKILL of notification`] : []),
    `  duplicate publications absorbed: ${Object.entries(r.duplicatePublications).map(([t, d]) => `${t} ${d.messages - d.distinct}`).join(', ')}`,
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    ...r.failures.filter((f) => !r.checks.some((c) => f.startsWith(c.name))).map((f) => `  FAIL ${f}`),
  ];
  return lines.join('\n');
}
