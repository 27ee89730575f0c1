import { verifyZendeskSignature } from '@kizuna/ingestion/domain';
import { ENDPOINTS, type SimMessage } from './model';
import { zendeskEvent } from './stream';
import { DriveError, driveStream, retryAfterMs, type RealTime } from './driver';
import { postRoster, rosterOf } from './roster';
import { simulate } from './simulation';

const START = '2026-05-04T00:00:00.000Z';
const END = '2026-05-14T00:00:00.000Z';

/** Real time that only moves when the driver sleeps (no waiting in tests). */
class FakeTime implements RealTime {
  t = 1_000_000;
  slept: number[] = [];
  now = () => this.t;
  sleep = async (ms: number) => {
    this.slept.push(ms);
    this.t += ms;
  };
}

interface Seen { path: string; body: Record<string, unknown>; at: number; auth: string | null }

/** A scripted ingestion: records each request (and the fake time it came at) and answers via `answer`. */
function fakeIngestion(time: FakeTime, answer: (path: string, body: Record<string, unknown>, n: number) => Response | undefined = () => undefined) {
  const seen: Seen[] = [];
  const doFetch = (async (url: URL | string, init?: RequestInit) => {
    const path = new URL(String(url)).pathname;
    const body = JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown>;
    seen.push({ path, body, at: time.now(), auth: new Headers(init?.headers).get('authorization') });
    const scripted = answer(path, body, seen.length);
    if (scripted) return scripted;
    if (path === '/v1/batch') {
      const n = (body['batch'] as unknown[]).length;
      return Response.json({ success: true, accepted: n, duplicates: 0, pending: 0, rejected: [] });
    }
    return Response.json({ success: true, status: 'published', accountId: 'x', matchedBy: 'account-id' });
  }) as typeof fetch;
  return { seen, doFetch };
}

const seg = (at: string, n: number): SimMessage => ({
  kind: 'segment', at, accountId: 'acme',
  body: { type: 'track', userId: 'u1', event: 'Report Shared', messageId: `m${n}`, timestamp: at, context: { groupId: 'acme' } },
});
const ticket = (at: string, id: string, account = 'acme'): SimMessage => ({
  kind: 'ticket', at, accountId: account,
  body: { id, organizationExternalId: account, channel: 'email', category: 'billing', tags: [], priority: 'normal', subject: 's', status: 'new', createdAt: at, updatedAt: at },
});

