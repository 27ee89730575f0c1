// Turns a bench result into checks, a text table for stdout and docs/benchmarks.md.
import { existsSync, readFileSync } from 'node:fs';

export const TARGETS = {
  batchEventsPerSec: 50000,
  singleEventsPerSec: 10000,
  batchSize: 100,
  // The health-scoring issue: event → cs.health.v1 p99 ≤ 250 ms (must ≤ 1 s) at 70 % of the sustained
  // ingest rate; backfill of 1,000,000 accounts ≤ 20 s (must ≤ 60 s).
  health: { ingestShare: 0.7, latencyP99Ms: 250, latencyP99MustMs: 1000, backfillAccounts: 1000000, backfillSeconds: 20, backfillMustSeconds: 60 },
  // The escalation-routing issue: ticket webhook accepted → escalation assigned event on Kafka p99 ≤ 300 ms at the
  // sustained ingest rate; the notification issue: escalation assigned → e-mail accepted by SMTP p99 ≤ 500 ms.
  escalation: { assignedP99Ms: 300, emailP99Ms: 500 },
};

const n = (x) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const pct = (a, b) => (a && b ? `${Math.round((a / b) * 1000) / 10} %` : '–');
const ms = (l) => (l ? `${l.p50} / ${l.p99} ms` : '–');
const passFail = (ok) => (ok ? 'PASS' : 'FAIL');

/** Processes the run starts as references (hello-*.mjs), not services. */
const REFERENCE_PROCESSES = new Set(['hello-fastify', 'hello-kafka']);

/** The rows shown everywhere: [scenario, measured, target, result, reference, ratio]. */
export function rows(r) {
  const { batch, single } = r.scenarios;
  const { fastifyBatch, fastifySingle, kafkaFastifySingle: floor, kafkaProducerPerf: kp } = r.reference;
  const kpText = kp ? `Kafka ProducerPerformance ${n(kp.recordsPerSec)} records/s (${kp.recordSize} B, acks=all)` : 'Kafka ProducerPerformance: not run';
  const out = [];
  if (batch) {
    out.push([
      `POST /v1/batch (${r.settings.batchSize} events/request, ${batch.connections} connections)`,
      `${n(batch.eventsPerSec)} events/s`,
      `≥ ${n(TARGETS.batchEventsPerSec)} events/s`,
      passFail(r.checks.batchThroughput && r.checks.batchAcked),
      `${kpText}; bare Fastify ${n(fastifyBatch?.eventsPerSec)} events/s`,
      `${pct(batch.eventsPerSec, kp?.recordsPerSec)} of Kafka, ${pct(batch.eventsPerSec, fastifyBatch?.eventsPerSec)} of Fastify`,
    ]);
    out.push([
      '  acknowledged by Kafka (cs.product.v1 offsets)',
      `+${n(batch.kafka?.delta)} messages for ${n(batch.acceptedEvents)} accepted`,
      '≥ accepted',
      passFail(r.checks.batchAcked),
      '',
      '',
    ]);
    out.push(['  request latency p50 / p99', ms(batch.latencyMs), 'report', '', `bare Fastify ${ms(fastifyBatch?.latencyMs)}`, '']);
  }
  if (single) {
    out.push([
      `POST /v1/track (1 event/request, ${single.connections} connections)`,
      `${n(single.eventsPerSec)} events/s`,
      `≥ ${n(TARGETS.singleEventsPerSec)} events/s`,
      passFail(r.checks.singleThroughput && r.checks.singleAcked),
      `bare Fastify ${n(fastifySingle?.eventsPerSec)} requests/s${floor ? `; Fastify + Kafka publisher ${n(floor.eventsPerSec)} events/s` : ''}`,
      `${pct(single.eventsPerSec, fastifySingle?.eventsPerSec)} of Fastify${floor ? `, ${pct(single.eventsPerSec, floor.eventsPerSec)} of Fastify + Kafka` : ''}`,
    ]);
    out.push([
      '  acknowledged by Kafka (cs.product.v1 offsets)',
      `+${n(single.kafka?.delta)} messages for ${n(single.acceptedEvents)} accepted`,
      '≥ accepted',
      passFail(r.checks.singleAcked),
      '',
      '',
    ]);
    out.push(['  request latency p50 / p99', ms(single.latencyMs), 'report', '', `bare Fastify ${ms(fastifySingle?.latencyMs)}${floor ? `; Fastify + Kafka publisher ${ms(floor.latencyMs)}` : ''}`, '']);
  }
  const errors = Object.values(r.scenarios).reduce((s, x) => s + x.non2xx + x.errors + x.timeouts, 0);
  out.push(['non-2xx / connection errors / timeouts', `${errors}`, '0', passFail(errors === 0), '', '']);
  out.push([
    `ingestion service RSS (peak during load${r.service.processes > 1 ? `, ${r.service.processes} processes summed` : ''})`,
    `${n(r.service.peakRssMiB)} MiB (idle before ${n(r.service.idleRssMiB)}, 3 s after ${n(r.service.afterLoadRssMiB)} MiB)`,
    'report',
    '',
    `bare Fastify ${n(r.reference.fastifyPeakRssMiB)} MiB`,
    '',
  ]);
  return out;
}

const HEAD = ['scenario', 'measured', 'target', 'result', 'reference (same run)', 'ratio'];

