// Health-scoring figures: event → cs.health.v1 latency under a paced ingest load, and the backfill
// of many accounts (with a dry run) beside a plain COPY of the same rows into Postgres.
import { createRequire } from 'node:module';
import { createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join, relative } from 'node:path';
import { servicePort, runCommand, sleep, startProcess, stopProcess, waitForHttp } from './processes.mjs';
import { cpuBetween, cpuSnapshot, rssSampler } from './sampler.mjs';
import { signLocalToken } from '../../scripts/dev-auth.mjs';
import { feedTrack } from './feed.mjs';
import { topicName } from './topics.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');

export const HEALTH_TOPIC = topicName('cs.health.v1');
/** What health-scoring consumes (README: cs.product, cs.directory, cs.support, cs.survey, cs.billing). */
export const HEALTH_INPUT_TOPICS = ['cs.product.v1', 'cs.directory.v1', 'cs.support.v1', 'cs.survey.v1', 'cs.billing.v1'].map(topicName);
export const healthGroup = () => `${process.env.KAFKA_GROUP_PREFIX ?? 'kizuna'}.health-scoring`;

const KEY_EVENTS = ['Dashboard Viewed', 'Report Created', 'Report Shared', 'Feature Used', 'Teammate Invited', 'Page Opened'];
const round = (x, d = 0) => (x === undefined || x === null || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d);
const wallNow = () => performance.timeOrigin + performance.now();
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

// --- Kafka group helpers -------------------------------------------------------------------------

/** Consumer lag of a group: Σ (high watermark − committed offset) over the partitions of `topics`. */
export async function groupLag(admin, groupId, topics) {
  const existing = new Set(await admin.listTopics());
  const wanted = topics.filter((t) => existing.has(t));
  const committed = await admin.fetchOffsets({ groupId, topics: wanted });
  const perTopic = {};
  let total = 0;
  let committedSum = 0;
  for (const topic of wanted) {
    const high = await admin.fetchTopicOffsets(topic);
    const c = committed.find((x) => x.topic === topic)?.partitions ?? [];
    let lag = 0;
    for (const p of high) {
      const off = Number(c.find((x) => x.partition === p.partition)?.offset ?? -1);
      const from = off >= 0 ? off : Number(p.low);
      lag += Number(p.high) - from;
      committedSum += Math.max(from, 0);
    }
    perTopic[topic] = lag;
    total += lag;
  }
  return { total, perTopic, committed: committedSum };
}

/**
 * Moves the (stopped) group to the end of its input topics, so the service starts with what is
 * sent from now on, not with the backlog the earlier scenarios left (e.g. on cs.product.v1).
 * One member of the group joins for all topics at once and commits their end offsets (explicit
 * offsets: kafkajs' resetOffsets commits the sentinel -1, which a consumer that subscribes
 * fromBeginning, as the services do, reads as "from the beginning"). Not kafkajs' admin.setOffsets:
 * it joins once per topic and waits for a fetch event that, on a busy broker, may never come.
 */
export async function resetGroupToLatest(kafka, admin, groupId, topics) {
  const existing = new Set(await admin.listTopics());
  const wanted = topics.filter((t) => existing.has(t));
  if (!wanted.length) return;
  const ends = [];
  for (const topic of wanted) {
    for (let attempt = 1; ; attempt++) {
      try {
        for (const p of await admin.fetchTopicOffsets(topic)) ends.push({ topic, partition: p.partition, offset: String(p.high) });
        break;
      } catch (e) {
        if (attempt >= 20) throw new Error(`end offsets of ${topic}: ${e.message}`);
        await sleep(500);
      }
    }
  }
  for (let attempt = 1; ; attempt++) {
    // The group may still have a member for a moment after the service stopped.
    const { groups } = await admin.describeGroups([groupId]);
    if (!groups[0]?.members?.length) break;
    if (attempt >= 30) throw new Error(`could not move ${groupId} to the end of its topics: it still has ${groups[0].members.length} member(s)`);
    await sleep(1000);
  }
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, rebalanceTimeout: 10000, retry: { retries: 3 } });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: wanted, fromBeginning: false });
    let joined;
    const join = new Promise((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
    consumer.pause(wanted.map((topic) => ({ topic })));
    await Promise.race([join, sleep(60000).then(() => Promise.reject(new Error(`${groupId} did not join within 60 s`)))]);
    await consumer.commitOffsets(ends);
  } finally {
    await consumer.disconnect();
  }
}

/** The topics the group's members subscribe to (from their join metadata); undefined without members. */
export async function subscribedTopics(admin, groupId) {
  const { AssignerProtocol } = require('kafkajs');
  const { groups } = await admin.describeGroups([groupId]);
  const topics = new Set();
  for (const member of groups[0]?.members ?? []) {
    for (const t of AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? []) topics.add(t);
  }
  return topics.size ? [...topics].sort() : undefined;
}

export async function waitForStableGroup(admin, groupId, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let state = 'unknown';
  while (Date.now() < deadline) {
    const { groups } = await admin.describeGroups([groupId]);
    state = groups[0]?.state;
    if (state === 'Stable' && groups[0].members.length > 0) return;
    await sleep(250);
  }
  throw new Error(`consumer group ${groupId} not stable after ${timeoutMs} ms (state ${state})`);
}

