// Ticket → escalation assigned → e-mail: escalation-routing and notification run from dist/ beside
// the ingestion service of the run; tickets go through ingestion's ticket intake while product events
// flow through /v1/batch at a fixed rate; a kafkajs reader stamps each `cs.escalation.assigned.v1`
// and an SMTP server in this process stamps each e-mail when it accepts the DATA.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { servicePort, sleep, startProcess, stopProcess, waitForHttp } from './processes.mjs';
import { cpuBetween, cpuSnapshot, rssSampler } from './sampler.mjs';
import { groupLag, resetGroupToLatest, subscribedTopics, waitForStableGroup } from './health.mjs';
import { feedTrack } from './feed.mjs';
import { topicName } from './topics.mjs';
import { findHistogram, histogramDelta, histogramQuantiles, scrapeHistograms } from './histograms.mjs';
import { signLocalToken } from '../../scripts/dev-auth.mjs';

const require = createRequire(import.meta.url);

export const ESCALATION_TOPIC = topicName('cs.escalation.v1');
/** Where ingestion puts the tickets it accepted (their record timestamp: the moment of acceptance). */
const SUPPORT_TOPIC = topicName('cs.support.v1');
const PRODUCT_TOPIC = topicName('cs.product.v1');
/** Every topic of the platform (libs/shared/contracts topics.ts): the groups start at their end. */
export const ALL_TOPICS = [
  'cs.product.v1', 'cs.directory.v1', 'cs.support.v1', 'cs.survey.v1', 'cs.billing.v1', 'cs.ingest.rejected.v1',
  'cs.health.v1', 'cs.lifecycle.v1', 'cs.escalation.v1', 'cs.notification.v1',
].map(topicName);
const groupOf = (service) => `${process.env.KAFKA_GROUP_PREFIX ?? 'kizuna'}.${service}`;
/**
 * A service's consumer groups with their topics: its own, and its product lane (both services read the
 * product stream in a group of its own, `<group>.product`: ConsumerRunner.inLane).
 */
const groupsOf = (service) => [
  { id: groupOf(service), topics: ALL_TOPICS.filter((t) => t !== PRODUCT_TOPIC) },
  { id: `${groupOf(service)}.product`, topics: [PRODUCT_TOPIC] },
];
const round = (x, d = 0) => (x === undefined || x === null || !Number.isFinite(x) ? x ?? null : Math.round(x * 10 ** d) / 10 ** d);

const STAGE_HISTOGRAMS = ['kizuna_consumer_record_age', 'kizuna_consumer_process_duration', 'kizuna_outbox_publish_delay', 'kizuna_notification_send_duration'];

const scrapeStages = async (escalationPort, notificationPort) => {
  const [escalation, notification] = await Promise.all([scrapeHistograms(escalationPort, STAGE_HISTOGRAMS), scrapeHistograms(notificationPort, STAGE_HISTOGRAMS)]);
  return { escalation, notification };
};

/**
 * The ticket's way through the two services, stage by stage, from their own histograms over the
 * measured window (all events of those topics and outboxes, not only the measured tickets'): the
 * support record's age when escalation-routing's group gets it, its processing, escalation-routing's
 * outbox to Kafka, the escalation record's age when notification's group gets it, its processing, the
 * e-mail's send.
 */
function stageLatencies(before, after) {
  const esc = histogramDelta(before.escalation, after.escalation);
  const notif = histogramDelta(before.notification, after.notification);
  const rows = [
    ['support record age at escalation-routing', esc, 'kizuna_consumer_record_age', { group: groupOf('escalation-routing'), topic: SUPPORT_TOPIC }],
    ['escalation-routing processing', esc, 'kizuna_consumer_process_duration', { group: groupOf('escalation-routing'), topic: SUPPORT_TOPIC, outcome: 'handled' }],
    ['escalation-routing outbox to Kafka', esc, 'kizuna_outbox_publish_delay', {}],
    ['escalation record age at notification', notif, 'kizuna_consumer_record_age', { group: groupOf('notification'), topic: ESCALATION_TOPIC }],
    ['notification processing', notif, 'kizuna_consumer_process_duration', { group: groupOf('notification'), topic: ESCALATION_TOPIC, outcome: 'handled' }],
    ['the e-mail\'s send (SMTP)', notif, 'kizuna_notification_send_duration', { channel: 'email', outcome: 'delivered' }],
  ];
  return rows.map(([stage, histograms, name, labels]) => {
    const h = findHistogram(histograms, name, labels);
    return { stage, ...(h ? histogramQuantiles(h) : { count: 0, p50: null, p90: null, p99: null }) };
  });
}