export function textTable(r) {
  const all = [HEAD, ...rows(r)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  const line = (row) => row.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function cpuTable(r, { markdown = false } = {}) {
  const head = ['scenario', 'server', 'Kafka broker', 'Postgres', 'load generator', 'other', 'machine busy', 'server CPU per event'];
  const list = [
    ['ingestion /v1/batch', r.scenarios.batch],
    ['ingestion /v1/track', r.scenarios.single],
    ['bare Fastify, batch body', r.reference.fastifyBatch],
    ['bare Fastify, single body', r.reference.fastifySingle],
    ['Fastify + Kafka publisher, single body', r.reference.kafkaFastifySingle],
  ].filter(([, s]) => s?.cpu);
  const body = list.map(([name, s]) => {
    const c = s.cpu.percentOfOneCore;
    const perEvent = s.cpu.serverCpuSeconds && s.acceptedEvents ? `${Math.round((s.cpu.serverCpuSeconds / s.acceptedEvents) * 1e6)} µs` : '–';
    return [name, `${c.server ?? '–'} %`, c.broker === undefined ? '–' : `${c.broker} %`, `${c.postgres} %`, `${c.loadgen} %`, `${c.other} %`, `${c.machineBusy} %`, perEvent];
  });
  if (markdown) return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  return all.map((row) => row.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function markdownTable(r) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows(r).map((row) => `| ${row.map(esc).join(' | ')} |`)].join('\n');
}

const FOUNDATION_HEADING = '## Foundation figures';

/** The foundation section of the current file, kept as is (first run: built from the old table). */
export function foundationSection(docPath) {
  if (!existsSync(docPath)) return '';
  const text = readFileSync(docPath, 'utf8');
  const at = text.indexOf(FOUNDATION_HEADING);
  if (at >= 0) return text.slice(at).trimEnd();
  const table = text.split('\n').filter((l) => l.startsWith('|')).join('\n');
  if (!table) return '';
  return `${FOUNDATION_HEADING}\n\nMeasured while building the foundation, on the 2-core / 24 GiB development machine:\n\n${table}`;
}

// --- health scoring ------------------------------------------------------------------------------

const H = TARGETS.health;
const targetOrMust = (ok, must) => (ok ? 'PASS' : must ? 'FAIL target (must met)' : 'FAIL');
const bandText = (b) => (b && Object.keys(b).length ? ['good', 'caution', 'danger'].filter((k) => b[k] !== undefined).map((k) => `${k} ${n(b[k])}`).join(', ') : '–');

/** Backfill targets for `accounts` (the 1M targets scaled linearly when a run uses fewer). */
export function backfillTargets(accounts) {
  const f = accounts / H.backfillAccounts;
  return { seconds: H.backfillSeconds * f, mustSeconds: H.backfillMustSeconds * f, scaled: f !== 1 };
}

/** Seconds the whole backfill took, or would take at the measured rate when it was cut off. */
const backfillSeconds = (b) => (b ? (b.status === 'done' ? b.seconds : b.extrapolatedSeconds) : undefined);

export function healthChecks(h, accounts) {
  const p99 = h.latency?.atIngestShare?.latencyMs?.p99;
  const t = backfillTargets(accounts);
  const bf = h.backfill;
  const bs = bf?.status === 'done' ? bf.seconds : undefined;
  return {
    healthLatencyP99: p99 !== null && p99 !== undefined && p99 <= H.latencyP99Ms,
    healthLatencyP99Must: p99 !== null && p99 !== undefined && p99 <= H.latencyP99MustMs,
    healthBackfill: bs !== undefined && bs <= t.seconds,
    healthBackfillMust: bs !== undefined && bs <= t.mustSeconds,
    healthBackfillDone: bf?.status === 'done' && h.dryRun?.status === 'done',
  };
}

const lat = (l, waited) => {
  const f = (x) => (x === null || x === undefined ? `> ${waited} s` : `${n(x)} ms`);
  return l ? `${f(l.p50)} / ${f(l.p95)} / ${f(l.p99)} (max seen ${l.max === null ? '–' : `${n(l.max)} ms`})` : '–';
};
const fmtSec = (x) => (x === undefined || x === null ? '–' : x >= 10 ? n(x) : String(Math.round(x * 10) / 10));

function latencyRows(s, { main }) {
  if (!s) return [];
  const waited = s.waitAfterSendingSec;
  const p99 = s.latencyMs.p99;
  const rate = `${n(s.eventsPerSecSent)} events/s`;
  const rows = [
    [
      main
        ? `event → cs.health.v1 latency p50 / p95 / p99, at 70 % of /v1/batch (${rate} sent of ${n(s.eventsPerSecTarget)} planned, ${s.batchSize} accounts per batch)`
        : `  same, at 70 % of what health-scoring applied under that load (${rate}, ${s.batchSize} accounts per batch)`,
      lat(s.latencyMs, waited),
      main ? `p99 ≤ ${n(H.latencyP99Ms)} ms (must ≤ ${n(H.latencyP99MustMs)} ms)` : 'report',
      main ? targetOrMust(p99 !== null && p99 <= H.latencyP99Ms, p99 !== null && p99 <= H.latencyP99MustMs) : '',
      `HTTP answers of the same requests ${s.httpLatencyMs.p50} / ${s.httpLatencyMs.p99} ms (p50 / p99)`,
      `send → computedAt p50 ${n(s.sendToComputedAtMs.p50)} ms, computedAt → on the topic p50 ${n(s.computedAtToReceivedMs.p50)} ms`,
    ],
    [
      '    health events seen for the accepted events',
      `${n(s.healthEventsMatched)} of ${n(s.measuredAccepted)} (waited ${s.waitAfterSendingSec} s after sending; ${n(s.accountsUsed)} accounts)`,
      'all',
      s.notSeenWithinWait === 0 ? 'PASS' : 'FAIL',
      '',
      '',
    ],
    [
      `    health-scoring throughput; lag of ${s.consumerLag.group}`,
      `${n(s.healthProcessedEventsPerSec)} events/s applied (${n(s.healthEmittedEventsPerSec)}/s emitted)${s.healthAppliedPerSecDuringWait && s.consumerLag.atEndOfSending > s.eventsPerSecSent ? `, ${n(s.healthAppliedPerSecDuringWait)}/s once sending stopped` : ''}; lag ${n(s.consumerLag.atEndOfSending)} at end of sending, ${n(s.consumerLag.afterWait)} after the wait`,
      `≥ ${rate}, lag ≈ 0`,
      s.healthProcessedEventsPerSec >= 0.95 * s.eventsPerSecSent && s.consumerLag.afterWait < s.eventsPerSecSent ? 'PASS' : 'FAIL',
      s.lagDrainSecondsAtThatRate > 60 ? `that lag takes ~${n(s.lagDrainSecondsAtThatRate)} s to drain at ${n(s.healthProcessedEventsPerSec)} events/s` : '',
      `${pct(s.healthProcessedEventsPerSec, s.eventsPerSecSent)} of the rate sent`,
    ],
  ];
  return rows;
}

/** The health-scoring rows: [scenario, measured, target, result, reference, ratio]. */
export function healthRows(r) {
  const h = r.health;
  if (!h) return [];
  const out = [...latencyRows(h.latency?.atIngestShare, { main: true }), ...latencyRows(h.latency?.withinCapacity, { main: false })];
  const accounts = r.settings.healthAccounts ?? h.settings?.accounts;
  const t = backfillTargets(accounts);
  const bf = h.backfill;
  const copy = h.copy;
  if (bf) {
    const secs = backfillSeconds(bf);
    const done = bf.status === 'done';
    out.push([
      `backfill of ${n(accounts)} accounts (POST /v1/scorecards/smb/backfill → done)`,
      done ? `${bf.seconds} s (${n(bf.accountsPerSec)} accounts/s)` : `${bf.status}: ${n(bf.processed)} in ${bf.seconds} s (${n(bf.accountsPerSec)} accounts/s) → ~${n(secs)} s for all`,
      `≤ ${fmtSec(t.seconds)} s (must ≤ ${fmtSec(t.mustSeconds)} s)${t.scaled ? `, the 1,000,000-account targets scaled to ${n(accounts)}` : ''}`,
      targetOrMust(done && bf.seconds <= t.seconds, done && bf.seconds <= t.mustSeconds),
      copy
        ? `COPY of ${n(copy.rows)} account_health rows ${copy.seconds} s (${n(copy.rowsPerSec)} rows/s)`
        : '',
      copy && secs ? `backfill = ${Math.round((secs / copy.seconds) * 10) / 10} × COPY` : '',
    ]);
    out.push(['    bands before → after (the job)', `${bandText(bf.before)} → ${bandText(bf.after)}`, 'report', '', '', '']);
    if (bf.outbox) {
      out.push([
        '    changes emitted, outbox published',
        `${n(bf.outbox.emittedChanges)} changes; outbox ${bf.outbox.backlogAfterWait ? `backlog ${n(bf.outbox.backlogAfterWait)} left` : `drained ${bf.outbox.drainedSecondsAfterDone} s after done`}`,
        'report',
        '',
        '',
        '',
      ]);
    }
  }
  const dr = h.dryRun;
  if (dr) {
    const secs = backfillSeconds(dr);
    out.push([
      `dry run of ${n(accounts)} accounts ({"dryRun": true})`,
      dr.status === 'done' ? `${dr.seconds} s (${n(dr.accountsPerSec)} accounts/s)` : `${dr.status}: ${n(dr.processed)} in ${dr.seconds} s → ~${n(secs)} s for all`,
      'report',
      '',
      `bands after (preview): ${bandText(dr.after)}`,
      copy && secs ? `dry run = ${Math.round((secs / copy.seconds) * 10) / 10} × COPY` : '',
    ]);
  }
  if (h.generation) {
    const g = h.generation;
    out.push([
      `setup: ${n(accounts)} accounts' facts and scores generated in SQL`,
      `${g.insertSeconds} s (+ ${g.vacuumed ? 'VACUUM ANALYZE' : 'ANALYZE'} ${g.analyzeSeconds} s${g.checkpointSeconds !== undefined ? `, CHECKPOINT ${g.checkpointSeconds} s` : ''}), ${n(g.steps.reduce((s, x) => s + x.rows, 0))} rows, ${n(g.schemaMiB)} MiB`,
      'report',
      '',
      '',
      '',
    ]);
  }
  out.push([
    'health-scoring RSS (peak)',
    `${n(h.peakRssMiB)} MiB (latency ${n(h.latency?.atIngestShare?.healthRssPeakMiB)}, backfill ${n(bf?.healthRssPeakMiB)}, dry run ${n(dr?.healthRssPeakMiB)}; idle ${n(h.idleRssMiB)} MiB)`,
    'report',
    '',
    '',
    '',
  ]);
  return out;
}

function table(head, body, { markdown = false } = {}) {
  if (markdown) {
    const esc = (x) => String(x).replace(/\|/g, '\\|');
    return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((row) => `| ${row.map(esc).join(' | ')} |`)].join('\n');
  }
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  const line = (row) => row.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export const healthTextTable = (r, opts) => table(HEAD, healthRows(r), opts);

export function healthCpuTable(r, opts) {
  const h = r.health;
  const head = ['health scenario', 'ingestion', 'health-scoring', 'Kafka broker', 'Postgres', 'bench (load + reader)', 'other', 'machine busy'];
  const list = [
    ['latency at 70 % of /v1/batch', h?.latency?.atIngestShare],
    ['latency within health-scoring capacity', h?.latency?.withinCapacity],
    ['backfill', h?.backfill],
    ['dry run', h?.dryRun],
  ].filter(([, s]) => s?.cpu);
  const pc = (v) => (v === undefined ? '–' : `${v} %`);
  const body = list.map(([name, s]) => {
    const c = s.cpu.percentOfOneCore;
    return [name, pc(c.ingestion), pc(c.health), pc(c.broker), pc(c.postgres), pc(c.loadgen), pc(c.other), pc(c.machineBusy)];
  });
  return table(head, body, opts);
}

/** Where health-scoring's Postgres connections were during the backfill and the dry run. */
export function pgActivityTable(r, opts) {
  const h = r.health;
  const body = [];
  const runs = [
    ['latency, 70 % of /v1/batch', h?.latency?.atIngestShare, 5],
    ['latency, within capacity', h?.latency?.withinCapacity, 6],
    ['backfill', h?.backfill, 8],
    ['dry run', h?.dryRun, 4],
  ];
  for (const [name, s, top] of runs) {
    for (const x of s?.pgActivity?.top?.slice(0, top) ?? []) body.push([name, x.what, `${x.pctOfSamples} %`]);
  }
  return body.length ? table(['run', `health-scoring's connections (sampled pg_stat_activity every ${h.backfill?.pgActivity?.intervalMs ?? 100} ms)`, 'share of samples'], body, opts) : '';
}

function healthSection(r) {
  const h = r.health;
  const a = h.latency?.atIngestShare;
  const c = h.latency?.withinCapacity;
  const accounts = r.settings.healthAccounts ?? h.settings?.accounts;
  const lines = [
    '## Health scoring',
    '',
    `Same run, same machine, after the ingestion scenarios (${r.mode} run).`,
    '',
    healthTextTable(r, { markdown: true }),
    '',
    'Where the CPU went (% of one core):',
    '',
    healthCpuTable(r, { markdown: true }),
    '',
  ];
  const pga = pgActivityTable(r, { markdown: true });
  if (pga) {
    lines.push(
      'What health-scoring\'s Postgres connections were doing (share of the samples in which a connection was in that state; several connections can be busy in one sample, so a column can add up to more than 100 %;' +
        ' "idle in transaction" = Postgres waits for Node inside an open transaction):',
      '',
      pga,
      '',
    );
  }
  lines.push(
    '### How it is measured',
    '',
    `- **Latency.** The ingestion service of this run stays up; health-scoring runs beside it (\`node dist/apps/health-scoring/src/main.js\`, \`LOG_LEVEL=warn\`, same broker, database and partitions, \`HEALTH_MIN_DELTA=0\` so that every scored event emits, the clock sweep off). Before it starts, its group \`${a?.consumerLag.group ?? 'kizuna.health-scoring'}\` is moved to the end of its input topics (the ingestion scenarios left ~1M events there).`,
    `- The bench sends \`POST /v1/batch\` of ${a?.batchSize ?? 100} track events at a fixed overall rate (its own paced sender, open model: a slow answer does not delay the next request), ${TARGETS.health.ingestShare * 100} % of the /v1/batch throughput measured above (${n(a?.eventsPerSecTarget)} events/s), ${a?.warmupSec ?? '?'} s warm-up, then ${a?.durationSec ?? '?'} s measured. Every event in a batch is for a different account.`,
    '- Correlation: an account is in flight from the request that carried its event until the first `cs.health.score.changed.v1` with that `subject` arrives on `cs.health.v1` (read by a kafkajs consumer in the bench); only then is the account used again (new accounts are added when all are in flight). Health-scoring emits at most one event per processed event, so the matched health event is the one that event caused. Latency = arrival on the topic − start of the HTTP request, both on the bench\'s monotonic clock; `data.computedAt` splits it into "until scored" and "outbox → topic". Events not seen by the end of the wait count as slower than any seen (a percentile among them is shown as "> wait").',
    `- Throughput of health-scoring = events it applied during the measured window (its \`health_scoring.inbox\` rows: one per event, in the event's transaction; its committed offsets move only after a whole fetched batch); emitted = growth of \`cs.health.v1\`. Lag = Σ (high watermark − committed offset) of the group over ${HEALTH_INPUT_TOPICS_TEXT} (kafkajs \`fetchOffsets\` vs \`fetchTopicOffsets\`), at the end of sending and after the wait.`,
  );
  if (c) lines.push(`- As health-scoring did not keep up with ${n(a?.eventsPerSecSent)} events/s, the same measurement ran again (health-scoring restarted, group moved to the end) at 70 % of what it applied while the load ran (${n(c.eventsPerSecSent)} events/s, in batches of ${c.batchSize} so that a batch is not a burst of its own): the latency within its capacity.`);
  lines.push(
    `- **Backfill.** After health-scoring has started (schema by its migrations, scorecards seeded), the facts of ${n(accounts)} accounts are generated set-based in SQL (\`generate_series\`, one \`INSERT … SELECT\` per table, timed): ` +
      `${(h.generation?.steps ?? []).filter((x) => !/^truncate/.test(x.what)).map((x) => `\`${x.what.split(' ')[0]}\` ${x.what.slice(x.what.indexOf(' ') + 1)}`).join('; ')}` +
      '; 70 % of the accounts active in the last 3 days, 20 % fading, 10 % silent for 25+ days; then `VACUUM ANALYZE` (the tables as autovacuum keeps them in a running system: visibility map, hint bits, statistics) and `CHECKPOINT` (the writes of the generation flushed before the timed backfill). Health-scoring runs with its defaults (`HEALTH_MIN_DELTA` 1).',
    `- \`POST /v1/scorecards/smb/backfill\` with \`{}\`, then \`GET /v1/backfills/:id\` every 250 ms until \`done\`; the time is the job's own \`startedAt → finishedAt\` (a run cut off after ${h.settings?.backfillTimeoutSec ?? '?'} s reports the rate and the extrapolated time). Then the same with \`{"dryRun": true}\`. Changes the backfill emits go through the outbox; the time until it is drained is shown apart.`,
    `- Reference: ${h.copy?.method ?? 'COPY'}, the rows shaped like those the backfill writes (same columns, the features as the backfill stored them: ${n(h.copy?.featuresTextBytes)} bytes of array text); generating the input is not timed.`,
    '- The 1,000,000-account targets apply to 1,000,000 accounts; a run with fewer accounts (`--quick`: 100,000) shows them scaled linearly.',
    '',
    'Commands: `npm run bench -- --only health` (the health set alone: it measures /v1/batch first for the rate), `npm run bench -- --only backfill --quick` (the backfill, dry run and COPY reference alone, 100,000 accounts; `--accounts n`), `npm run bench -- --quick` (100,000 accounts), `npm run bench -- --only health --profile` (CPU profile of health-scoring per scenario).',
    '',
  );
  return lines.join('\n');
}