// --- health-scoring process --------------------------------------------------------------------

/** Starts `node dist/apps/health-scoring/src/main.js` against the bench broker and database. */
export async function startHealthScoring(root, { brokers, databaseUrl, partitions, logDir, logName, extraEnv = {}, profileDir }) {
  const port = await servicePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: brokers,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    KAFKA_TOPIC_PARTITIONS: String(partitions),
    // No clock sweep during the bench (it would rescore every account in the middle of a scenario).
    HEALTH_SWEEP_INTERVAL_MS: process.env.HEALTH_SWEEP_INTERVAL_MS ?? '86400000',
    ...extraEnv,
  };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const main = join(root, 'dist/apps/health-scoring/src/main.js');
  const args = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, main] : [main];
  const logFile = join(logDir, `${logName}.log`);
  const started = Date.now();
  const service = startProcess(logName, process.execPath, args, { env, cwd: root, logFile });
  await waitForHttp(`http://127.0.0.1:${port}/health/ready`, service, 90000).catch((e) => {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l && !/^\s+at /.test(l)).slice(-8).join('\n') : '';
    throw new Error(`${e.message}\n--- ${relative(root, logFile)} (last lines) ---\n${tail}`);
  });
  return { service, port, startupMs: Date.now() - started, logFile, env: Object.fromEntries(Object.entries(extraEnv)) };
}

// --- latency: paced batches with one event per account, correlated on the account --------------

/**
 * Accounts for the paced load. An account is "in flight" from the request that carried its event
 * until the first cs.health.v1 event with that subject; only then is it sent again. So the health
 * event matched to a send is always the one that event caused (health-scoring emits at most one
 * per processed event, and with HEALTH_MIN_DELTA=0 one for every scored event). When every known
 * account is in flight (health-scoring behind), new accounts are added.
 */
class AccountPool {
  constructor(prefix, initial) {
    this.prefix = prefix;
    this.created = 0;
    this.free = [];
    this.head = 0;
    this.inFlight = new Map();
    this.stray = 0;
    for (let i = 0; i < initial; i++) this.free.push(this.newId());
  }
  newId() {
    return `${this.prefix}${(this.created++).toString(36)}`;
  }
  take(n) {
    const out = [];
    while (out.length < n) out.push(this.head < this.free.length ? this.free[this.head++] : this.newId());
    if (this.head > 100000) {
      this.free = this.free.slice(this.head);
      this.head = 0;
    }
    return out;
  }
  sent(id, entry) {
    this.inFlight.set(id, entry);
  }
  dropped(id) {
    this.inFlight.delete(id); // not accepted: no health event will come; not reused either
  }
  received(id) {
    const entry = this.inFlight.get(id);
    if (!entry) {
      this.stray++;
      return undefined;
    }
    this.inFlight.delete(id);
    this.free.push(id);
    return entry;
  }
}

function percentiles(values, total = values.length) {
  // `total` ≥ values.length: the missing ones (never seen) count as slower than any seen.
  const sorted = Float64Array.from(values).sort();
  const at = (q) => {
    if (!total) return null;
    const i = Math.ceil(q * total) - 1;
    return i < sorted.length ? round(sorted[Math.max(0, i)], 1) : null; // null: beyond what was seen
  };
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? round(sorted[sorted.length - 1], 1) : null, count: total, seen: sorted.length };
}

/** cs.health.v1 reader: stamps the arrival of every health event of our accounts. */
async function healthReader(kafka, { groupId, prefix, onEvent }) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 30000 });
  await consumer.connect();
  await consumer.subscribe({ topic: HEALTH_TOPIC, fromBeginning: true });
  let joined;
  const joinedP = new Promise((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const t = performance.now();
        const key = m.key?.toString();
        if (key?.startsWith(prefix)) onEvent(key, t, m.value);
      }
    },
  });
  await Promise.race([joinedP, sleep(30000)]);
  return consumer;
}

/**
 * One latency scenario: batches of `batchSize` events (one per account) to /v1/batch at a fixed
 * overall rate, warm-up first (not measured), then `durationSec` measured, then up to `drainSec`
 * for the health events of the measured sends still on their way.
 */
