#!/usr/bin/env node
// `npm run trace -- <traceId|accountId> [--dir .kizuna/traces] [--last N]`
// Prints span trees from the trace files the services write when KIZUNA_TRACE_DIR is set (`npm start`
// sets it): one trace by its id, or the newest traces that touched an account. Links (a batch span
// that carried several events) are followed, so one event's path across the services reads as one tree.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { dir: { type: 'string', default: process.env.KIZUNA_TRACE_DIR ?? '.kizuna/traces' }, last: { type: 'string', default: '5' } },
});
const [query] = positionals;
if (!query) {
  console.error('Usage: npm run trace -- <traceId|accountId> [--dir <dir>] [--last <n>]');
  process.exit(2);
}
const dir = resolve(values.dir);
if (!existsSync(dir)) {
  console.error(`No trace files in ${dir}: start the services with KIZUNA_TRACE_DIR set (npm start does).`);
  process.exit(1);
}

/** @type {Map<string, any[]>} spans by trace id */
const traces = new Map();
for (const f of readdirSync(dir).filter((n) => n.endsWith('.ndjson'))) {
  for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let s;
    try {
      s = JSON.parse(line);
    } catch {
      continue; // a line being written
    }
    const list = traces.get(s.traceId) ?? [];
    list.push(s);
    traces.set(s.traceId, list);
  }
}

const KIND = ['internal', 'server', 'client', 'producer', 'consumer'];
const SHOWN = ['kizuna.account_id', 'kizuna.event_type', 'kizuna.outcome', 'kizuna.rule', 'kizuna.escalation_id', 'kizuna.band_before', 'kizuna.band_after', 'messaging.destination.name', 'messaging.batch.message_count', 'http.route', 'http.response.status_code', 'db.operation.name'];

function startOf(spans) {
  return Math.min(...spans.map((s) => s.start));
}

/** Trace ids to print: the one asked for, else the newest that name the account (directly or by link). */
function selected() {
  if (/^[0-9a-f]{32}$/.test(query)) return traces.has(query) ? [query] : [];
  const hits = [...traces.entries()].filter(([, spans]) => spans.some((s) => s.attributes['kizuna.account_id'] === query || s.attributes['messaging.kafka.message.key'] === query));
  return hits.sort((a, b) => startOf(b[1]) - startOf(a[1])).slice(0, Number(values.last)).map(([id]) => id);
}

/** Traces that continue this one through links (batch spans linked to one of its spans). */
function linkedFrom(traceId) {
  const ids = new Set(traces.get(traceId)?.map((s) => s.spanId));
  const out = [];
  for (const [id, spans] of traces) {
    if (id === traceId) continue;
    for (const s of spans) if (s.links?.some((l) => l.traceId === traceId && ids.has(l.spanId))) out.push({ traceId: id, span: s });
  }
  return out;
}

function printTrace(traceId, indent = '', seen = new Set()) {
  if (seen.has(traceId)) return;
  seen.add(traceId);
  const spans = traces.get(traceId) ?? [];
  const t0 = startOf(spans);
  const byParent = new Map();
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans) {
    const p = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : 'root';
    byParent.set(p, [...(byParent.get(p) ?? []), s]);
  }
  const services = [...new Set(spans.map((s) => s.service))];
  console.log(`${indent}trace ${traceId}  (${spans.length} spans; ${services.join(', ')})`);
  const walk = (parent, depth) => {
    for (const s of (byParent.get(parent) ?? []).sort((a, b) => a.start - b.start)) {
      const attrs = SHOWN.filter((k) => s.attributes[k] !== undefined).map((k) => `${k.replace(/^(kizuna|messaging|http|db)\./, '')}=${s.attributes[k]}`);
      const err = s.status === 2 ? `  ERROR ${s.statusMessage ?? ''}` : '';
      const offset = ((s.start - t0) / 1000).toFixed(1);
      const dur = (s.durationUs / 1000).toFixed(1);
      console.log(`${indent}${'  '.repeat(depth + 1)}+${offset} ms ${dur} ms  [${s.service}] ${KIND[s.kind] ?? s.kind} ${s.name}  ${attrs.join(' ')}${err}`);
      if (s.links?.length) console.log(`${indent}${'  '.repeat(depth + 2)}links: ${s.links.map((l) => `${l.traceId.slice(0, 8)}…/${l.spanId}`).join(', ')}`);
      walk(s.spanId, depth + 1);
    }
  };
  walk('root', 0);
  for (const { traceId: next, span } of linkedFrom(traceId)) {
    console.log(`${indent}  ↳ continued in a batch (${span.service} ${span.name}, ${span.attributes['messaging.batch.message_count'] ?? '?'} events):`);
    printTrace(next, `${indent}    `, seen);
  }
}

const ids = selected();
if (ids.length === 0) {
  console.error(`No trace found for ${query} in ${dir}.`);
  process.exit(1);
}
for (const id of ids) {
  printTrace(id);
  console.log('');
}