const HEALTH_INPUT_TOPICS_TEXT = '`cs.product.v1`, `cs.directory.v1`, `cs.support.v1`, `cs.survey.v1`, `cs.billing.v1`';

export function markdownDoc(r, foundation, charts) {
  const m = r.machine;
  const s = r.settings;
  const kp = r.reference.kafkaProducerPerf;
  const sample = r.reference.messageSample;
  const lines = [
    '# Benchmarks',
    '',
    `Every figure of one \`${r.command}\` run (${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.machine.cores} cores${r.machine.yardstickSec ? `, CPU yardstick ${r.machine.yardstickSec} s against ${r.machine.yardstickReference?.seconds ?? 1.8} s on ${r.machine.yardstickReference?.date ?? '2026-12-02'}` : ''}${r.machine.backgroundBusyPct > 25 ? `, the machine already ${r.machine.backgroundBusyPct} % busy before the run: other work lowered every figure` : ''}); the sections below say how each is measured.`,
    '',
    summaryTextTable(r, { markdown: true }),
    '',
    '## Ingestion service (`npm run bench`)',
    '',
    `Generated by \`${r.command}\` on ${r.startedAt.slice(0, 10)} at commit \`${r.revision?.commit ?? '?'}\`` +
      `${r.revision?.uncommittedFilesInAppsLibs ? ` (+ uncommitted changes in ${r.revision.uncommittedFilesInAppsLibs} files under apps/, libs/)` : ''}` +
      ` (${r.mode} run, ${s.durationSec} s per scenario after ${s.warmupSec} s warm-up)` +
      `${r.profiled ? ', **with the CPU profiler on: figures are lower than normal**' : ''}.`,
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memGiB} GiB RAM, ${m.os}; Node ${m.node}, Java ${m.java}, Kafka ${m.kafkaVersion}, Postgres ${m.postgres}.`,
    ...(m.yardstickSec
      ? [
          `Its speed at the start of the run: ${m.yardstickSec} s for the CPU yardstick (3×10⁸ iterations of \`x = (x * 31 + i) | 0\` on one core; ` +
            `${m.yardstickReference?.seconds ?? 1.8} s on ${m.yardstickReference?.date ?? '2026-12-02'}). These cores are shared with other tenants and their speed moves ` +
            'by 25 % and more over a day: compare figures only between runs with similar yardsticks.',
        ]
      : []),
    'The service, the Kafka broker, Postgres and the load generator (autocannon) share these cores' +
      ` (before the run the machine was ${m.backgroundBusyPct} % busy; the "other" column below is CPU used by anything else during a scenario).`,
    '',
    markdownTable(r),
    '',
    'Where the CPU went during each scenario (% of one core; the machine has ' + `${m.cores * 100} %):`,
    '',
    cpuTable(r, { markdown: true }),
    '',
    '### How it is measured',
    '',
    `- The service runs as built (\`node tools/scripts/build.mjs\`, then \`node dist/apps/ingestion/src/main.js\`, \`LOG_LEVEL=warn\`, ${s.partitions} partitions` +
      `${Object.keys(r.serviceEnv ?? {}).length ? `, ${Object.entries(r.serviceEnv).map(([k, v]) => `\`${k}=${v}\``).join(', ')}` : ', other settings at their defaults'})` +
      ` against a dedicated broker (\`${r.infra.brokers}\`, fresh storage) and the database \`${r.infra.database}\` (recreated each run).`,
    `- The traffic is the simulator's (tools/simulator, \`lib/feed.mjs\`): ${r.traffic ?? 'synthetic track calls'}. Each request carries fresh \`messageId\`s (\`<run id>-<n>\`) and an account (\`context.groupId\`); a batch holds ${s.batchSize} track events` +
      ` (${n(r.scenarios.batch?.requestBytes)} bytes per request, ${n(r.scenarios.single?.requestBytes)} bytes per single event).`,
    '- Accepted = events in 2xx answers (the service answers only after Kafka acknowledged); checked again at the end of each scenario:' +
      ' the high watermarks of `cs.product.v1` must have grown by at least the accepted count.',
    `- Latency is per HTTP request (autocannon, ${s.batchConnections} connections for batches, ${s.singleConnections} for single events, no pipelining). Each connection waits for its answer before it sends again, so a scenario's throughput is at most connections ÷ mean latency: a single event's answer waits for Kafka's acknowledgement of the produce request it went out in (5–10 ms), and at 64 connections that bound (about 9,000 requests/s) was reached before the service's core was (86–90 % busy, 2026-12-04); 128 connections keep it busy (95–103 %), which is what a sustained rate is, and 256 gave no more. RSS: peak \`VmRSS\` of the service (summed over its processes when it runs cluster workers), sampled every 200 ms.`,
    `- References, same run, same load generator: a bare Fastify server (\`tools/bench/hello-fastify.mjs\`: parse JSON, answer \`{"success":true}\`) with the same bodies;` +
      (r.reference.kafkaFastifySingle
        ? ' for single events, the floor under the service: bare Fastify with the services\' own Kafka publisher (`tools/bench/hello-kafka.mjs`: each body sent as one record in a CloudEvent-shaped envelope, answered after the broker acknowledged it; no write key, validation, dedup, telemetry or Postgres);'
        : '') +
      (kp
        ? ` Kafka's own producer, ${n(s.producerPerf.records)} records of ${kp.recordSize} B (the service's average record: ${sample?.valueBytes} B value + ${sample?.keyBytes} B key + ${sample?.headerBytes} B headers),` +
          ` figure of the steady state after ${n(s.producerPerf.warmup)} warm-up records (quick runs are shorter and show a lower figure):`
        : ' Kafka ProducerPerformance was not run.'),
  ];
  if (kp) lines.push('', '  ```sh', `  ${kp.command}`, '  ```');
  lines.push(
    '',
    'Commands: `npm run bench` (full run), `npm run bench -- --quick` (short), `npm run bench -- --profile` (adds a CPU profile of the service; see `tools/bench/README.md`).',
    `Raw result of this run: \`${r.resultFile}\` (not committed).`,
    '',
  );
  if (r.health) lines.push(healthSection(r));
  if (r.escalation) lines.push(escalationSection(r));
  if (r.timeline) lines.push(runSection(r, charts));
  if (foundation) lines.push(foundation, '');
  return lines.join('\n');
}