export async function latencyScenario({ label, tag, runId, kafka, admin, databaseUrl, ingestion, health, brokerPid, writeKey, eventsPerSec, batchSize, warmupSec, durationSec, drainSec, feed, log }) {
  const prefix = `${runId}-${tag}-`;
  const reqPerSec = eventsPerSec / batchSize;
  const pool = new AccountPool(prefix, Math.max(5000, Math.ceil(eventsPerSec * 2)));
  const seen = [];
  const scoredMs = [];
  const publishedMs = [];
  const httpMs = [];
  let measuredSent = 0;
  let measuredAccepted = 0;
  let lastSeenAt = 0;
  const groupId = `kizuna-bench-health-${runId}-${tag}`;
  const reader = await healthReader(kafka, {
    groupId,
    prefix,
    onEvent: (account, t, value) => {
      const entry = pool.received(account);
      if (!entry) return;
      if (!entry.measured) return;
      seen.push(t - entry.t);
      lastSeenAt = t;
      try {
        const computedAt = Date.parse(JSON.parse(value.toString()).data?.computedAt);
        const sentWall = performance.timeOrigin + entry.t;
        const recvWall = performance.timeOrigin + t;
        if (Number.isFinite(computedAt)) {
          scoredMs.push(computedAt - sentWall);
          publishedMs.push(recvWall - computedAt);
        }
      } catch {
        /* a value we cannot read: its latency still counts */
      }
    },
  });

  const { Pool } = require('undici'); // loaded here: it needs the project's Node (node_modules/.bin), --from does not
  const http = new Pool(`http://127.0.0.1:${ingestion.port}`, { connections: 32, pipelining: 1 });
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  let n = 0;
  let inFlight = 0;
  const statusCodes = {};
  const errorSamples = [];
  let errors = 0;
  let behind = 0;

  const sendOne = (measured) => {
    const accounts = pool.take(batchSize);
    const batch = accounts.map((account, i) => {
      n++;
      // The simulator's track calls, each for an account of the bench's own (to match its health event).
      if (feed) return feedTrack(feed, n, `${prefix}${n}`, account);
      return {
        type: 'track',
        userId: `user-${n % 7}`,
        event: KEY_EVENTS[n % KEY_EVENTS.length],
        messageId: `${prefix}${n}`,
        properties: { plan: 'pro', i },
        context: { groupId: account },
      };
    });
    const body = JSON.stringify({ batch });
    const t = performance.now();
    const entry = { t, measured };
    for (const a of accounts) pool.sent(a, entry);
    if (measured) measuredSent += accounts.length;
    inFlight++;
    return http
      .request({ path: '/v1/batch', method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body })
      .then(async (res) => {
        const text = await res.body.text();
        statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          if (measured) {
            measuredAccepted += accounts.length;
            httpMs.push(performance.now() - t);
          }
        } else {
          for (const a of accounts) pool.dropped(a);
          if (errorSamples.length < 5) errorSamples.push(`${res.statusCode} ${text.slice(0, 300)}`);
        }
      })
      .catch((e) => {
        errors++;
        for (const a of accounts) pool.dropped(a);
        if (errorSamples.length < 5) errorSamples.push(e.message);
      })
      .finally(() => inFlight--);
  };

  /** Sends `seconds` worth of requests at reqPerSec (open model: a slow answer does not delay the next). */
  const paced = async (seconds, measured) => {
    const start = performance.now();
    const end = start + seconds * 1000;
    let sent = 0;
    for (let now = start; now < end; now = performance.now()) {
      const due = Math.floor(((now - start) / 1000) * reqPerSec) + 1;
      while (sent < due) {
        if (inFlight >= 256) {
          behind++;
          break;
        }
        void sendOne(measured);
        sent++;
      }
      await sleep(2);
    }
    return { sent, seconds: (performance.now() - start) / 1000 };
  };

  const rss = rssSampler(health.service.pid);
  const db = await pgClient(databaseUrl);
  // Events health-scoring has applied: its inbox rows (one per event, written in the event's
  // transaction). Committed offsets move only after a whole fetched batch, often thousands of events.
  const applied = async () => (await db.query(`SELECT count(*)::int AS n FROM ${S}.inbox WHERE consumer = $1`, [healthGroup()])).rows[0].n;
  log(`${label}: ${Math.round(eventsPerSec).toLocaleString('en-US')} events/s as ${round(reqPerSec, 1)} batches/s of ${batchSize} (one event per account), warm-up ${warmupSec} s, measured ${durationSec} s`);
  await paced(warmupSec, false);
  const lagStart = await groupLag(admin, healthGroup(), HEALTH_INPUT_TOPICS);
  const applied0 = await applied();
  const emitted0 = await topicHigh(admin, HEALTH_TOPIC);
  const sampler = await pgActivitySampler(databaseUrl, 'kizuna-health-scoring');
  rss.reset();
  const c0 = cpuSnapshot({ ingestion: ingestion.pid, health: health.service.pid, broker: brokerPid });
  const fromUs = monotonicUs();
  const sent = await paced(durationSec, true);
  const sendEnd = performance.now();
  const window = { label, fromUs, toUs: monotonicUs() };
  const c1 = cpuSnapshot({ ingestion: ingestion.pid, health: health.service.pid, broker: brokerPid });
  const pgActivity = await sampler.stop();
  const lagAtEnd = await groupLag(admin, healthGroup(), HEALTH_INPUT_TOPICS);
  const windowSec = (performance.now() - (sendEnd - sent.seconds * 1000)) / 1000;
  const appliedPerSec = ((await applied()) - applied0) / windowSec;
  const emittedPerSec = ((await topicHigh(admin, HEALTH_TOPIC)) - emitted0) / windowSec;
  const committedPerSec = (lagAtEnd.committed - lagStart.committed) / sent.seconds;
  // Wait for the answers, then for the health events of the measured sends (or give up after drainSec).
  for (let i = 0; i < 300 && inFlight > 0; i++) await sleep(100);
  // While it works off what is left, nothing else is sent: its throughput on its own (with a backlog).
  const drainFrom = { t: performance.now(), applied: await applied() };
  const pendingMeasured = () => measuredAccepted - seen.length;
  while (pendingMeasured() > 0 && performance.now() - sendEnd < drainSec * 1000) await sleep(200);
  const waitedSec = round((performance.now() - sendEnd) / 1000, 1);
  const drainSeconds = (performance.now() - drainFrom.t) / 1000;
  const drainAppliedPerSec = drainSeconds > 2 ? ((await applied()) - drainFrom.applied) / drainSeconds : undefined;
  const lagAfterDrain = await groupLag(admin, healthGroup(), HEALTH_INPUT_TOPICS);
  const rssPeakMiB = rss.peakMiB();
  rss.stop();
  await db.end();
  await reader.disconnect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await http.close();

  const latency = percentiles(seen, Math.max(seen.length, measuredAccepted));
  const result = {
    label,
    eventsPerSecTarget: Math.round(eventsPerSec),
    eventsPerSecSent: Math.round(measuredSent / sent.seconds),
    batchSize,
    warmupSec,
    durationSec: round(sent.seconds, 2),
    measuredSent,
    measuredAccepted,
    healthEventsMatched: seen.length,
    notSeenWithinWait: measuredAccepted - seen.length,
    waitAfterSendingSec: waitedSec,
    lastHealthEventAfterSendingEndSec: lastSeenAt ? round((lastSeenAt - sendEnd) / 1000, 1) : null,
    accountsUsed: pool.created,
    strayHealthEvents: pool.stray,
    latencyMs: latency,
    sendToComputedAtMs: percentiles(scoredMs),
    computedAtToReceivedMs: percentiles(publishedMs),
    httpLatencyMs: percentiles(httpMs),
    statusCodes,
    errors,
    errorSamples,
    senderBehindTicks: behind,
    healthProcessedEventsPerSec: Math.round(appliedPerSec),
    healthProcessedSource: 'health_scoring.inbox rows of the group (one per applied event) during the measured window',
    healthEmittedEventsPerSec: Math.round(emittedPerSec),
    committedOffsetsPerSec: Math.round(committedPerSec),
    // Only meaningful when a backlog was left: then it is what health-scoring does with the machine to itself.
    healthAppliedPerSecDuringWait: drainAppliedPerSec === undefined ? null : Math.round(drainAppliedPerSec),
    lagDrainSecondsAtThatRate: appliedPerSec > 0 ? Math.round(lagAfterDrain.total / appliedPerSec) : null,
    consumerLag: { group: healthGroup(), atWindowStart: lagStart.total, atEndOfSending: lagAtEnd.total, afterWait: lagAfterDrain.total, perTopicAfterWait: lagAfterDrain.perTopic },
    cpu: cpuBetween(c0, c1),
    pgActivity,
    healthRssPeakMiB: rssPeakMiB,
    window,
  };
  const l = result.latencyMs;
  const f = (x) => (x === null ? `> ${waitedSec} s (not seen)` : `${x} ms`);
  log(
    `${label}: p50 ${f(l.p50)}, p95 ${f(l.p95)}, p99 ${f(l.p99)}, max seen ${l.max ?? '–'} ms; ${seen.length.toLocaleString('en-US')} of ${measuredAccepted.toLocaleString('en-US')} seen` +
      ` (waited ${waitedSec} s after sending); health-scoring processed ${result.healthProcessedEventsPerSec.toLocaleString('en-US')} events/s; lag ${lagAtEnd.total.toLocaleString('en-US')} at end of sending, ${lagAfterDrain.total.toLocaleString('en-US')} after the wait`,
  );
  for (const s of errorSamples) log(`  error answer: ${s}`);
  return result;
}

