// The load generator: autocannon with a fresh body (fresh messageIds) for every request.
import { createRequire } from 'node:module';
import { feedTrack } from './feed.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/**
 * Segment track calls of the simulator's company (see feed.mjs), each with a unique messageId
 * (`<runId>-<n>`: the service dedups per messageId for 24 h, so a body must never be sent twice)
 * and its account (context.groupId).
 */
export function eventFactory(runId, feed) {
  let n = 0;
  return () => {
    n++;
    return feedTrack(feed, n, `${runId}-${n}`);
  };
}

export const batchBody = (nextEvent, size) => () => JSON.stringify({ batch: Array.from({ length: size }, nextEvent) });
export const singleBody = (nextEvent) => () => JSON.stringify(nextEvent());

/**
 * Runs one load scenario. `eventsPerRequest` converts 2xx responses into events when the
 * response does not say how many it accepted (single calls, the bare Fastify reference).
 */
export async function runLoad({ url, path, connections, durationSec, body, eventsPerRequest, writeKey }) {
  const tally = { acceptedEvents: 0, duplicateEvents: 0, ok: 0, non2xx: 0, statusCodes: {}, errorSamples: [] };
  const onResponse = (status, text) => {
    tally.statusCodes[status] = (tally.statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      tally.ok++;
      const counts = parseCounts(text);
      tally.acceptedEvents += counts?.accepted ?? eventsPerRequest;
      tally.duplicateEvents += counts?.duplicates ?? 0;
    } else {
      tally.non2xx++;
      if (tally.errorSamples.length < 5) tally.errorSamples.push(`${status} ${String(text).slice(0, 500)}`);
    }
  };
  const result = await autocannon({
    url,
    connections,
    duration: durationSec,
    pipelining: 1,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          ...(writeKey ? { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` } : {}),
        },
        setupRequest: (req) => ({ ...req, body: body() }),
        onResponse,
      },
    ],
  });
  const seconds = (result.finish - result.start) / 1000;
  return {
    path,
    connections,
    durationSec: round(seconds, 2),
    requests: result.requests.total,
    ok: tally.ok,
    non2xx: tally.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: tally.statusCodes,
    errorSamples: tally.errorSamples,
    acceptedEvents: tally.acceptedEvents,
    duplicateEvents: tally.duplicateEvents,
    eventsPerSec: Math.round(tally.acceptedEvents / seconds),
    requestsPerSec: Math.round(tally.ok / seconds),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: round(result.latency.average, 2),
    },
    requestBytes: Buffer.byteLength(body()),
  };
}

function parseCounts(text) {
  if (!text || !text.includes('"accepted"')) return undefined;
  try {
    const j = JSON.parse(text);
    return typeof j.accepted === 'number' ? { accepted: j.accepted, duplicates: j.duplicates ?? 0 } : undefined;
  } catch {
    return undefined;
  }
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;