// --- ticket → escalation → e-mail ----------------------------------------------------------------

const E = TARGETS.escalation;
const within = (l, limit) => l?.p99 !== null && l?.p99 !== undefined && l.p99 <= limit;

export function escalationChecks(e) {
  return {
    escalationAssignedP99: within(ticketLatency(e), E.assignedP99Ms),
    escalationAllAssigned: e.tickets.accepted > 0 && e.assignedMatched === e.tickets.accepted,
    notificationEmailP99: within(e.assignedToEmailMs, E.emailP99Ms),
    notificationAllEmailed: e.assignedMatched > 0 && e.emailsMatched === e.assignedMatched,
    // The e-mail's target names no load ("in the benchmark"): it is checked at a load the machine
    // carries too. The ticket's names the ingestion benchmark's rate, so within capacity it is reported.
    ...(e.withinCapacity ? { notificationEmailP99WithinCapacity: within(e.withinCapacity.assignedToEmailMs, E.emailP99Ms) } : {}),
  };
}

const pcts = (l, waited) => {
  const f = (x) => (x === null || x === undefined ? `> ${waited} s` : `${n(x)} ms`);
  return l ? `${f(l.p50)} / ${f(l.p95)} / ${f(l.p99)} (max seen ${l.max === null ? '–' : `${n(l.max)} ms`})` : '–';
};

