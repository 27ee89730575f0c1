import { ScaledClock } from '@kizuna/shared/contracts';
import { signZendesk } from '@kizuna/ingestion/domain';
import { ENDPOINTS, type SimKind, type SimMessage } from './model';

/** Real time, injectable (tests drive the driver without waiting). */
export interface RealTime {
  now(): number;
  sleep(ms: number): Promise<void>;
}
export const systemTime: RealTime = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface DriveOptions {
  /** Ingestion's base URL, e.g. http://127.0.0.1:3001. */
  ingestionUrl: string;
  /** A source's write key (HTTP Basic username). */
  writeKey: string;
  /** The simulated window the stream covers. */
  window: { start: string; end: string };
  /** Real time the whole window takes (e.g. 120000 plays 90 days in two minutes); 0 sends as fast as possible. */
  compressMs: number;
  /**
   * Real instant (ms) at which the window starts; default: when driveStream is called. Give the
   * same anchor to services running on a ScaledClock so their "now" follows the simulated time.
   */
  realStartMs?: number;
  /**
   * Pace by throughput instead of simulated time (benchmarks): message i goes out at i / rate
   * seconds after the start, whatever its simulated time; `compressMs` is then ignored.
   */
  ratePerSecond?: number;
  /**
   * Plays the window in steps of this much simulated time instead of on the real clock (compressMs,
   * realStartMs and ratePerSecond are then ignored). Each step:
   *
   * 1. `onStep` gets the step's end (e.g. to move the services' clock there, and wait until they read it);
   * 2. the step's messages go in two stages, `settle` awaited after each non-empty one (e.g. until
   *    the services have consumed them and what they caused): first what health and lifecycle judge
   *    an account by (Segment calls: usage, accounts, users; surveys; billing changes), then tickets
   *    and calls. A support contact is thus judged on the day's health and phase, whichever topic a
   *    service happens to read first;
   * 3. after each non-empty stage (once for a step without messages), `onStepClosed` gets the step's
   *    end and the count of stages closed so far (e.g. to let the services' time-driven work run:
   *    sweeps, ticks, a deferred scoring); `settle` is awaited.
   *
   * However slow the machine, the services' "now" never runs ahead of what they have consumed, and
   * every effect happens at the same point of the play, so the same stream gives the same outcome.
   */
  stepMs?: number;
  onStep?: (simulatedEnd: string) => Promise<void>;
  onStepClosed?: (simulatedEnd: string, stepsClosed: number) => Promise<void>;
  settle?: () => Promise<void>;
  /** The source's Zendesk webhook signing secret (needed when the stream has Zendesk webhooks). */
  zendeskSecret?: string;
  /** The receiving service's "now" for the signature timestamp (default: real time). */
  zendeskNow?: () => Date;
  /** 'batch' (default): Segment calls in /v1/batch requests; 'single': one /v1/<type> request each. */
  segmentMode?: 'batch' | 'single';
  /** At most this many Segment calls per /v1/batch request (ingestion allows 2,500). */
  batchSize?: number;
  /** At most this many bytes per /v1/batch body (ingestion allows 500 KB). */
  batchBytes?: number;
  /** Accounts whose support/survey/billing records are sent in parallel (each account's in order). */
  concurrency?: number;
  /** Attempts per request on 503/429/connection errors before giving up. */
  maxAttempts?: number;
  /** Longest wait between attempts, whatever Retry-After says. */
  maxRetryWaitMs?: number;
  progressEveryMs?: number;
  onProgress?: (p: DriveProgress) => void;
  fetch?: typeof fetch;
  time?: RealTime;
}

export interface DriveProgress {
  /** Simulated time of the newest message sent. */
  simulatedAt: string;
  sent: number;
  total: number;
  /** Messages per second of real time so far. */
  rate: number;
  retries: number;
  rejected: number;
  /** How far the sending is behind the compressed schedule (ms of real time; 0 when on time). */
  behindMs: number;
}

export interface Rejection {
  kind: SimKind;
  id: string;
  status: number;
  reason: string;
}