describe('simulator driver', () => {
  it('sends the whole stream: Segment calls in /v1/batch requests within the limits, records to their endpoints, with the write key', async () => {
    const time = new FakeTime();
    const { company, stream } = simulate({ seed: 9, accounts: 12, days: 10, start: START });
    const { seen, doFetch } = fakeIngestion(time);
    const summary = await driveStream(stream, {
      ingestionUrl: 'http://ingestion.test', writeKey: 'wk', window: { start: company.start, end: company.end }, compressMs: 0,
      batchSize: 200, fetch: doFetch, time,
    });
    const batches = seen.filter((s) => s.path === '/v1/batch');
    const sentSegments = batches.flatMap((b) => b.body['batch'] as { messageId: string }[]);
    const segments = stream.filter((m) => m.kind === 'segment');
    expect(sentSegments.map((m) => m.messageId)).toEqual(segments.map((m) => (m.kind === 'segment' ? m.body.messageId : '')));
    expect(batches.every((b) => (b.body['batch'] as unknown[]).length <= 200 && JSON.stringify(b.body).length < 400_000)).toBe(true);
    for (const kind of ['ticket', 'call', 'survey', 'subscription'] as const) {
      expect(seen.filter((s) => s.path === ENDPOINTS[kind])).toHaveLength(stream.filter((m) => m.kind === kind).length);
    }
    expect(seen.every((s) => s.auth === `Basic ${Buffer.from('wk:').toString('base64')}`)).toBe(true);
    expect(summary).toMatchObject({ total: stream.length, rejected: 0, retries: 0, segment: { accepted: segments.length, rejected: 0 } });
    expect(summary.sent.segment + summary.sent.ticket + summary.sent.call + summary.sent.survey + summary.sent.subscription).toBe(stream.length);
    expect(summary.records['published']).toBe(stream.length - segments.length);
  });

  it('plays the window step by step: clock, then the day\'s usage, surveys and billing, then support, each settled; then the step is closed', async () => {
    const time = new FakeTime();
    const { seen, doFetch } = fakeIngestion(time);
    const survey: SimMessage = {
      kind: 'survey', at: '2026-05-06T15:00:00.000Z', accountId: 'acme',
      body: { responseId: 'r1', kind: 'nps', score: 2, accountId: 'acme', answeredAt: '2026-05-06T15:00:00.000Z' },
    };
    // On 05-06 the ticket comes first in time, but it goes in after the day's usage and survey.
    const messages = [seg('2026-05-04T01:00:00.000Z', 1), seg('2026-05-04T23:00:00.000Z', 2), ticket('2026-05-06T09:00:00.000Z', 'T1'), survey, seg('2026-05-06T18:00:00.000Z', 3), seg('2026-05-13T12:00:00.000Z', 4)];
    const log: string[] = [];
    const requests = () => seen.map((r) => (r.path === '/v1/batch' ? `batch of ${(r.body['batch'] as unknown[]).length}` : r.path)).join(', ');
    const summary = await driveStream(messages, {
      ingestionUrl: 'http://ingestion.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 120_000, stepMs: 86_400_000, fetch: doFetch, time,
      onStep: async (end) => void log.push(`clock ${end.slice(5, 10)} after ${seen.length}`),
      settle: async () => void log.push(`settle after ${seen.length}`),
      onStepClosed: async (end, closed) => void log.push(`closed ${closed} (${end.slice(5, 10)})`),
    });
    expect(log.slice(0, 12)).toEqual([
      'clock 05-05 after 0', 'settle after 1', 'closed 1 (05-05)', 'settle after 1',
      'clock 05-06 after 1', 'closed 2 (05-06)', 'settle after 1',
      'clock 05-07 after 1', 'settle after 3', 'closed 3 (05-07)', 'settle after 3', 'settle after 4',
    ]);
    expect(requests()).toBe('batch of 2, batch of 1, /v1/surveys, /v1/support/tickets, batch of 1');
    // Ten days, one step each; the step with usage and support closes twice.
    expect(log.filter((l) => l.startsWith('closed'))).toHaveLength(11);
    expect(log.slice(-3)).toEqual(['settle after 5', 'closed 11 (05-14)', 'settle after 5']);
    // No waiting on the real clock: the steps go as fast as the platform settles.
    expect(time.slept).toEqual([]);
    expect(summary).toMatchObject({ total: 6, rejected: 0, maxBehindMs: 0 });
  });

  it('plays the window in the compressed real time: a message from the middle of the window goes out half-way', async () => {
    const time = new FakeTime();
    const t0 = time.t;
    const { seen, doFetch } = fakeIngestion(time);
    const messages = [seg('2026-05-04T01:00:00.000Z', 1), seg('2026-05-09T00:00:00.000Z', 2), ticket('2026-05-13T12:00:00.000Z', 'T1')];
    const progress: string[] = [];
    const summary = await driveStream(messages, {
      ingestionUrl: 'http://ingestion.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 100_000, fetch: doFetch, time,
      progressEveryMs: 1, onProgress: (p) => progress.push(`${p.sent}/${p.total}`),
    });
    // 10 days in 100 s: 1 h is 0.4167 s, day 5 is 50 s, day 9.5 is 95 s; the run lasts the whole 100 s.
    expect(seen.map((s) => Math.round((s.at - t0) / 100) / 10)).toEqual([0.4, 50, 95]);
    expect(summary.elapsedMs).toBe(100_000);
    expect(progress[progress.length - 1]).toBe('3/3');
  });

  it('keeps each account\'s records in order while sending accounts in parallel', async () => {
    const time = new FakeTime();
    const { seen, doFetch } = fakeIngestion(time);
    const at = '2026-05-05T10:00:00.000Z';
    const messages = ['a', 'b', 'c'].flatMap((acc) => [1, 2, 3].map((n) => ticket(at, `${acc}-${n}`, acc)));
    await driveStream(messages, { ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, fetch: doFetch, time, concurrency: 3 });
    for (const acc of ['a', 'b', 'c']) expect(seen.filter((s) => String(s.body['id']).startsWith(acc)).map((s) => s.body['id'])).toEqual([1, 2, 3].map((n) => `${acc}-${n}`));
  });

  it('retries a 503 after its Retry-After, and connection errors with backoff', async () => {
    const time = new FakeTime();
    let failures = 0;
    const { seen, doFetch } = fakeIngestion(time, (_path, _body, n) => {
      if (n === 1) return Response.json({ statusCode: 503, message: 'Kafka did not acknowledge' }, { status: 503, headers: { 'retry-after': '5' } });
      if (n === 2 && failures++ === 0) throw new TypeError('fetch failed: ECONNREFUSED');
      return undefined;
    });
    const summary = await driveStream([seg('2026-05-04T01:00:00.000Z', 1)], {
      ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, fetch: doFetch, time,
    });
    expect(time.slept).toEqual([5000, 500]);
    expect(seen).toHaveLength(3);
    expect(summary).toMatchObject({ retries: 2, rejected: 0, segment: { accepted: 1 } });
  });

  it('gives up after maxAttempts, and stops at once on a refused write key', async () => {
    const time = new FakeTime();
    const busy = fakeIngestion(time, () => new Response('{}', { status: 503, headers: { 'retry-after': '1' } }));
    await expect(
      driveStream([seg('2026-05-04T01:00:00.000Z', 1)], { ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, fetch: busy.doFetch, time, maxAttempts: 3 }),
    ).rejects.toThrow('gave up on /v1/batch after 3 attempts');
    const refused = fakeIngestion(time, () => Response.json({ statusCode: 401, message: 'unknown write key' }, { status: 401 }));
    await expect(
      driveStream([seg('2026-05-04T01:00:00.000Z', 1)], { ingestionUrl: 'http://x.test', writeKey: 'bad', window: { start: START, end: END }, compressMs: 0, fetch: refused.doFetch, time }),
    ).rejects.toThrow(DriveError);
    expect(refused.seen).toHaveLength(1);
  });

  it('reports rejected batch items and refused records with ingestion\'s reason', async () => {
    const time = new FakeTime();
    const { doFetch } = fakeIngestion(time, (path) =>
      path === '/v1/batch'
        ? Response.json({ success: true, accepted: 1, duplicates: 0, pending: 0, rejected: [{ index: 1, reason: 'event: required for track' }] })
        : Response.json({ statusCode: 400, message: ['status must be one of the following values'] }, { status: 400 }),
    );
    const summary = await driveStream([seg('2026-05-04T01:00:00.000Z', 1), seg('2026-05-04T01:00:00.000Z', 2), ticket('2026-05-04T02:00:00.000Z', 'T9')], {
      ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, fetch: doFetch, time,
    });
    expect(summary.rejected).toBe(2);
    expect(summary.rejections).toEqual([
      { kind: 'segment', id: 'm2', status: 200, reason: 'event: required for track' },
      { kind: 'ticket', id: 'T9@2026-05-04T02:00:00.000Z', status: 400, reason: 'status must be one of the following values' },
    ]);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
  });
});