export function escalationRows(r) {
  const e = r.escalation;
  if (!e) return [];
  return [...escalationScenarioRows(e, { main: true }), ...(e.withinCapacity ? escalationScenarioRows(e.withinCapacity, { main: false }) : [])];
}

/** Ticket accepted → assigned (results before it was measured: from the 2xx answer). */
const ticketLatency = (e) => e.ticketAcceptedToAssignedMs ?? e.ticketToAssignedMs;

function escalationScenarioRows(e, { main }) {
  const s = e.settings;
  const target = (t) => (main ? t : 'report');
  const result = (ok) => (main ? passFail(ok) : '');
  const w = e.waitAfterSendingSec;
  const lagEnd = Object.entries(e.consumerLag.atEndOfSending).map(([g, v]) => `${g} ${n(v)}`).join(', ');
  const lagAfter = Object.entries(e.consumerLag.afterWait).map(([g, v]) => `${g} ${n(v)}`).join(', ');
  return [
    [
      `${main ? '' : 'within capacity: '}ticket accepted (on cs.support.v1) → cs.escalation.assigned.v1 on Kafka, p50 / p95 / p99 (${s.ticketsPerSec} tickets/s, ${n(e.product.eventsPerSecSent)} product events/s on /v1/batch)`,
      pcts(ticketLatency(e), w),
      target(`p99 ≤ ${n(E.assignedP99Ms)} ms`),
      result(within(ticketLatency(e), E.assignedP99Ms)),
      `${e.ticketAcceptedToAssignedMs ? `from the 2xx answer of the ticket call: ${pcts(e.ticketToAssignedMs, w)}; ` : ''}from the send of the ticket: ${pcts(e.ticketSendToAssignedMs, w)}; ticket HTTP answer p50 / p99 ${n(e.tickets.httpMs.p50)} / ${n(e.tickets.httpMs.p99)} ms` +
        (e.ticketAcceptedToAssignedRecordMs ? `; both ends as record timestamps (without the bench's reader): ${pcts(e.ticketAcceptedToAssignedRecordMs, w)}` : '') +
        (e.benchLoopDelayMs ? `; the bench's event-loop delay p50 / p99 / max ${e.benchLoopDelayMs.p50} / ${e.benchLoopDelayMs.p99} / ${e.benchLoopDelayMs.max} ms` : ''),
      `product load ${pct(e.product.eventsPerSecSent, s.productEventsPerSec)} of the planned ${n(s.productEventsPerSec)} events/s (${s.productRateSource})`,
    ],
    [
      '    assigned events seen for the accepted tickets',
      `${n(e.assignedMatched)} of ${n(e.tickets.accepted)} (waited ${w} s after sending; ${e.assigneesUsed} CSMs of ${s.csms} got one)`,
      target('all'),
      result(e.tickets.accepted > 0 && e.assignedMatched === e.tickets.accepted),
      e.tickets.failed || e.product.failed ? `${n(e.tickets.failed)} tickets, ${n(e.product.failed)} product events not accepted` : '',
      '',
    ],
    [
      `${main ? '' : 'within capacity: '}cs.escalation.assigned.v1 (record timestamp) → e-mail accepted by SMTP (end of DATA), p50 / p95 / p99`,
      pcts(e.assignedToEmailMs, w),
      `p99 ≤ ${n(E.emailP99Ms)} ms`,
      passFail(within(e.assignedToEmailMs, E.emailP99Ms)),
      `from the bench reading the assigned event: ${pcts(e.assignedReadToEmailMs, w)}`,
      `ticket answered → e-mail p50 / p99 ${e.ticketToEmailMs.p50 === null ? `> ${w} s` : `${n(e.ticketToEmailMs.p50)} ms`} / ${e.ticketToEmailMs.p99 === null ? `> ${w} s` : `${n(e.ticketToEmailMs.p99)} ms`}`,
    ],
    ['    e-mails accepted for the assigned events', `${n(e.emailsMatched)} of ${n(e.assignedMatched)} (${n(e.smtp.messages)} messages at the SMTP server)`, target('all'), result(e.assignedMatched > 0 && e.emailsMatched === e.assignedMatched), '', ''],
    [
      '    lag of escalation-routing / notification',
      `at end of sending: ${lagEnd}; after the wait: ${lagAfter}`,
      'report',
      '',
      e.consumedPerSec ? `consumed during the window (committed offsets): ${Object.entries(e.consumedPerSec).map(([g, v]) => `${g} ${n(v)}/s`).join(', ')}` : '',
      '',
    ],
    ...(e.stages
      ? [[
        '    where the time goes (the services\' histograms, p50 / p90 / p99, each at most the bucket bound)',
        e.stages.map((st) => `${st.stage} ${st.p50 ?? '–'} / ${st.p90 ?? '–'} / ${st.p99 ?? '–'} ms`).join('; '),
        'report',
        '',
        `observations: ${e.stages.map((st) => n(st.count)).join(', ')}`,
        '',
      ]]
      : []),
    [
      '    RSS peak during the scenario',
      `escalation-routing ${n(e.rssPeakMiB.escalationRouting)} MiB, notification ${n(e.rssPeakMiB.notification)} MiB`,
      'report',
      '',
      '',
      '',
    ],
  ];
}