export interface DriveSummary {
  window: { start: string; end: string };
  compressMs: number;
  elapsedMs: number;
  total: number;
  sent: Record<SimKind, number>;
  requests: number;
  batches: number;
  retries: number;
  /** /v1/batch answers, summed. */
  segment: { accepted: number; duplicates: number; pending: number; rejected: number };
  /** Support, survey and billing answers by status (published, duplicate, unmatched, superseded). */
  records: Record<string, number>;
  rejected: number;
  /** The first rejections, with ingestion's reason. */
  rejections: Rejection[];
  /** Messages per second of real time. */
  rate: number;
  /** Worst lag behind the compressed schedule (ms of real time; 0 when sending as fast as possible). */
  maxBehindMs: number;
}

export class DriveError extends Error {}

const KINDS: SimKind[] = ['segment', 'ticket', 'zendesk', 'call', 'survey', 'subscription'];
/** The order of a step's messages in a stepped play (see DriveOptions.stepMs). */
const STEP_STAGES: SimKind[][] = [['segment', 'survey', 'subscription'], ['ticket', 'zendesk', 'call']];
const recordId = (m: SimMessage): string => {
  switch (m.kind) {
    case 'segment': return m.body.messageId;
    case 'ticket': return `${m.body.id}@${m.body.updatedAt}`;
    case 'call': return m.body.contactId;
    case 'survey': return m.body.responseId;
    case 'subscription': return m.body.changeId;
    case 'zendesk': return m.body.id;
  }
};

/**
 * Sends a simulated stream to a running ingestion over HTTP, in simulated time: with
 * `compressMs` the window plays in that much real time (message timestamps stay the simulated
 * ones, so the platform sees the simulated dates). Segment calls go in /v1/batch requests in
 * stream order; tickets, calls, surveys and subscription changes to their endpoints, each
 * account's in order. 503 and 429 are retried after Retry-After; a 401 stops the run.
 */