/** p50/p95/p99/max of `values`; `total` ≥ values.length counts the missing ones as slower than any seen (null). */
export function percentiles(values, total = values.length) {
  const sorted = Float64Array.from(values).sort();
  const at = (q) => {
    if (!total) return null;
    const i = Math.ceil(q * total) - 1;
    return i < sorted.length ? round(sorted[Math.max(0, i)], 1) : null;
  };
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? round(sorted[sorted.length - 1], 1) : null, count: total, seen: sorted.length };
}

/** Starts `node dist/apps/<app>/src/main.js` against the bench broker and database; resolves when ready. */
export async function startDistService(root, app, { brokers, databaseUrl, partitions, logDir, logName = app, env: extra = {} }) {
  const port = await servicePort();
  const env = {
    ...process.env, PORT: String(port), HOST: '127.0.0.1', KAFKA_BROKERS: brokers, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn',
    KAFKA_TOPIC_PARTITIONS: String(partitions), ...extra,
  };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT; // measured without a trace exporter, like the others
  const logFile = join(logDir, `${logName}.log`);
  const started = Date.now();
  // BENCH_SERVICE_PROFILE_DIR: a V8 CPU profile of each service started here, written there when it stops.
  const profileDir = process.env.BENCH_SERVICE_PROFILE_DIR;
  const main = join(root, `dist/apps/${app}/src/main.js`);
  const service = startProcess(logName, process.execPath, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${logName}-${Date.now()}.cpuprofile`, main] : [main], { env, cwd: root, logFile });
  await waitForHttp(`http://127.0.0.1:${port}/health/ready`, service, 90000).catch((e) => {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l && !/^\s+at /.test(l)).slice(-8).join('\n') : '';
    throw new Error(`${e.message}\n--- ${relative(root, logFile)} (last lines) ---\n${tail}`);
  });
  return { service, port, startupMs: Date.now() - started, logFile, group: groupOf(app), env: extra };
}

/**
 * An SMTP server in a worker thread of the bench (smtp-sink-worker.mjs): for every message, the wall
 * time at which it accepted the DATA, keyed by the first group of `subjectPattern` in its subject when
 * that starts with `keyPrefix` (other messages are only counted). In the bench's main thread, whose
 * event loop also drives the load and reads Kafka, the acceptance of an e-mail waited for that loop
 * (its delay p99 was 43-103 ms in busy runs) on each of the SMTP exchange's round trips.
 */
export async function startSmtpSink({ subjectPattern, keyPrefix }) {
  const accepted = new Map();
  let messages = 0;
  let unmatched = 0;
  const port = await servicePort();
  const worker = new Worker(new URL('./smtp-sink-worker.mjs', import.meta.url), { workerData: { port, subjectPattern: subjectPattern.source, keyPrefix } });
  const stopped = new Promise((resolve) => worker.once('exit', resolve));
  await new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m) => {
      if (m.type === 'listening') resolve();
      else if (m.type === 'error') reject(new Error(`SMTP sink: ${m.message}`));
      else if (m.type === 'stopped') void worker.terminate();
      else if (m.type === 'message') {
        messages++;
        if (m.key && !accepted.has(m.key)) accepted.set(m.key, { at: m.at, to: m.to });
        else unmatched++;
      }
    });
  });
  return {
    port,
    accepted,
    counts: () => ({ messages, unmatched }),
    stop: async () => {
      worker.postMessage('stop');
      await stopped;
    },
  };
}