// --- backfill: many accounts generated set-based, then the API ----------------------------------

const S = 'health_scoring';
const ID = `'bf-' || lpad(i::text, 7, '0')`;

/** The facts of `n` accounts, generated in SQL: what the backfill reads and the rows it rewrites. */
export function generationStatements(n) {
  const today = `(now() AT TIME ZONE 'UTC')::date`;
  // r = days since the account's last activity: 70 % active in the last 3 days, 20 % fading
  // (6–13 days), 10 % silent (25–34 days).
  const from = `generate_series(1, ${n}) i CROSS JOIN LATERAL (SELECT CASE WHEN i % 20 < 14 THEN i % 3 WHEN i % 20 < 18 THEN 6 + i % 8 ELSE 25 + i % 10 END AS r) x`;
  const score = `((i * 37) % 100)`;
  const band = `CASE WHEN ${score} >= 70 THEN 'good' WHEN ${score} >= 40 THEN 'caution' ELSE 'danger' END`;
  const rows = (k) => (k * n).toLocaleString('en-US');
  return [
    [
      'truncate earlier facts (latency scenario accounts, outbox)',
      `TRUNCATE ${S}.account_profile, ${S}.account_daily_activity, ${S}.account_user_day, ${S}.account_event_use, ${S}.account_health,
                ${S}.health_change, ${S}.outbox, ${S}.support_fact, ${S}.survey_fact, ${S}.billing_fact, ${S}.backfill_job`,
    ],
    [
      `account_profile (${rows(1)} rows: plan pro, ARR 5k–94k → segment smb, 3–8 seats)`,
      `INSERT INTO ${S}.account_profile (account_id, name, plan, arr, seats_purchased, updated_at)
       SELECT ${ID}, 'Account ' || i, 'pro', 5000 + (i % 90) * 1000, 3 + i % 6, now() - interval '60 days' FROM generate_series(1, ${n}) i`,
    ],
    [
      `account_daily_activity (${rows(7)} rows: 7 days per account)`,
      `INSERT INTO ${S}.account_daily_activity (account_id, day, events)
       SELECT ${ID}, ${today} - r - 2 * k, 1 + (i * 7 + k * 13) % 60 FROM ${from} CROSS JOIN generate_series(0, 6) k`,
    ],
    [
      `account_user_day (${rows(16)} rows: 4 users on 4 days per account)`,
      `INSERT INTO ${S}.account_user_day (account_id, day, user_key)
       SELECT ${ID}, ${today} - r - 2 * (k % 4), 'u:user-' || (k / 4) FROM ${from} CROSS JOIN generate_series(0, 15) k`,
    ],
    [
      `account_event_use (${rows(4)} rows: 4 product events per account, one a value milestone)`,
      `INSERT INTO ${S}.account_event_use (account_id, event, first_used_at, last_used_at)
       SELECT ${ID}, (ARRAY['Dashboard Viewed', 'Report Created', CASE WHEN i % 3 = 0 THEN 'Report Shared' ELSE 'Teammate Invited' END,
                            (ARRAY['Goal Reached', 'Integration Connected', 'First Report Shared', 'Workflow Automated'])[i % 4 + 1]])[k + 1],
              now() - (r + 20) * interval '1 day', now() - r * interval '1 day'
         FROM ${from} CROSS JOIN generate_series(0, 3) k`,
    ],
    [
      `survey_fact (${Math.ceil(n / 3).toLocaleString('en-US')} rows: an NPS answer for every third account)`,
      `INSERT INTO ${S}.survey_fact (response_id, account_id, kind, score, answered_at)
       SELECT 'bench:' || i, ${ID}, 'nps', 5 + i % 6, now() - (i % 60) * interval '1 day' FROM generate_series(1, ${n}) i WHERE i % 3 = 0`,
    ],
    [
      `account_health (${rows(1)} rows: scorecard smb v1, segment smb, the 17 features of a scored account, emitted as scored)`,
      // Features of the shape and size a scored account has (a running system has no row without
      // them): a rescore then rewrites a row of about its own size, as it would in production.
      `INSERT INTO ${S}.account_health (account_id, score, band, scorecard_id, scorecard_version, computed_at, last_event_id, segment, features, emitted_score, emitted_band)
       SELECT ${ID}, ${score}, ${band}, 'smb', 1, now() - interval '1 day', 'bench-setup', 'smb',
              -- float8[] in the stored order (STORED_FEATURE_ORDER): seat_utilisation, active_users_7d,
              -- active_users_30d, sessions_7d, sessions_30d, engagement_trend, days_since_last_activity,
              -- key_features_used_30d, value_milestones, nps_latest, csat_avg_90d, tickets_per_active_user_30d,
              -- reopen_rate_90d, negative_contacts_30d, open_escalations, payment_failed_30d, downgraded_90d
              ARRAY[(i % 7)::float8 / 3, i % 5, i % 6, i % 9, i % 40, (i % 997)::float8 / 991 - 0.5, i % 30,
                    (i % 5)::float8 / 4, i % 3, i % 11, NULL, 0, NULL, 0, 0, 0, 0]::float8[],
              ${score}, ${band} FROM generate_series(1, ${n}) i`,
    ],
    [
      `health_change (${rows(1)} rows: the last emitted score of each account)`,
      `INSERT INTO ${S}.health_change (account_id, event_id, score, band, previous_score, previous_band, scorecard_id, scorecard_version, movers, computed_at)
       SELECT ${ID}, 'bench-setup-' || i, ${score}, ${band}, NULL, NULL, 'smb', 1, '[]', now() - interval '1 day' FROM generate_series(1, ${n}) i`,
    ],
  ];
}