export async function driveStream(messages: readonly SimMessage[], options: DriveOptions): Promise<DriveSummary> {
  const time = options.time ?? systemTime;
  const doFetch = options.fetch ?? fetch;
  const batchSize = Math.min(options.batchSize ?? 500, 2500);
  const batchBytes = Math.min(options.batchBytes ?? 400_000, 500 * 1024);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 10);
  const maxRetryWaitMs = options.maxRetryWaitMs ?? 30_000;
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const start = Date.parse(options.window.start);
  const windowMs = Date.parse(options.window.end) - start;
  const began = time.now();
  const t0 = options.realStartMs ?? began;
  const summary: DriveSummary = {
    window: options.window, compressMs: options.compressMs, elapsedMs: 0, total: messages.length,
    sent: { segment: 0, ticket: 0, zendesk: 0, call: 0, survey: 0, subscription: 0 }, requests: 0, batches: 0, retries: 0,
    segment: { accepted: 0, duplicates: 0, pending: 0, rejected: 0 }, records: {}, rejected: 0, rejections: [], rate: 0, maxBehindMs: 0,
  };
  let sentCount = 0;
  let lastAt = options.window.start;
  let lastProgress = began;
  /** Real time at which a simulated instant is due (the inverse of the ScaledClock the window plays on). */
  const clock = options.compressMs > 0 ? new ScaledClock(options.window.start, t0, windowMs / options.compressMs, time.now) : undefined;
  const dueAt = (simMs: number) => (clock ? clock.realTimeOf(new Date(simMs)) : t0);
  const rate = options.ratePerSecond && options.ratePerSecond > 0 ? options.ratePerSecond : undefined;
  /** Real time at which message i is due. */
  const dueOf = (i: number) => (rate ? t0 + (i * 1000) / rate : dueAt(Date.parse((messages[i] as SimMessage).at)));
  const single = options.segmentMode === 'single';
  const behind = () => (options.stepMs === undefined && (rate || clock) ? Math.max(0, time.now() - dueOf(Math.max(0, sentCount - 1))) : 0);
  const progress = (force = false) => {
    const now = time.now();
    if (!options.onProgress || (!force && now - lastProgress < (options.progressEveryMs ?? 2000))) return;
    lastProgress = now;
    options.onProgress({
      simulatedAt: lastAt, sent: sentCount, total: messages.length, rate: sentCount / Math.max(0.001, (now - began) / 1000),
      retries: summary.retries, rejected: summary.rejected, behindMs: behind(),
    });
  };
  const zendeskHeaders = (raw: string): Record<string, string> => {
    const ts = (options.zendeskNow ?? (() => new Date(time.now())))().toISOString();
    return { 'x-zendesk-webhook-signature-timestamp': ts, 'x-zendesk-webhook-signature': signZendesk(options.zendeskSecret ?? '', ts, raw) };
  };
  if (!options.zendeskSecret && messages.some((m) => m.kind === 'zendesk')) {
    throw new DriveError('the stream has Zendesk webhooks: give the source\'s webhook signing secret (zendeskSecret)');
  }
  const reject = (m: SimMessage, status: number, reason: string) => {
    summary.rejected++;
    if (summary.rejections.length < 50) summary.rejections.push({ kind: m.kind, id: recordId(m), status, reason });
  };

  /** POST with retries; returns the final status and parsed body. */
  const post = async (path: string, body: string, extraHeaders: () => Record<string, string> = () => ({})): Promise<{ status: number; json: Record<string, unknown> }> => {
    for (let attempt = 1; ; attempt++) {
      let wait: number;
      let why: string;
      try {
        summary.requests++;
        const res = await doFetch(new URL(path, options.ingestionUrl), { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth, ...extraHeaders() }, body });
        const text = await res.text();
        if (res.status !== 503 && res.status !== 429) {
          if (res.status === 401) throw new DriveError(`ingestion refused the write key (401 on ${path}): ${text.slice(0, 300)}`);
          return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
        }
        wait = retryAfterMs(res.headers.get('retry-after'), time.now()) ?? backoff(attempt);
        why = `${res.status} ${text.slice(0, 200)}`;
      } catch (e) {
        if (e instanceof DriveError) throw e;
        wait = backoff(attempt);
        why = (e as Error).message;
      }
      if (attempt >= maxAttempts) throw new DriveError(`gave up on ${path} after ${attempt} attempts: ${why}`);
      summary.retries++;
      await time.sleep(Math.min(wait, maxRetryWaitMs));
    }
  };

  const sendBatch = async (batch: SimMessage[]) => {
    summary.batches++;
    const { status, json } = await post(ENDPOINTS.segment, JSON.stringify({ batch: batch.map((m) => m.body) }));
    const rejected = Array.isArray(json['rejected']) ? (json['rejected'] as { index: number; reason: string }[]) : [];
    if (status === 200) {
      summary.segment.accepted += Number(json['accepted'] ?? 0);
      summary.segment.duplicates += Number(json['duplicates'] ?? 0);
      summary.segment.pending += Number(json['pending'] ?? 0);
    } else if (rejected.length === 0) {
      for (const m of batch) reject(m, status, String(json['message'] ?? `HTTP ${status}`));
    }
    for (const r of rejected) {
      const m = batch[r.index];
      if (m) reject(m, status, r.reason);
    }
    summary.segment.rejected += status === 200 ? rejected.length : batch.length;
    summary.sent.segment += batch.length;
  };

  const sendRecord = async (m: SimMessage) => {
    const raw = JSON.stringify(m.body);
    const { status, json } = await post(m.kind === 'segment' ? `/v1/${m.body.type}` : ENDPOINTS[m.kind], raw, m.kind === 'zendesk' ? () => zendeskHeaders(raw) : undefined);
    summary.sent[m.kind]++;
    if (m.kind === 'segment') {
      if (status === 200) summary.segment.accepted++;
      else summary.segment.rejected++;
    }
    if (status >= 200 && status < 300) {
      if (m.kind === 'segment') return;
      const s = String(json['status'] ?? 'published');
      summary.records[s] = (summary.records[s] ?? 0) + 1;
    } else {
      const msg = json['message'];
      reject(m, status, Array.isArray(msg) ? msg.join('; ') : String(msg ?? `HTTP ${status}`));
    }
  };

  const sendSlice = async (slice: readonly SimMessage[]) => {
    // Segment calls first, in order, in batches; then the records, each account's in order
    // (in 'single' mode the Segment calls go with the records, one request each).
    let batch: SimMessage[] = [];
    let bytes = 0;
    for (const m of slice) {
      if (m.kind !== 'segment' || single) continue;
      const size = JSON.stringify(m.body).length + 1;
      if (batch.length > 0 && (batch.length >= batchSize || bytes + size > batchBytes - 64)) {
        await sendBatch(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(m);
      bytes += size;
    }
    if (batch.length > 0) await sendBatch(batch);
    const byAccount = new Map<string, SimMessage[]>();
    for (const m of slice) {
      if (m.kind === 'segment' && !single) continue;
      const list = byAccount.get(m.accountId) ?? [];
      list.push(m);
      byAccount.set(m.accountId, list);
    }
    const queues = [...byAccount.values()];
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queues.length) }, async () => {
        for (let q = queues.shift(); q; q = queues.shift()) for (const m of q) await sendRecord(m);
      }),
    );
  };

  const SLICE = 5000;
  let i = 0;
  if (options.stepMs !== undefined) {
    if (!(options.stepMs > 0)) throw new DriveError('stepMs: must be > 0');
    const end = Date.parse(options.window.end);
    let closed = 0;
    for (let stepEnd = start + options.stepMs; ; stepEnd = Math.min(end, stepEnd + options.stepMs)) {
      const at = new Date(stepEnd).toISOString();
      await options.onStep?.(at);
      let j = i;
      while (j < messages.length && Date.parse((messages[j] as SimMessage).at) < stepEnd) j++;
      const close = async () => {
        await options.onStepClosed?.(at, ++closed);
        if (options.onStepClosed) await options.settle?.();
      };
      let staged = 0;
      for (const stage of STEP_STAGES) {
        const batch = messages.slice(i, j).filter((m) => stage.includes(m.kind));
        if (batch.length === 0) continue;
        for (let k = 0; k < batch.length; k += SLICE) await sendSlice(batch.slice(k, k + SLICE));
        await options.settle?.();
        await close();
        staged++;
      }
      if (staged === 0) await close();
      if (j > i) lastAt = (messages[j - 1] as SimMessage).at;
      i = j;
      sentCount = i;
      progress();
      if (stepEnd >= end) break;
    }
  }
  while (i < messages.length) {
    const now = time.now();
    let j = i;
    while (j < messages.length && j - i < SLICE && dueOf(j) <= now) j++;
    if (j === i) {
      const next = dueOf(i);
      await time.sleep(Math.max(1, Math.min(next - now, 250)));
      progress();
      continue;
    }
    const slice = messages.slice(i, j);
    await sendSlice(slice);
    i = j;
    sentCount = i;
    lastAt = (slice[slice.length - 1] as SimMessage).at;
    summary.maxBehindMs = Math.max(summary.maxBehindMs, behind());
    progress();
  }
  // Wait out the rest of the window, so a compressed run takes the time asked for.
  if (clock && !rate && options.stepMs === undefined) {
    const endAt = dueAt(Date.parse(options.window.end));
    while (time.now() < endAt) await time.sleep(Math.min(250, endAt - time.now()));
  }
  progress(true);
  summary.elapsedMs = time.now() - began;
  summary.rate = messages.length / Math.max(0.001, summary.elapsedMs / 1000);
  for (const k of KINDS) summary.sent[k] ??= 0;
  return summary;
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