/** A roster every ticket can be routed to: one team on duty around the clock, `csms` members with room. */
export async function configureRoster(baseUrl, { runId, csms }) {
  const token = await signLocalToken({ roles: ['admin'], sub: 'kizuna-bench' });
  const put = async (path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`escalation-routing PUT ${path}: ${res.status} ${await res.text()}`);
  };
  const team = `bench-${runId}`;
  await put(`/v1/teams/${team}`, { name: 'Bench', region: 'bench', businessHours: { timeZone: 'UTC', days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '23:59' } });
  const ids = [];
  for (let i = 0; i < csms; i++) {
    const id = `bench-${runId}-csm-${i}`;
    await put(`/v1/csms/${id}`, { name: `Bench CSM ${i}`, email: `${id}@bench.example`, region: 'bench', teamId: team, capacity: 10000, active: true });
    ids.push(id);
  }
  return { team, csms: ids };
}

/**
 * Reads cs.escalation.v1 and cs.support.v1 from their current ends; calls onAssigned(accountId, arrival,
 * record) for our assigned events and onTicket(accountId, record timestamp) for our accepted tickets.
 */
async function escalationReader(kafka, { groupId, prefix, onAssigned, onTicket }) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout: 30000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [ESCALATION_TOPIC, SUPPORT_TOPIC], fromBeginning: false });
  let joined;
  const joinedP = new Promise((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const t = performance.now();
        const key = m.key?.toString();
        if (!key?.startsWith(prefix)) continue;
        if (batch.topic === SUPPORT_TOPIC) {
          onTicket(key, Number(m.timestamp));
          continue;
        }
        let event;
        try {
          event = JSON.parse(m.value.toString());
        } catch {
          continue;
        }
        if (event.type === 'cs.escalation.assigned.v1') onAssigned(key, t, { timestamp: Number(m.timestamp), event });
      }
    },
  });
  await Promise.race([joinedP, sleep(30000)]);
  return consumer;
}

/**
 * The scenario: `ticketsPerSec` tickets (each for a new account, the agent's "needs CS" flag set, so
 * each opens one escalation) through POST /v1/support/tickets, while /v1/batch carries
 * `productEventsPerSec` product events; warm-up first (not measured), then `durationSec`, then up
 * to `drainSec` for the assigned events and e-mails still on their way.
 */