describe('simulator roster', () => {
  const { company } = simulate({ seed: 4, accounts: 30, days: 30, start: START });
  const roster = rosterOf(company);

  it('is plain JSON: the id for the path, the rest for the body', () => {
    expect(roster.csms).toHaveLength(company.csms.length);
    expect(roster.csms[0]?.body).toMatchObject({ name: expect.any(String), email: expect.stringContaining('@'), region: expect.any(String), capacity: expect.any(Number), active: true });
    expect(roster.csms[0]?.body).not.toHaveProperty('id');
    expect(roster.teams.map((t) => t.id)).toEqual(['team-amer', 'team-emea', 'team-apac']);
    expect(JSON.parse(JSON.stringify(roster))).toEqual(roster);
  });

  it('PUTs teams and CSMs, retrying a team refused before its members existed', async () => {
    const calls: string[] = [];
    const csmsSeen = new Set<string>();
    const doFetch = (async (url: URL | string, init?: RequestInit) => {
      const path = new URL(String(url)).pathname;
      calls.push(`${init?.method} ${path}`);
      if (path.startsWith('/v1/csms/')) csmsSeen.add(path.split('/').pop() ?? '');
      const lead = path.startsWith('/v1/teams/') ? (JSON.parse(String(init?.body)) as { leadCsmId: string }).leadCsmId : '';
      if (lead && !csmsSeen.has(lead)) return Response.json({ message: `unknown lead ${lead}` }, { status: 400 });
      return Response.json({ ok: true });
    }) as typeof fetch;
    const result = await postRoster('http://routing.test', roster, { fetch: doFetch });
    expect(result).toEqual({ status: 'posted', csms: company.csms.length, teams: 3, failures: [] });
    expect(calls.filter((c) => c.startsWith('PUT /v1/teams/'))).toHaveLength(6);
  });

  it('skips gracefully when the service has no roster API yet (404)', async () => {
    const doFetch = (async () => Response.json({ statusCode: 404, message: 'Cannot PUT /v1/teams/team-amer' }, { status: 404 })) as typeof fetch;
    const result = await postRoster('http://routing.test', roster, { fetch: doFetch });
    expect(result).toMatchObject({ status: 'skipped', csms: 0, teams: 0 });
    expect(result.reason).toContain('404');
  });
});