export const escalationTextTable = (r, opts) => table(HEAD, escalationRows(r), opts);

export function escalationCpuTable(r, opts) {
  const e = r.escalation;
  if (!e?.cpu) return '';
  const pc = (v) => (v === undefined ? '–' : `${v} %`);
  const head = ['scenario', 'ingestion', 'escalation-routing', 'notification', 'Kafka broker', 'Postgres', 'bench (load + reader + SMTP)', 'other', 'machine busy'];
  const row = (name, c) => [name, pc(c.ingestion), pc(c.escalation), pc(c.notification), pc(c.broker), pc(c.postgres), pc(c.loadgen), pc(c.other), pc(c.machineBusy)];
  const body = [row('ticket → escalation → e-mail', e.cpu.percentOfOneCore)];
  if (e.withinCapacity?.cpu) body.push(row('the same within capacity', e.withinCapacity.cpu.percentOfOneCore));
  return table(head, body, opts);
}

// --- the whole run: peak RSS per service, consumer lag over time -----------------------------------

/** Per consumer group: samples with members, max lag, lag at its last sample. */
export function lagSummary(r) {
  const samples = r.timeline?.samples ?? [];
  const out = {};
  for (const s of samples) {
    for (const [g, v] of Object.entries(s.lag ?? {})) {
      const x = (out[g] ??= { samples: 0, max: 0, maxAt: 0, last: 0, phaseOfMax: null });
      x.samples++;
      if (v > x.max) Object.assign(x, { max: v, maxAt: s.t, phaseOfMax: s.phase });
      x.last = v;
    }
  }
  return out;
}

export function runRows(r) {
  const rows = [];
  for (const [svc, mib] of Object.entries(r.peakRssMiB ?? {}).sort()) rows.push([`peak RSS: ${svc}`, `${n(mib)} MiB`, 'report', '', REFERENCE_PROCESSES.has(svc) ? 'reference' : '', '']);
  for (const [g, x] of Object.entries(lagSummary(r)).sort()) {
    rows.push([`consumer lag: ${g}`, `max ${n(x.max)} at ${n(x.maxAt)} s (${x.phaseOfMax ?? '–'}), last ${n(x.last)}; ${x.samples} samples`, 'report', '', '', '']);
  }
  return rows;
}

export const runTextTable = (r, opts) => table(['whole run (sampled every second)', 'measured', 'target', 'result', 'note', ''], runRows(r), opts);

/** [label, value, unit, colour group] for the throughput chart. */
export function throughputBars(r) {
  const b = [];
  const { batch, single } = r.scenarios;
  const ref = r.reference;
  if (ref.fastifyBatch) b.push(['bare Fastify, batch body (events/s)', ref.fastifyBatch.eventsPerSec, 'events/s', 1]);
  if (batch) b.push(['ingestion POST /v1/batch (events/s)', batch.eventsPerSec, 'events/s', 0]);
  if (ref.kafkaProducerPerf) b.push(['Kafka ProducerPerformance (records/s)', ref.kafkaProducerPerf.recordsPerSec, 'records/s', 1]);
  if (ref.fastifySingle) b.push(['bare Fastify, single body (requests/s)', ref.fastifySingle.eventsPerSec, 'requests/s', 1]);
  if (ref.kafkaFastifySingle) b.push(['Fastify + Kafka publisher, single body (events/s)', ref.kafkaFastifySingle.eventsPerSec, 'events/s', 1]);
  if (single) b.push(['ingestion POST /v1/track (events/s)', single.eventsPerSec, 'events/s', 0]);
  const hl = r.health?.latency?.atIngestShare;
  if (hl) b.push(['health-scoring applied, 70 % load (events/s)', hl.healthProcessedEventsPerSec, 'events/s', 2]);
  const bf = r.health?.backfill;
  if (bf) b.push(['health-scoring backfill (accounts/s)', bf.accountsPerSec, 'accounts/s', 2]);
  if (r.health?.copy) b.push(['Postgres COPY of the same rows (rows/s)', r.health.copy.rowsPerSec, 'rows/s', 1]);
  const e = r.escalation;
  if (e) b.push(['product events beside the tickets (events/s)', e.product.eventsPerSecSent, 'events/s', 3]);
  return b;
}

