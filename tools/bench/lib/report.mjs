// Turns a bench result into checks, a text table for stdout and docs/benchmarks.md.
import { existsSync, readFileSync } from 'node:fs';

export const TARGETS = { batchEventsPerSec: 50000, singleEventsPerSec: 10000, batchSize: 100 };

const n = (x) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const pct = (a, b) => (a && b ? `${Math.round((a / b) * 1000) / 10} %` : '–');
const ms = (l) => (l ? `${l.p50} / ${l.p99} ms` : '–');
const passFail = (ok) => (ok ? 'PASS' : 'FAIL');

/** The rows shown everywhere: [scenario, measured, target, result, reference, ratio]. */
export function rows(r) {
  const { batch, single } = r.scenarios;
  const { fastifyBatch, fastifySingle, kafkaProducerPerf: kp } = r.reference;
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
      `bare Fastify ${n(fastifySingle?.eventsPerSec)} requests/s`,
      `${pct(single.eventsPerSec, fastifySingle?.eventsPerSec)} of Fastify`,
    ]);
    out.push([
      '  acknowledged by Kafka (cs.product.v1 offsets)',
      `+${n(single.kafka?.delta)} messages for ${n(single.acceptedEvents)} accepted`,
      '≥ accepted',
      passFail(r.checks.singleAcked),
      '',
      '',
    ]);
    out.push(['  request latency p50 / p99', ms(single.latencyMs), 'report', '', `bare Fastify ${ms(fastifySingle?.latencyMs)}`, '']);
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

export function markdownDoc(r, foundation) {
  const m = r.machine;
  const s = r.settings;
  const kp = r.reference.kafkaProducerPerf;
  const sample = r.reference.messageSample;
  const lines = [
    '# Benchmarks',
    '',
    '## Ingestion service (`npm run bench`)',
    '',
    `Generated by \`${r.command}\` on ${r.startedAt.slice(0, 10)} at commit \`${r.revision?.commit ?? '?'}\`` +
      `${r.revision?.uncommittedFilesInAppsLibs ? ` (+ uncommitted changes in ${r.revision.uncommittedFilesInAppsLibs} files under apps/, libs/)` : ''}` +
      ` (${r.mode} run, ${s.durationSec} s per scenario after ${s.warmupSec} s warm-up)` +
      `${r.profiled ? ', **with the CPU profiler on: figures are lower than normal**' : ''}.`,
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memGiB} GiB RAM, ${m.os}; Node ${m.node}, Java ${m.java}, Kafka ${m.kafkaVersion}, Postgres ${m.postgres}.`,
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
    `- Each request carries fresh \`messageId\`s (\`<run id>-<n>\`) and an account (\`context.groupId\`); a batch holds ${s.batchSize} track events` +
      ` (${n(r.scenarios.batch?.requestBytes)} bytes per request, ${n(r.scenarios.single?.requestBytes)} bytes per single event).`,
    '- Accepted = events in 2xx answers (the service answers only after Kafka acknowledged); checked again at the end of each scenario:' +
      ' the high watermarks of `cs.product.v1` must have grown by at least the accepted count.',
    `- Latency is per HTTP request (autocannon, ${s.batchConnections} connections for batches, ${s.singleConnections} for single events, no pipelining). RSS: peak \`VmRSS\` of the service (summed over its processes when it runs cluster workers), sampled every 200 ms.`,
    `- References, same run, same load generator: a bare Fastify server (\`tools/bench/hello-fastify.mjs\`: parse JSON, answer \`{"success":true}\`) with the same bodies;` +
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
  if (foundation) lines.push(foundation, '');
  return lines.join('\n');
}