const backoff = (attempt: number) => Math.min(5000, 250 * 2 ** (attempt - 1));

/** Creates a source through ingestion's admin API; returns its id and write key (shown once). */
export async function createSource(
  ingestionUrl: string,
  adminToken: string,
  name: string,
  doFetch: typeof fetch = fetch,
): Promise<{ sourceId: string; writeKey: string }> {
  const res = await doFetch(new URL('/v1/admin/sources', ingestionUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ name }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new DriveError(`creating source "${name}" failed: ${res.status} ${text.slice(0, 300)}`);
  const json = JSON.parse(text) as { source: { id: string }; writeKey: string };
  return { sourceId: json.source.id, writeKey: json.writeKey };
}

/** Sets a source's webhook signing secret (Zendesk) through ingestion's admin API. */
export async function setWebhookSecret(ingestionUrl: string, adminToken: string, sourceId: string, secret: string, doFetch: typeof fetch = fetch): Promise<void> {
  const res = await doFetch(new URL(`/v1/admin/sources/${encodeURIComponent(sourceId)}/webhook-secret`, ingestionUrl), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ secret }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new DriveError(`setting the webhook secret of source ${sourceId} failed: ${res.status} ${text.slice(0, 300)}`);
}

/** Counts of a stream by kind (and Segment calls by type), for summaries and dry runs. */
export function streamCounts(messages: readonly SimMessage[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of messages) {
    const k = m.kind === 'segment' ? `segment.${m.body.type}` : m.kind;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}