describe('simulator driver anchored to a shared clock', () => {
  it('starts the window at the given real instant, so services on the same ScaledClock see the simulated now', async () => {
    const time = new FakeTime();
    const anchor = time.t + 10_000;
    const { seen, doFetch } = fakeIngestion(time);
    await driveStream([seg('2026-05-04T00:00:00.000Z', 1), seg('2026-05-06T00:00:00.000Z', 2)], {
      ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 100_000, realStartMs: anchor, fetch: doFetch, time,
    });
    expect(seen.map((s) => s.at - anchor)).toEqual([0, 20_000]);
  });
});

describe('simulator driver for benchmarks', () => {
  it('paces by throughput when given a rate, whatever the simulated times', async () => {
    const time = new FakeTime();
    const t0 = time.t;
    const { seen, doFetch } = fakeIngestion(time);
    const messages = [1, 2, 3, 4].map((n) => seg(`2026-05-0${4 + n}T00:00:00.000Z`, n));
    const summary = await driveStream(messages, {
      ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 100_000, ratePerSecond: 2, fetch: doFetch, time,
    });
    expect(seen.map((s) => s.at - t0)).toEqual([0, 500, 1000, 1500]);
    expect(summary.elapsedMs).toBe(1500);
  });

  it('sends Segment calls one request each in single mode', async () => {
    const time = new FakeTime();
    const { seen, doFetch } = fakeIngestion(time, (path) => (path === '/v1/track' ? Response.json({ success: true }) : undefined));
    const summary = await driveStream([seg('2026-05-04T01:00:00.000Z', 1), seg('2026-05-04T02:00:00.000Z', 2), ticket('2026-05-04T03:00:00.000Z', 'T1')], {
      ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, segmentMode: 'single', fetch: doFetch, time,
    });
    expect(seen.map((s) => s.path)).toEqual(['/v1/track', '/v1/track', '/v1/support/tickets']);
    expect(summary).toMatchObject({ batches: 0, segment: { accepted: 2, rejected: 0 }, records: { published: 1 }, sent: { segment: 2, ticket: 1 } });
  });
});

describe('simulator driver: Zendesk webhooks', () => {
  const zd = (): SimMessage => ({
    kind: 'zendesk', at: '2026-05-04T03:00:00.000Z', accountId: 'acme',
    body: zendeskEvent({ id: 'acme-T0001', organizationExternalId: 'acme', requesterEmail: 'a@acme.example', channel: 'email', category: 'billing', tags: ['billing'], priority: 'normal', subject: 's', status: 'new', createdAt: '2026-05-04T03:00:00.000Z', updatedAt: '2026-05-04T03:00:00.000Z' }, 1),
  });

  it('signs each webhook the way ingestion verifies it', async () => {
    const time = new FakeTime();
    let verified: unknown;
    const doFetch = (async (_url: URL | string, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      verified = verifyZendeskSignature(['the-signing-secret-123'], h.get('x-zendesk-webhook-signature-timestamp') ?? undefined,
        h.get('x-zendesk-webhook-signature') ?? undefined, Buffer.from(String(init?.body)), new Date(time.now()));
      return Response.json({ success: true, status: 'published' });
    }) as typeof fetch;
    const summary = await driveStream([zd()], { ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, fetch: doFetch, time, zendeskSecret: 'the-signing-secret-123' });
    expect(verified).toEqual({ ok: true });
    expect(summary).toMatchObject({ sent: { zendesk: 1 }, records: { published: 1 }, rejected: 0 });
  });

  it('refuses to start without the signing secret', async () => {
    const time = new FakeTime();
    await expect(driveStream([zd()], { ingestionUrl: 'http://x.test', writeKey: 'wk', window: { start: START, end: END }, compressMs: 0, fetch: fakeIngestion(time).doFetch, time }))
      .rejects.toThrow('zendeskSecret');
  });
});