async function pgClient(databaseUrl, name = 'kizuna-bench') {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: name });
  await client.connect();
  return client;
}

/**
 * Generates the accounts (timed per table), then VACUUM ANALYZE (timed apart): the tables as
 * autovacuum keeps them in a running system (visibility map and hint bits set, statistics fresh),
 * whatever the server's autovacuum setting; without it the backfill would also pay for the first
 * reading of 3 million new rows. Then CHECKPOINT (timed apart too).
 */
export async function generateAccounts(databaseUrl, n, log) {
  const client = await pgClient(databaseUrl);
  const steps = [];
  const t0 = performance.now();
  try {
    for (const [what, sql] of generationStatements(n)) {
      const t = performance.now();
      const r = await client.query(sql);
      steps.push({ what, rows: r.rowCount ?? 0, seconds: round((performance.now() - t) / 1000, 2) });
      log(`  ${what}: ${steps.at(-1).seconds} s`);
    }
    const insertSeconds = round((performance.now() - t0) / 1000, 2);
    const ta = performance.now();
    await client.query(`VACUUM (ANALYZE) ${S}.account_profile, ${S}.account_daily_activity, ${S}.account_user_day, ${S}.account_event_use, ${S}.survey_fact, ${S}.account_health, ${S}.health_change`);
    const analyzeSeconds = round((performance.now() - ta) / 1000, 2);
    // The generation wrote gigabytes at 1,000,000 accounts: flushed now, so that the checkpoint it
    // calls for does not land inside the timed backfill (a backfill in a running system does not
    // start seconds after a bulk load of its whole input).
    const tc = performance.now();
    await client.query('CHECKPOINT');
    const checkpointSeconds = round((performance.now() - tc) / 1000, 2);
    const { rows } = await client.query(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = '${S}' AND c.relkind = 'r'`,
    );
    return { accounts: n, steps, insertSeconds, analyzeSeconds, checkpointSeconds, vacuumed: true, totalSeconds: round(insertSeconds + analyzeSeconds + checkpointSeconds, 2), schemaMiB: Math.round(Number(rows[0].bytes) / 2 ** 20) };
  } finally {
    await client.end();
  }
}

/**
 * Samples pg_stat_activity of health-scoring's connections every `intervalMs`: a sampling profile
 * of where Postgres (and the transactions held open while Node works) spends the time.
 */
export async function pgActivitySampler(databaseUrl, appName, intervalMs = 100) {
  const client = await pgClient(databaseUrl, 'kizuna-bench-sampler');
  const counts = new Map();
  let samples = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const { rows } = await client.query(
        `SELECT state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS q FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
        [appName],
      );
      samples++;
      let anyActive = false;
      for (const r of rows) {
        if (r.state === 'idle') continue;
        anyActive = true;
        const key = r.state === 'active' ? `${statementLabel(r.q)}${r.wait_event_type && r.wait_event_type !== 'Client' ? ` [wait ${r.wait_event_type}:${r.wait_event}]` : ''}` : `${r.state} (Node works inside a transaction; last: ${statementLabel(r.q)})`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (!anyActive) counts.set('no statement in progress (Node between transactions)', (counts.get('no statement in progress (Node between transactions)') ?? 0) + 1);
    } catch {
      /* the next sample */
    } finally {
      busy = false;
    }
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      while (busy) await sleep(10);
      await client.end();
      const top = [...counts].sort((a, b) => b[1] - a[1]).map(([what, c]) => ({ what, samples: c, pctOfSamples: round((c / Math.max(samples, 1)) * 100, 1) }));
      return { intervalMs, samples, top: top.slice(0, 15) };
    },
  };
}