function escalationSection(r) {
  const e = r.escalation;
  const s = e.settings;
  return [
    '## Ticket → escalation → e-mail',
    '',
    `Same run, after the health-scoring latency scenarios, with the ingestion service of the run still up (health-scoring not running).`,
    '',
    escalationTextTable(r, { markdown: true }),
    '',
    'Where the CPU went (% of one core):',
    '',
    escalationCpuTable(r, { markdown: true }),
    '',
    '### How it is measured',
    '',
    `- escalation-routing and notification run as built (\`node dist/apps/<service>/src/main.js\`, \`LOG_LEVEL=warn\`, same broker, database and partitions; escalation-routing with ${['ESCALATION_SLA_SWEEP_INTERVAL_MS=3600000', ...Object.entries(s.escalationEnv ?? {}).map(([k, v]) => `${k}=${v}`)].map((x) => `\`${x}\``).join(', ')}, notification with ${Object.entries(s.notificationEnv ?? {}).map(([k, v]) => `\`${k}=${v}\``).join(', ')}), their groups moved to the end of every topic before they start. notification sends to an SMTP server in the bench process (\`smtp-server\`).`,
    `- The roster is configured through escalation-routing's admin API (an admin token signed with the development key): one team on duty around the clock and ${s.csms} CSMs with room for 10,000 escalations each.`,
    `- For ${s.warmupSec} s (warm-up after the services started, not measured: \`--escalation-warmup\`) and then ${s.durationSec} s, the bench posts ${s.ticketsPerSec} tickets/s to \`POST /v1/support/tickets\` (a simulated ticket's subject, category, tags, channel and priority, each for a new account, status open, the agent's "needs CS" flag set: each opens one agent-flagged escalation, routed to the least-loaded CSM) while \`POST /v1/batch\` carries ${n(s.productEventsPerSec)} product events/s (the simulator's track calls, on 5,000 bench accounts; its "Seat Limit Reached" calls open expansion escalations too) in batches of ${s.batchSize} (${s.productRateSource}), both paced (open model). escalation-routing and notification read the product stream in a lane of their own (\`<group>.product\`), so a ticket does not wait behind product batches, but they share the cores with it.`,
    '- A kafkajs consumer in the bench reads `cs.escalation.v1`; an assigned event ties back to its ticket by its key (the account). Ticket latency = arrival of the assigned event − the moment the ticket was accepted: the timestamp of its record on `cs.support.v1` (set by ingestion\'s producer when it sends the ticket to Kafka, before the broker\'s acknowledgement and the 2xx answer; the bench reads that topic too), on the machine\'s clock. Also shown: − the 2xx answer of the ticket call, and − the send (bench\'s monotonic clock). The answer can reach the bench after the assigned event when the HTTP path is the slower one, so that figure can be negative. Also shown: both ends as producers\' record timestamps (the assigned event\'s set by escalation-routing\'s outbox relay), which leaves out the bench reader\'s fetch and event loop, and the delay of the bench\'s own event loop during the window (`monitorEventLoopDelay`): a reading the bench takes (an assigned event, the end of an e-mail\'s DATA at its SMTP sink) is late by that much.',
    '- E-mail latency = the moment the SMTP server accepted the message (end of DATA) − the Kafka record timestamp of the assigned event (set by escalation-routing\'s producer, same machine clock), tied together by the subject ("Escalation assigned: <account>"). Also shown from the moment the bench read the assigned event.',
    '- Where the time goes: the services\' own latency histograms (`GET /metrics`, scraped at the start of the window and after the wait; the difference), over every event of those topics and outboxes in the window, not only the measured tickets\': the age of a `cs.support.v1` record when escalation-routing\'s group gets it (`kizuna_consumer_record_age`: Kafka, the fetch, a busy process), escalation-routing\'s processing (`kizuna_consumer_process_duration`), its outbox to Kafka (`kizuna_outbox_publish_delay`: from the transaction that wrote the row), the age of a `cs.escalation.v1` record when notification\'s group gets it, notification\'s processing, and the e-mail\'s send (`kizuna_notification_send_duration`: building it and the SMTP exchange with the bench\'s server). The wait between the commit of notification\'s transaction and the send has no histogram. A quantile is the upper bound of the bucket it falls in.',
    `- Whatever is not seen within ${e.waitAfterSendingSec} s after sending stopped counts as slower than any seen ("> wait").`,
    ...(e.withinCapacity
      ? [`- escalation-routing or notification did not keep up with ${n(e.product.eventsPerSecSent)} product events/s (tickets unseen, or more than a second's worth of lag left), so the same ran again (services restarted, groups moved to the end) with ${n(e.withinCapacity.product.eventsPerSecSent)} product events/s (${e.withinCapacity.settings.productRateSource}): the latencies within capacity.`]
      : []),
    '- Targets: the ticket\'s (p99 ≤ 300 ms) is stated at the sustained ingest rate of the ingestion benchmark, so it is checked beside the full product load and only reported within capacity. The e-mail\'s (p99 ≤ 500 ms "in the benchmark") names no load, so it is checked at both. The full load is what /v1/batch sustained alone; beside escalation-routing and notification (which also read every product event) the machine carries a fraction of it, shown as the share of the planned rate, and is saturated for the whole window.',
    '',
    'Commands: `npm run bench -- --only escalation` (measures /v1/batch first for the rate; `--tickets-per-sec`, `--csms`, `--escalation-ingest-share`), `npm run bench:notification` (the same).',
    '',
  ].join('\n');
}