export async function escalationScenario({
  root, runId, tag = 'esc', label = 'ticket → escalation → e-mail', kafka, ctx, ingestion, writeKey, productEventsPerSec, productRateSource, batchSize, ticketsPerSec, csms,
  warmupSec, durationSec, drainSec, escalationEnv = {}, notificationEnv, feed, log,
}) {
  const prefix = `${runId}-${tag}-`;
  // An admin client of its own: fresh metadata for the topics the services created meanwhile (a
  // client connected before may still see a partition without its leader and fail for minutes).
  const admin = kafka.admin();
  await admin.connect();
  const groups = [...groupsOf('escalation-routing'), ...groupsOf('notification')];
  const debug = process.env.BENCH_DEBUG ? log : () => undefined;
  for (const g of groups) {
    debug(`moving ${g.id} to the end of its topics ...`);
    await resetGroupToLatest(kafka, admin, g.id, g.topics);
  }
  debug('starting the SMTP sink ...');
  const smtp = await startSmtpSink({ subjectPattern: /Escalation assigned: (\S+)/, keyPrefix: prefix });
  const started = [];
  const out = { settings: { ticketsPerSec, productEventsPerSec: Math.round(productEventsPerSec), productRateSource, batchSize, csms, warmupSec, durationSec, drainSec, escalationEnv, notificationEnv } };
  let http;
  let reader;
  try {
    const common = { brokers: ctx.brokers, databaseUrl: ctx.databaseUrl, partitions: ctx.partitions, logDir: ctx.logDir };
    // No SLA sweep in the middle of the measurement (it re-routes waiting escalations).
    // Both at once (startup is mostly waiting); a service that started is stopped below even if the other failed.
    const starting = [
      startDistService(root, 'escalation-routing', { ...common, env: { ESCALATION_SLA_SWEEP_INTERVAL_MS: '3600000', ...escalationEnv } }),
      startDistService(root, 'notification', {
        ...common, env: { NOTIFICATION_SMTP_HOST: '127.0.0.1', NOTIFICATION_SMTP_PORT: String(smtp.port), NOTIFICATION_SMTP_FROM: 'Kizuna <kizuna@bench.example>', ...notificationEnv },
      }),
    ];
    debug(`starting escalation-routing and notification (SMTP sink on :${smtp.port}) ...`);
    const ready = await Promise.allSettled(starting);
    for (const r of ready) if (r.status === 'fulfilled') started.push(r.value);
    const failed = ready.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [esc, notif] = ready.map((r) => r.value);
    for (const g of groups) {
      await waitForStableGroup(admin, g.id);
      // Lag only over what the group reads (it was moved to the end of more topics than that).
      g.topics = (await subscribedTopics(admin, g.id)) ?? g.topics;
    }
    log(`escalation-routing ready on :${esc.port} in ${esc.startupMs} ms, notification on :${notif.port} in ${notif.startupMs} ms (SMTP sink :${smtp.port})`);
    out.startupMs = { escalationRouting: esc.startupMs, notification: notif.startupMs };
    const roster = await configureRoster(`http://127.0.0.1:${esc.port}`, { runId, csms });

    // --- correlation: account → ticket send/answer, assigned event, e-mail ----------------------
    const tickets = new Map(); // accountId → { sent, answered, status, measured }
    const assigned = new Map(); // accountId → { arrival, timestamp, eventTime, escalationId, assignee }
    const ticketAccepted = new Map(); // accountId → record timestamp (wall ms) of its ticket on cs.support.v1 (the first)
    let strayAssigned = 0;
    reader = await escalationReader(kafka, {
      groupId: `kizuna-bench-escalation-${runId}-${tag}`,
      prefix,
      onAssigned: (account, arrival, { timestamp, event }) => {
        if (assigned.has(account)) return void strayAssigned++;
        assigned.set(account, { arrival, timestamp, eventTime: Date.parse(event.time), escalationId: event.data?.escalationId, assignee: event.data?.assignee?.csmId });
      },
      onTicket: (account, timestamp) => {
        if (!ticketAccepted.has(account)) ticketAccepted.set(account, timestamp);
      },
    });

    const { Pool } = require('undici');
    // Two clients, as in production: the product SDKs' batches and the help desk's webhook calls do
    // not queue behind each other in the bench (they still share the service).
    http = { product: new Pool(`http://127.0.0.1:${ingestion.port}`, { connections: 32, pipelining: 1 }), tickets: new Pool(`http://127.0.0.1:${ingestion.port}`, { connections: 16, pipelining: 1 }) };
    const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    const post = (pool, path, body) => pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
    let inFlight = 0; // product batches (capped: an overloaded service must not make the bench queue without end)
    let ticketsInFlight = 0;
    let behind = 0;
    const product = { sent: 0, accepted: 0, failed: 0, errorSamples: [] };
    const ticketStats = { sent: 0, accepted: 0, failed: 0, errorSamples: [], httpMs: [] };
    let n = 0;
    const sendBatch = (measured) => {
      const batch = Array.from({ length: batchSize }, (_, i) => {
        n++;
        return feed
          ? feedTrack(feed, n, `${prefix}p${n}`, `${prefix}product-${n % 5000}`)
          : { type: 'track', userId: `user-${n % 50}`, event: 'Feature Used', messageId: `${prefix}p${n}`, properties: { i }, context: { groupId: `${prefix}product-${n % 5000}` } };
      });
      if (measured) product.sent += batch.length;
      inFlight++;
      return post(http.product, '/v1/batch', JSON.stringify({ batch }))
        .then(async (res) => {
          const text = await res.body.text();
          if (res.statusCode >= 200 && res.statusCode < 300) {
            if (measured) product.accepted += batch.length;
          } else {
            product.failed += batch.length;
            if (product.errorSamples.length < 3) product.errorSamples.push(`${res.statusCode} ${text.slice(0, 200)}`);
          }
        })
        .catch((e) => {
          product.failed += batch.length;
          if (product.errorSamples.length < 3) product.errorSamples.push(e.message);
        })
        .finally(() => inFlight--);
    };
    let t = 0;
    const sendTicket = (measured) => {
      // A simulated ticket's text, category, tags, channel and priority, for a new account, flagged "needs CS".
      const sim = feed?.tickets[t % feed.tickets.length];
      const account = `${prefix}${(t++).toString(36)}`;
      const now = new Date().toISOString();
      const body = JSON.stringify({
        id: `${account}-t`, accountId: account, subject: sim?.subject ?? 'Exports fail since the upgrade', category: sim?.category ?? 'exports', tags: sim?.tags ?? ['exports'],
        ...(sim ? { channel: sim.channel } : {}), status: 'open', priority: sim?.priority ?? 'high', needsCs: true, createdAt: now, updatedAt: now,
      });
      const entry = { sent: performance.now(), measured };
      tickets.set(account, entry);
      if (measured) ticketStats.sent++;
      ticketsInFlight++;
      return post(http.tickets, '/v1/support/tickets', body)
        .then(async (res) => {
          const text = await res.body.text();
          entry.answered = performance.now();
          entry.status = res.statusCode;
          if (res.statusCode >= 200 && res.statusCode < 300 && JSON.parse(text).status === 'published') {
            entry.ok = true;
            if (measured) {
              ticketStats.accepted++;
              ticketStats.httpMs.push(entry.answered - entry.sent);
            }
          } else {
            ticketStats.failed++;
            if (ticketStats.errorSamples.length < 3) ticketStats.errorSamples.push(`${res.statusCode} ${text.slice(0, 200)}`);
          }
        })
        .catch((e) => {
          ticketStats.failed++;
          if (ticketStats.errorSamples.length < 3) ticketStats.errorSamples.push(e.message);
        })
        .finally(() => ticketsInFlight--);
    };

    /** Both streams at their rates for `seconds` (open model: a slow answer does not delay the next request). */
    const paced = async (seconds, measured) => {
      const batchesPerSec = productEventsPerSec / batchSize;
      const start = performance.now();
      const end = start + seconds * 1000;
      let batches = 0;
      let ticketsSent = 0;
      for (let now = start; now < end; now = performance.now()) {
        const el = (now - start) / 1000;
        for (const due = Math.floor(el * batchesPerSec) + 1; batches < due; batches++) {
          if (inFlight >= 64) {
            behind++;
            break;
          }
          void sendBatch(measured);
        }
        for (const due = Math.floor(el * ticketsPerSec) + 1; ticketsSent < due; ticketsSent++) void sendTicket(measured);
        await sleep(2);
      }
      return { seconds: (performance.now() - start) / 1000 };
    };

    const pids = { ingestion: ingestion.pid, escalation: esc.service.pid, notification: notif.service.pid, broker: ctx.brokerPid };
    const rss = { escalation: rssSampler(esc.service.pid), notification: rssSampler(notif.service.pid) };
    log(
      `${label}: ${ticketsPerSec} tickets/s (each a new account, "needs CS"), ${Math.round(productEventsPerSec).toLocaleString('en-US')} product events/s` +
        ` through /v1/batch (${productRateSource}), ${csms} CSMs; warm-up ${warmupSec} s, measured ${durationSec} s`,
    );
    await paced(warmupSec, false);
    const c0 = cpuSnapshot(pids);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const lagStart = await Promise.all(groups.map((g) => groupLag(admin, g.id, g.topics)));
    const stagesStart = await scrapeStages(esc.port, notif.port);
    // The bench's own event loop (load sender, Kafka reader, SMTP sink) during the window: a reading it
    // takes late (an assigned event, the end of an e-mail's DATA) is late by this much.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const window = await paced(durationSec, true);
    loopDelay.disable();
    const sendEnd = performance.now();
    const c1 = cpuSnapshot(pids);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const lagAtEnd = await Promise.all(groups.map((g) => groupLag(admin, g.id, g.topics)));
    for (let i = 0; i < 300 && inFlight + ticketsInFlight > 0; i++) await sleep(100);
    const measured = [...tickets].filter(([, e]) => e.measured && e.ok);
    const pending = () => measured.filter(([a]) => !assigned.has(a) || !smtp.accepted.has(a)).length;
    while (pending() > 0 && performance.now() - sendEnd < drainSec * 1000) await sleep(200);
    const waitedSec = round((performance.now() - sendEnd) / 1000, 1);
    const lagAfter = await Promise.all(groups.map((g) => groupLag(admin, g.id, g.topics)));
    const stages = stageLatencies(stagesStart, await scrapeStages(esc.port, notif.port));

    // Ticket accepted (its record on cs.support.v1, timestamped by ingestion's producer) → assigned event
    // read by the bench; also from the 2xx answer and from the send of the ticket.
    const fromAccepted = [];
    const acceptedToRecord = [];
    const fromAnswer = [];
    const fromSend = [];
    const toEmailFromRecord = [];
    const toEmailFromArrival = [];
    const ticketToEmail = [];
    const assignees = new Map();
    for (const [account, e] of measured) {
      const a = assigned.get(account);
      if (a) {
        fromAnswer.push(a.arrival - e.answered);
        const acceptedAt = ticketAccepted.get(account);
        if (acceptedAt !== undefined) {
          fromAccepted.push(performance.timeOrigin + a.arrival - acceptedAt);
          acceptedToRecord.push(a.timestamp - acceptedAt);
        }
        fromSend.push(a.arrival - e.sent);
        assignees.set(a.assignee, (assignees.get(a.assignee) ?? 0) + 1);
      }
      const mail = smtp.accepted.get(account);
      if (a && mail) {
        toEmailFromRecord.push(mail.at - a.timestamp);
        toEmailFromArrival.push(mail.at - (performance.timeOrigin + a.arrival));
      }
      if (mail) ticketToEmail.push(mail.at - (performance.timeOrigin + e.answered));
    }
    const assignedSeen = measured.filter(([a]) => assigned.has(a));
    const emailsOfAssigned = assignedSeen.filter(([a]) => smtp.accepted.has(a)).length;
    const lagOf = (arr) => Object.fromEntries(groups.map((g, i) => [g.id, arr[i].total]));
    // What each group got through during the measured window (its committed offsets, all topics).
    const consumedPerSec = Object.fromEntries(groups.map((g, i) => [g.id, Math.round((lagAtEnd[i].committed - lagStart[i].committed) / window.seconds)]));
    Object.assign(out, {
      durationSec: round(window.seconds, 2),
      waitAfterSendingSec: waitedSec,
      tickets: { sent: ticketStats.sent, accepted: ticketStats.accepted, failed: ticketStats.failed, errorSamples: ticketStats.errorSamples, httpMs: percentiles(ticketStats.httpMs) },
      product: { eventsPerSecSent: Math.round(product.sent / window.seconds), accepted: product.accepted, failed: product.failed, errorSamples: product.errorSamples, senderBehindTicks: behind },
      ticketAcceptedToAssignedMs: percentiles(fromAccepted, ticketStats.accepted),
      // Both ends as producers' record timestamps (ingestion's for the ticket, escalation-routing's relay
      // for the assigned event): without the bench reader's fetch and event loop.
      ticketAcceptedToAssignedRecordMs: percentiles(acceptedToRecord, ticketStats.accepted),
      benchLoopDelayMs: { p50: round(loopDelay.percentile(50) / 1e6, 1), p99: round(loopDelay.percentile(99) / 1e6, 1), max: round(loopDelay.max / 1e6, 1) },
      ticketToAssignedMs: percentiles(fromAnswer, ticketStats.accepted),
      ticketSendToAssignedMs: percentiles(fromSend, ticketStats.accepted),
      assignedMatched: assignedSeen.length,
      strayAssigned,
      assigneesUsed: assignees.size,
      // The assigned event's Kafka record timestamp (set by escalation-routing's producer) → SMTP accepted the DATA.
      assignedToEmailMs: percentiles(toEmailFromRecord, assignedSeen.length),
      // The same from the moment the bench's reader got the assigned event.
      assignedReadToEmailMs: percentiles(toEmailFromArrival, assignedSeen.length),
      ticketToEmailMs: percentiles(ticketToEmail, ticketStats.accepted),
      emailsMatched: emailsOfAssigned,
      smtp: smtp.counts(),
      consumerLag: { atWindowStart: lagOf(lagStart), atEndOfSending: lagOf(lagAtEnd), afterWait: lagOf(lagAfter) },
      consumedPerSec,
      stages,
      cpu: cpuBetween(c0, c1),
      rssPeakMiB: { escalationRouting: rss.escalation.peakMiB(), notification: rss.notification.peakMiB() },
      window: { label, fromUs, toUs },
      label,
      roster: { team: roster.team, csms: roster.csms.length },
    });
    // The services did not keep up with the product stream: tickets still unseen, or more than a
    // second's worth of product events still waiting for escalation-routing or notification.
    out.saturated = out.assignedMatched < ticketStats.accepted || Object.values(out.consumerLag.afterWait).some((lag) => lag > productEventsPerSec);
    for (const r of Object.values(rss)) r.stop();
    const f = (l) => `p50 ${l.p50 ?? '–'} / p95 ${l.p95 ?? '–'} / p99 ${l.p99 ?? '> wait'} / max ${l.max ?? '–'} ms`;
    log(`ticket accepted → escalation assigned on Kafka: ${f(out.ticketAcceptedToAssignedMs)}; from the 2xx answer ${f(out.ticketToAssignedMs)} (${out.assignedMatched} of ${ticketStats.accepted} tickets; ${out.product.eventsPerSecSent.toLocaleString('en-US')} product events/s sent)`);
    log(`escalation assigned → e-mail accepted by SMTP: ${f(out.assignedToEmailMs)} (${emailsOfAssigned} of ${assignedSeen.length} assigned; waited ${waitedSec} s after sending)`);
    log(`ticket record → assigned record (both producers' timestamps): ${f(out.ticketAcceptedToAssignedRecordMs)}; bench event-loop delay p50 ${out.benchLoopDelayMs.p50} / p99 ${out.benchLoopDelayMs.p99} / max ${out.benchLoopDelayMs.max} ms`);
    log(`where the time goes, from the services' histograms (bucket bounds: "at most"): ${stages.map((st) => `${st.stage} p50 ${st.p50 ?? '–'} / p90 ${st.p90 ?? '–'} / p99 ${st.p99 ?? '–'} ms (${st.count})`).join('; ')}`);
    for (const s of [...ticketStats.errorSamples, ...product.errorSamples]) log(`  error answer: ${s}`);
  } finally {
    await reader?.disconnect().catch(() => undefined);
    await admin.deleteGroups([`kizuna-bench-escalation-${runId}-${tag}`]).catch(() => undefined);
    for (const pool of Object.values(http ?? {})) await pool.close().catch(() => undefined);
    for (const s of started.reverse()) {
      const stopped = await stopProcess(s.service, 30000);
      if (stopped.code !== 0) log(`${s.service.name} exited with ${stopped.code ?? stopped.signal}`);
      (out.exit ??= {})[s.service.name] = stopped.code ?? stopped.signal;
    }
    await smtp.stop();
    await admin.disconnect().catch(() => undefined);
  }
  return out;
}