/** A short name for a statement health-scoring runs (the SQL is in libs/health-scoring, libs/shared). */
export function statementLabel(q) {
  const s = (q ?? '').trim();
  if (/^WITH a AS \(SELECT DISTINCT unnest/.test(s)) return 'facts (loadAccountFacts, one set-based query per batch)';
  if (/^WITH s AS MATERIALIZED/.test(s)) return 'backfill range (one statement: facts, features, scores, account_health, health_change, outbox)';
  if (/^SELECT old_band, COALESCE\(band, old_band\) AS new_band/.test(s)) return 'dry-run range (one statement: facts, features, scores, tally)';
  if (/^WITH x AS \(SELECT account_id, scorecard_version FROM .*account_health/.test(s)) return 'backfill: next ranges (keyset)';
  if (/^SELECT \$1::timestamptz - interval/.test(s)) return 'backfill: window bounds';
  if (/SELECT account_id, features, .*FROM .*account_health/.test(s)) return 'current account_health rows (features, last emitted)';
  if (/^INSERT INTO .*account_health/.test(s)) return 'upsert account_health (jsonb_to_recordset, features)';
  if (/^INSERT INTO .*health_change/.test(s)) return 'insert health_change';
  if (/^INSERT INTO .*outbox/.test(s)) return 'insert outbox (TypeORM insert)';
  if (/FROM .*outbox.*FOR UPDATE SKIP LOCKED/.test(s)) return 'outbox relay: select unpublished';
  if (/^UPDATE .*outbox.*published_at/.test(s)) return 'outbox relay: mark published';
  if (/^DELETE FROM .*outbox WHERE seq/.test(s)) return 'outbox relay: delete published';
  if (/DELETE FROM .*outbox/.test(s)) return 'outbox relay: purge';
  if (/count\(\*\).*outbox/.test(s)) return 'outbox backlog count';
  if (/^UPDATE .*backfill_job/.test(s)) return 'backfill_job progress update';
  if (/^SELECT .* FROM .*backfill_job/.test(s)) return 'backfill_job read';
  if (/SELECT account_id, band FROM .*account_health WHERE scorecard_id/.test(s)) return 'next batch of accounts (keyset)';
  if (/SELECT band FROM .*account_health WHERE account_id = ANY/.test(s)) return 'bands after the batch';
  if (/^(COMMIT|BEGIN|START TRANSACTION|ROLLBACK)/i.test(s)) return s.split(' ')[0].toUpperCase();
  if (/^INSERT INTO .*inbox/.test(s)) return 'inbox claim';
  if (/^INSERT INTO .*account_daily_activity|account_user_day|account_event_use|account_profile/.test(s)) return 'fact upserts (product event)';
  return s.slice(0, 80);
}

const api = async (port, method, path, body) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${await signLocalToken({ roles: ['admin'], sub: 'bench' })}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(60000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
};

/**
 * POST /v1/scorecards/:id/backfill, then GET /v1/backfills/:id until done (or failed, or the
 * timeout: then the progress so far and the rate). For an applied backfill, also the time until
 * the outbox is drained (the emitted changes are on cs.health.v1).
 */
export async function runBackfill({ label, health, databaseUrl, scorecardId, dryRun, timeoutSec, brokerPid, admin, log }) {
  const rss = rssSampler(health.service.pid);
  const sampler = await pgActivitySampler(databaseUrl, 'kizuna-health-scoring');
  const db = await pgClient(databaseUrl);
  const healthBefore = admin ? await topicHigh(admin, HEALTH_TOPIC) : undefined;
  const c0 = cpuSnapshot({ health: health.service.pid, broker: brokerPid });
  const walStart = (await db.query('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
  const fromUs = monotonicUs();
  const t0 = performance.now();
  let job = await api(health.port, 'POST', `/v1/scorecards/${scorecardId}/backfill`, dryRun ? { dryRun: true } : {});
  const progress = [{ s: 0, processed: 0 }];
  let lastLog = 0;
  while (job.status === 'running' && performance.now() - t0 < timeoutSec * 1000) {
    await sleep(250);
    job = await api(health.port, 'GET', `/v1/backfills/${job.id}`);
    const s = (performance.now() - t0) / 1000;
    progress.push({ s: round(s, 2), processed: job.processed });
    if (s - lastLog >= 15) {
      lastLog = s;
      log(`  ${label}: ${job.processed.toLocaleString('en-US')} / ${job.total.toLocaleString('en-US')} after ${Math.round(s)} s (${Math.round(job.processed / s).toLocaleString('en-US')} accounts/s)`);
    }
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const window = { label, fromUs, toUs: monotonicUs() };
  const c1 = cpuSnapshot({ health: health.service.pid, broker: brokerPid });
  // WAL the whole cluster wrote from the job's start to its end (the bench runs nothing else meanwhile).
  const walMiB = round(Number((await db.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS b', [walStart])).rows[0].b) / 1048576, 0);
  const pgActivity = await sampler.stop();
  const finished = job.status === 'done';
  const jobSeconds = finished && job.finishedAt ? (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000 : undefined;
  const seconds = jobSeconds ?? wallSeconds;
  // Rate over the middle of the run too (without start-up and tail): does it degrade?
  const rateBetween = (a, b) => {
    const pa = progress.find((p) => p.processed >= a);
    const pb = progress.find((p) => p.processed >= b);
    return pa && pb && pb.s > pa.s ? Math.round((pb.processed - pa.processed) / (pb.s - pa.s)) : undefined;
  };
  let outbox;
  if (!dryRun) {
    const t = performance.now();
    let backlog = await outboxBacklog(db);
    while (finished && backlog > 0 && performance.now() - t < 300000) {
      await sleep(500);
      backlog = await outboxBacklog(db);
    }
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${S}.health_change WHERE event_id NOT LIKE 'bench-setup-%'`);
    outbox = {
      emittedChanges: rows[0].n,
      backlogAfterWait: backlog,
      drainedSecondsAfterDone: finished && backlog === 0 ? round((performance.now() - t) / 1000, 2) : null,
      healthTopicGrowth: admin ? (await topicHigh(admin, HEALTH_TOPIC)) - healthBefore : undefined,
    };
  }
  const features = dryRun
    ? undefined
    : (await db.query(`SELECT avg(octet_length(features::text))::int AS text_bytes, avg(pg_column_size(features))::int AS stored_bytes FROM (SELECT features FROM ${S}.account_health WHERE features <> '{}' LIMIT 2000) x`)).rows[0];
  await db.end();
  const rssPeakMiB = rss.peakMiB();
  rss.stop();
  const total = job.total;
  const result = {
    label,
    dryRun,
    jobId: job.id,
    status: job.status,
    error: job.error,
    total,
    processed: job.processed,
    seconds: round(seconds, 2),
    secondsSource: jobSeconds !== undefined ? 'job startedAt → finishedAt' : `polled, stopped waiting after ${timeoutSec} s`,
    accountsPerSec: Math.round(job.processed / (jobSeconds ?? wallSeconds)),
    accountsPerSecMiddle: rateBetween(total * 0.1, total * 0.9),
    extrapolatedSeconds: finished ? undefined : round((total / Math.max(job.processed, 1)) * wallSeconds, 0),
    before: job.before,
    after: job.after,
    outbox,
    featuresBytes: features,
    walMiB,
    cpu: cpuBetween(c0, c1),
    pgActivity,
    healthRssPeakMiB: rssPeakMiB,
    window,
  };
  log(
    `${label}: ${result.status}, ${job.processed.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} accounts in ${result.seconds} s (${result.accountsPerSec.toLocaleString('en-US')} accounts/s, ${walMiB.toLocaleString('en-US')} MiB of WAL)` +
      `${result.extrapolatedSeconds ? `; at this rate all would take ~${result.extrapolatedSeconds} s` : ''}; before ${JSON.stringify(job.before)} after ${JSON.stringify(job.after)}` +
      `${outbox ? `; ${outbox.emittedChanges.toLocaleString('en-US')} changes emitted, outbox ${outbox.backlogAfterWait ? `backlog ${outbox.backlogAfterWait}` : `drained ${outbox.drainedSecondsAfterDone} s after done`}` : ''}`,
  );
  return result;
}

async function outboxBacklog(db) {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${S}.outbox WHERE published_at IS NULL`);
  return rows[0].n;
}

async function topicHigh(admin, topic) {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((s, p) => s + Number(p.high), 0);
}

// --- COPY reference ----------------------------------------------------------------------------

/** COPY input: `n` account_health rows (text format, COPY_COLUMNS), with `features` (array text). */
async function writeCopyFile(file, n, features) {
  const out = createWriteStream(file);
  const computedAt = new Date().toISOString();
  const e = copyText(features);
  let chunk = '';
  for (let i = 1; i <= n; i++) {
    const score = (i * 37) % 100;
    const band = score >= 70 ? 'good' : score >= 40 ? 'caution' : 'danger';
    chunk += `bf-${String(i).padStart(7, '0')}\t${score}\t${band}\tsmb\t1\t${computedAt}\tbackfill:bench\tsmb\t${e}\t${score}\t${band}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

const COPY_COLUMNS = 'account_id, score, band, scorecard_id, scorecard_version, computed_at, last_event_id, segment, features, emitted_score, emitted_band';

/** COPY text format: backslash, tab, newline, carriage return escaped. */
const copyText = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

/**
 * The same number of account_health rows as the backfill wrote (same columns, features of the
 * size the backfill stored), COPY'd into an empty scratch copy of account_health (same
 * primary key) with `psql \copy … FROM` (COPY FROM STDIN). The input file is generated first and
 * not timed. Without psql: INSERT … SELECT generate_series (said in the result).
 */
export async function copyReference({ databaseUrl, n, outDir, stamp, log }) {
  const db = await pgClient(databaseUrl);
  const table = 'bench_scratch.account_health_copy';
  const file = join(outDir, `copy-${stamp}.tsv`);
  try {
    const { rows } = await db.query(`SELECT features::text AS f FROM ${S}.account_health WHERE features <> '{}' LIMIT 1`);
    const features = rows[0]?.f ?? '{}';
    await db.query('CREATE SCHEMA IF NOT EXISTS bench_scratch');
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.query(`CREATE TABLE ${table} (LIKE ${S}.account_health INCLUDING ALL)`);
    const psql = await runCommand('psql', ['--version'], { allowFailure: true }).catch(() => ({ code: 1 }));
    let method;
    let seconds;
    if (psql.code === 0) {
      const tg = performance.now();
      await writeCopyFile(file, n, features);
      log(`  COPY input generated (${n.toLocaleString('en-US')} rows, not timed) in ${round((performance.now() - tg) / 1000, 1)} s`);
      const t = performance.now();
      await runCommand('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${table} (${COPY_COLUMNS}) FROM '${file}'`]);
      seconds = (performance.now() - t) / 1000;
      method = `psql -c "\\copy ${table} FROM <file>" (COPY … FROM STDIN) of ${n.toLocaleString('en-US')} rows into an empty table with account_health's columns and primary key`;
    } else {
      const t = performance.now();
      await db.query(
        `INSERT INTO ${table} (${COPY_COLUMNS}) SELECT 'bf-' || lpad(i::text, 7, '0'), (i * 37) % 100, 'caution', 'smb', 1, now(), 'backfill:bench', 'smb', $1::float8[], (i * 37) % 100, 'caution' FROM generate_series(1, ${n}) i`,
        [features],
      );
      seconds = (performance.now() - t) / 1000;
      method = `INSERT … SELECT generate_series (psql not found), ${n.toLocaleString('en-US')} rows`;
    }
    const { rows: size } = await db.query(`SELECT count(*)::int AS n, pg_total_relation_size('${table}')::bigint AS bytes FROM ${table}`);
    const result = { rows: size[0].n, seconds: round(seconds, 2), rowsPerSec: Math.round(size[0].n / seconds), tableMiB: Math.round(Number(size[0].bytes) / 2 ** 20), featuresTextBytes: features.length, method };
    return result;
  } finally {
    rmSync(file, { force: true });
    await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db.query('DROP SCHEMA IF EXISTS bench_scratch').catch(() => undefined);
    await db.end();
  }
}

/** Stops health-scoring, returning its exit. */
export async function stopHealthScoring(h) {
  return stopProcess(h.service, 60000);
}