function runSection(r, charts) {
  const lines = [
    '## The whole run: RSS per service, consumer lag over time',
    '',
    `Every second over the whole run (${n(r.timeline?.samples?.length)} samples): the RSS of every process the bench started (summed over a service's processes), and the lag of every consumer group with members (Σ high watermark − committed offset over the platform's topics). The series are in the result JSON (\`timeline\`).`,
    '',
    runTextTable(r, { markdown: true }),
    '',
  ];
  if (charts?.timeline) lines.push(`![Consumer lag and RSS over the run](${charts.timeline})`, '');
  if (charts?.throughput) lines.push(`![Throughput per scenario](${charts.throughput})`, '');
  if (charts) lines.push('Both charts are generated by the bench from this run\'s result (`tools/bench/lib/svg.mjs`).', '');
  return lines.join('\n');
}

// --- every figure of the issue in one table --------------------------------------------------------

/**
 * The figures the benchmark issue asks for, one row each: [figure, measured, target, result, reference
 * (same run), ratio]; the detailed tables above have the how and the why.
 */
export function summaryRows(r) {
  const out = [];
  const { batch, single } = r.scenarios ?? {};
  const ref = r.reference ?? {};
  const kp = ref.kafkaProducerPerf;
  const c = r.checks ?? {};
  const lat = (l) => (l ? `${l.p50 === null ? '> wait' : `${n(l.p50)} ms`} / ${l.p95 === null ? '> wait' : `${n(l.p95)} ms`} / ${l.p99 === null ? '> wait' : `${n(l.p99)} ms`}` : '–');
  if (batch) {
    out.push(['sustained ingest, batched (POST /v1/batch)', `${n(batch.eventsPerSec)} events/s`, `≥ ${n(TARGETS.batchEventsPerSec)} events/s`, passFail(c.batchThroughput && c.batchAcked),
      kp ? `Kafka ProducerPerformance ${n(kp.recordsPerSec)} records/s; bare Fastify ${n(ref.fastifyBatch?.eventsPerSec)} events/s` : `bare Fastify ${n(ref.fastifyBatch?.eventsPerSec)} events/s`,
      `${pct(batch.eventsPerSec, kp?.recordsPerSec)} of Kafka, ${pct(batch.eventsPerSec, ref.fastifyBatch?.eventsPerSec)} of Fastify`]);
  }
  if (single) {
    out.push(['sustained ingest, single (POST /v1/track)', `${n(single.eventsPerSec)} events/s`, `≥ ${n(TARGETS.singleEventsPerSec)} events/s`, passFail(c.singleThroughput && c.singleAcked),
      `bare Fastify ${n(ref.fastifySingle?.eventsPerSec)} requests/s${ref.kafkaFastifySingle ? `; Fastify + Kafka publisher ${n(ref.kafkaFastifySingle.eventsPerSec)} events/s` : ''}`,
      `${pct(single.eventsPerSec, ref.fastifySingle?.eventsPerSec)} of Fastify${ref.kafkaFastifySingle ? `, ${pct(single.eventsPerSec, ref.kafkaFastifySingle.eventsPerSec)} of Fastify + Kafka` : ''}`]);
  }
  const h = r.health;
  if (h?.latency?.atIngestShare) {
    const a = h.latency.atIngestShare;
    out.push([`event → health change p50 / p95 / p99 (${n(a.eventsPerSecSent)} events/s)`, lat(a.latencyMs), `p99 ≤ ${n(TARGETS.health.latencyP99Ms)} ms`, passFail(c.healthLatencyP99),
      `HTTP answer p50 / p99 ${n(a.httpLatencyMs?.p50)} / ${n(a.httpLatencyMs?.p99)} ms`, '']);
  }
  const e = r.escalation;
  if (e) {
    const carried = `${pct(e.product.eventsPerSecSent, e.settings.productEventsPerSec)} of the ${n(e.settings.productEventsPerSec)} events/s planned`;
    out.push([`ticket accepted → escalation assigned p50 / p95 / p99 (${n(e.product.eventsPerSecSent)} product events/s beside: ${carried})`, lat(ticketLatency(e)), `p99 ≤ ${n(TARGETS.escalation.assignedP99Ms)} ms`,
      passFail(c.escalationAssignedP99), `ticket HTTP answer p50 / p99 ${n(e.tickets.httpMs.p50)} / ${n(e.tickets.httpMs.p99)} ms`, '']);
    out.push(['escalation assigned → e-mail accepted by SMTP p50 / p95 / p99 (same load)', lat(e.assignedToEmailMs), `p99 ≤ ${n(TARGETS.escalation.emailP99Ms)} ms`, passFail(c.notificationEmailP99), '', '']);
    const w = e.withinCapacity;
    if (w) {
      out.push([`  within capacity (${n(w.product.eventsPerSecSent)} product events/s): ticket → assigned`, lat(ticketLatency(w)), 'report', '', '', '']);
      out.push(['  within capacity: assigned → e-mail', lat(w.assignedToEmailMs), `p99 ≤ ${n(TARGETS.escalation.emailP99Ms)} ms`, passFail(c.notificationEmailP99WithinCapacity), '', '']);
    }
  }
  if (h?.backfill) {
    const accounts = r.settings?.healthAccounts ?? h.settings?.accounts;
    const t = backfillTargets(accounts);
    const bf = h.backfill;
    const secs = backfillSeconds(bf);
    out.push([`backfill of ${n(accounts)} accounts`, bf.status === 'done' ? `${bf.seconds} s` : `${bf.status}, ~${n(secs)} s extrapolated`, `≤ ${fmtSec(t.seconds)} s${t.scaled ? ' (scaled)' : ''}`, passFail(c.healthBackfill),
      h.copy ? `Postgres COPY of the same rows ${h.copy.seconds} s` : '', h.copy && secs ? `${Math.round((secs / h.copy.seconds) * 10) / 10} × COPY` : '']);
  }
  const rss = Object.entries(r.peakRssMiB ?? {}).filter(([k]) => !REFERENCE_PROCESSES.has(k)).sort();
  const floorRss = r.peakRssMiB?.['hello-kafka'];
  if (rss.length) out.push(['peak RSS per service', rss.map(([k, v]) => `${k} ${n(v)} MiB`).join(', '), 'report', '', `bare Fastify ${n(r.peakRssMiB['hello-fastify'] ?? ref.fastifyPeakRssMiB)} MiB${floorRss ? `; Fastify + Kafka publisher ${n(floorRss)} MiB` : ''}`, '']);
  const lag = lagSummary(r);
  if (Object.keys(lag).length) {
    out.push(['consumer lag over time (max per group; every second in the JSON and the chart)', Object.entries(lag).sort().map(([g, x]) => `${g} ${n(x.max)}`).join(', '), 'report', '', '', '']);
  }
  return out;
}

export const summaryTextTable = (r, opts) => table(['figure', 'measured', 'target', 'result', 'reference (same run)', 'ratio'], summaryRows(r), opts);
