import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { ManualClock, Topics, type CloudEvent } from '@kizuna/shared/contracts';
import { TopicRecorder, testKafka, waitFor } from '@kizuna/shared/testing';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';

const ADMIN = 'integration-admin-token-0123456789';

type CallType = 'identify' | 'group' | 'track';
/** Where each SDK call must land, once. */
const LANDS_ON: Record<CallType, { topic: string; type: string }> = {
  identify: { topic: Topics.directory, type: 'cs.directory.user.identified.v1' },
  group: { topic: Topics.directory, type: 'cs.directory.account.updated.v1' },
  track: { topic: Topics.product, type: 'cs.product.track.v1' },
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const portOf = (address: string | AddressInfo | null): number => {
  if (!address || typeof address === 'string') throw new Error(`not listening on a TCP port: ${String(address)}`);
  return address.port;
};

/** One request the SDK made, what the service answered, and what the SDK was told. */
interface Exchange {
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON body (gunzipped when Content-Encoding: gzip); undefined when it is not JSON. */
  body: unknown;
  messages: { type: string; messageId: string }[];
  upstream: { status: number; body: string };
  /** The status the SDK received (500 when this request was chosen to fail after forwarding). */
  answered: number;
}

function decodeBody(raw: Buffer, encoding: string | undefined): unknown {
  try {
    return JSON.parse((encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'));
  } catch {
    return undefined;
  }
}

function wireMessages(body: unknown): { type: string; messageId: string }[] {
  const items: unknown[] = isRecord(body) && Array.isArray(body['batch']) ? body['batch'] : [body];
  return items.flatMap((m) =>
    isRecord(m) && typeof m['type'] === 'string' && typeof m['messageId'] === 'string' ? [{ type: m['type'], messageId: m['messageId'] }] : [],
  );
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/**
 * A real HTTP proxy between an SDK and ingestion: records every request (decoded) and the service's
 * answer, and can lose the answer of the first `failFirst` requests (they ARE forwarded and stored,
 * but the SDK gets a 500), so the SDK retries a batch the service already has.
 */
class RecordingProxy {
  readonly exchanges: Exchange[] = [];
  private failuresLeft: number;
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res).catch((e: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${(e as Error).message}`);
    });
  });

  constructor(
    private readonly upstream: string,
    { failFirst = 0 }: { failFirst?: number } = {},
  ) {
    this.failuresLeft = failFirst;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${portOf(this.server.address())}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The distinct messages the SDK put on the wire: messageId -> type. */
  sent(): Map<string, string> {
    return new Map(this.exchanges.flatMap((e) => e.messages.map((m) => [m.messageId, m.type] as const)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const fail = this.failuresLeft > 0;
    if (fail) this.failuresLeft--;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const response = await fetch(new URL(req.url ?? '/', this.upstream), {
      method: req.method ?? 'POST',
      headers,
      ...(raw.length ? { body: raw } : {}),
    });
    const upstreamBody = await response.text();
    const encoding = req.headers['content-encoding'];
    const body = decodeBody(raw, typeof encoding === 'string' ? encoding : undefined);
    this.exchanges.push({
      path: req.url ?? '',
      headers: req.headers,
      body,
      messages: wireMessages(body),
      upstream: { status: response.status, body: upstreamBody },
      answered: fail ? 500 : response.status,
    });
    res.writeHead(fail ? 500 : response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' });
    res.end(fail ? JSON.stringify({ statusCode: 500, message: 'test proxy: the answer was lost after the service stored the batch' }) : upstreamBody);
  }
}

/** An SDK failure in one line (Axios errors carry the response; Segment's carry a reason). */
function summarise(e: unknown): string {
  if (isRecord(e) && isRecord(e['response'])) {
    return `${String(e['message'])}: ${JSON.stringify(e['response']['data'])}`;
  }
  if (isRecord(e) && 'reason' in e) return `${String(e['code'])}: ${String(e['reason'])}`;
  return e instanceof Error ? e.message : JSON.stringify(e);
}

/**
 * The official Segment and RudderStack Node SDKs, pointed at ingestion listening on a real port
 * (through a recording proxy), against the real broker and Postgres: every call they make lands on
 * its topic exactly once, keyed by the account, through their batching and their retries.
 */
describe('ingestion: the official Segment and RudderStack Node SDKs', () => {
  const clock = new ManualClock('2026-06-01T09:00:00.000Z');
  const kafka = testKafka();
  const proxies: RecordingProxy[] = [];
  let app: NestFastifyApplication;
  let recorder: TopicRecorder;
  let baseUrl = '';
  let writeKey = '';

  beforeAll(async () => {
    app = await createIngestionTestApp({
      clock,
      env: { INGESTION_ADMIN_TOKEN: ADMIN, INGESTION_KEY_CACHE_TTL_MS: '0', INGESTION_PENDING_WINDOW_MS: '3600000' },
    });
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${portOf(app.getHttpServer().address())}`;
    const res = await fetch(`${baseUrl}/v1/admin/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sdk clients' }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { writeKey: string; source: { id: string } };
    writeKey = created.writeKey;
    const sourceId = created.source.id;
    recorder = await new TopicRecorder(kafka, [Topics.product, Topics.directory, Topics.ingestRejected], (m) =>
      (m.value ?? '').includes(sourceId),
    ).start();
  });

  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await recorder?.stop();
    await app?.close();
  });

  async function proxy(options: { failFirst?: number } = {}): Promise<{ proxy: RecordingProxy; url: string }> {
    const p = new RecordingProxy(baseUrl, options);
    proxies.push(p);
    return { proxy: p, url: await p.start() };
  }

  const ids = () => {
    const tag = randomUUID();
    return { user: `sdk-user-${tag}`, account: `acc-sdk-${tag}` };
  };

  /** Every recorded Kafka message carrying this client messageId: where it landed and under which key. */
  function landings(messageId: string) {
    return recorder.messages.flatMap((m) => {
      const e = JSON.parse(m.value ?? '{}') as CloudEvent;
      return isRecord(e.data) && e.data['messageId'] === messageId ? [{ topic: m.topic, type: e.type, key: m.key }] : [];
    });
  }

  /**
   * Asserts each message the SDK sent landed exactly once, on its topic, keyed by the account.
   * Markers published after the SDK finished, with the same key (so the same partition), prove the
   * recorder has read everything that came before them: no duplicate can still be on its way.
   */
  async function expectEachOnce(sent: Map<string, string>, account: string): Promise<void> {
    const marker = { user: `marker-${randomUUID()}`, group: `m-group-${randomUUID()}`, track: `m-track-${randomUUID()}` };
    const res = await fetch(`${baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          { type: 'group', userId: marker.user, groupId: account, messageId: marker.group },
          { type: 'track', userId: marker.user, event: 'Marker', messageId: marker.track, context: { groupId: account } },
        ],
      }),
    });
    expect(res.status).toBe(200);
    await waitFor('the markers behind the SDK calls', () => landings(marker.group).length === 1 && landings(marker.track).length === 1);
    const actual = Object.fromEntries([...sent.keys()].map((id) => [id, landings(id)]));
    const expected = Object.fromEntries(
      [...sent].map(([id, type]) => [id, [{ ...LANDS_ON[type as CallType], key: account }]]),
    );
    expect(actual).toEqual(expected);
  }

  const bodiesOf = (p: RecordingProxy) =>
    p.exchanges.map((e) => ({ path: e.path, messages: e.messages.map((m) => m.type), status: e.upstream.status, answer: e.upstream.body }));

  /**
   * Exactly one request lost its answer after the service stored it, and the SDK sent that same
   * batch (same messageIds) once more, which the service answered 200 counting them all as duplicates.
   */
  function expectLostAnswerRetried(p: RecordingProxy): Exchange {
    const lost = p.exchanges.filter((e) => e.answered === 500);
    expect(lost).toHaveLength(1);
    const [first] = lost;
    if (!first) throw new Error('no request lost its answer');
    const n = first.messages.length;
    expect(first.upstream.status).toBe(200);
    expect(JSON.parse(first.upstream.body)).toMatchObject({ accepted: n, duplicates: 0 });
    const idsOf = (e: Exchange) => e.messages.map((m) => m.messageId).join(',');
    const retries = p.exchanges.filter((e) => e !== first && idsOf(e) === idsOf(first));
    expect(retries.map((r) => ({ answered: r.answered, answer: JSON.parse(r.upstream.body) as unknown }))).toMatchObject([
      { answered: 200, answer: { success: true, accepted: 0, duplicates: n } },
    ]);
    const [retry] = retries;
    if (!retry) throw new Error('the lost batch was not retried');
    return retry;
  }

  describe('@segment/analytics-node', () => {
    function segmentClient(host: string, flushAt = 3) {
      const analytics = new SegmentAnalytics({ writeKey, host, flushAt, flushInterval: 20, maxRetries: 3, httpRequestTimeout: 10_000 });
      const errors: string[] = [];
      analytics.on('error', (e) => errors.push(summarise(e)));
      return { analytics, errors };
    }

    it('delivers identify, group and track calls, batched, each exactly once on its topic keyed by the account', async () => {
      const { user, account } = ids();
      const { proxy: p, url } = await proxy();
      const { analytics, errors } = segmentClient(url);
      analytics.identify({ userId: user, traits: { email: `${user}@example.com`, name: 'Ada' }, context: { groupId: account } });
      analytics.group({ userId: user, groupId: account, traits: { name: 'Acme', plan: 'pro', seats: 25 } });
      for (let i = 0; i < 4; i++) analytics.track({ userId: user, event: 'Report Shared', properties: { n: i }, context: { groupId: account } });
      await analytics.closeAndFlush({ timeout: 30_000 });

      expect(errors).toEqual([]);
      // its batching: 6 calls in batches of at most 3, all to POST /v1/batch, Basic auth with the write key
      expect(p.exchanges.map((e) => e.path)).toEqual(['/v1/batch', '/v1/batch']);
      expect(p.exchanges.every((e) => e.messages.length <= 3 && e.upstream.status === 200)).toBe(true);
      expect(p.exchanges[0]?.headers.authorization).toBe(`Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`);
      const sent = p.sent();
      expect([...sent.values()].sort()).toEqual(['group', 'identify', 'track', 'track', 'track', 'track']);
      await expectEachOnce(sent, account);
    });

    it('retries a batch whose answer was lost; the service counts it once', async () => {
      const { user, account } = ids();
      const { proxy: p, url } = await proxy({ failFirst: 1 });
      const { analytics, errors } = segmentClient(url);
      analytics.identify({ userId: user, traits: { name: 'Grace' }, context: { groupId: account } });
      analytics.group({ userId: user, groupId: account, traits: { name: 'Initech' } });
      analytics.track({ userId: user, event: 'Login', context: { groupId: account } });
      analytics.track({ userId: user, event: 'Logout', context: { groupId: account } });
      await analytics.closeAndFlush({ timeout: 30_000 });

      expect(errors).toEqual([]);
      const retry = expectLostAnswerRetried(p);
      expect(retry.headers['x-retry-count']).toBe('1');
      const sent = p.sent();
      expect([...sent.values()].sort()).toEqual(['group', 'identify', 'track', 'track']);
      await expectEachOnce(sent, account);
    });

    it('attributes identify and track calls to the account of the group call in the same batch', async () => {
      const { user, account } = ids();
      const { proxy: p, url } = await proxy();
      // one batch, the order of a typical server-side script: who the user is, their account, what they did
      const { analytics, errors } = segmentClient(url, 10);
      analytics.identify({ userId: user, traits: { email: `${user}@example.com` } });
      analytics.group({ userId: user, groupId: account, traits: { name: 'Globex' } });
      analytics.track({ userId: user, event: 'Dashboard Viewed' });
      analytics.track({ userId: user, event: 'Report Shared' });
      await analytics.closeAndFlush({ timeout: 30_000 });

      expect(errors).toEqual([]);
      expect(bodiesOf(p)).toMatchObject([{ messages: ['identify', 'group', 'track', 'track'], status: 200 }]);
      await expectEachOnce(p.sent(), account);
    });

    it('corrects the client clock skew with the sentAt it sends once per batch', async () => {
      // the client's clock (this machine's) is three days ahead of the service's
      clock.set(new Date(Date.now() - 3 * 86_400_000));
      const { user, account } = ids();
      const { proxy: p, url } = await proxy();
      const { analytics, errors } = segmentClient(url);
      analytics.track({ userId: user, event: 'Clock Check', context: { groupId: account } });
      await analytics.closeAndFlush({ timeout: 30_000 });

      expect(errors).toEqual([]);
      // analytics-node puts sentAt on the batch, not on its messages
      const body = p.exchanges[0]?.body;
      expect(body).toMatchObject({ sentAt: expect.any(String), batch: [{ timestamp: expect.any(String) }] });
      expect(isRecord(body) && Array.isArray(body['batch']) && isRecord(body['batch'][0]) && 'sentAt' in body['batch'][0]).toBe(false);
      const [id] = p.sent().keys();
      const data = await waitFor('the track event', () => {
        const e = recorder.messages.map((m) => JSON.parse(m.value ?? '{}') as CloudEvent).find((x) => isRecord(x.data) && x.data['messageId'] === id);
        return isRecord(e?.data) ? e.data : undefined;
      });
      // timestamp + (receivedAt - sentAt): on the service's clock, a few ms before it received the batch
      const offByMs = Date.parse(String(data['timestamp'])) - Date.parse(String(data['receivedAt']));
      expect(Math.abs(offByMs)).toBeLessThan(1000);
    });
  });

  describe('@rudderstack/rudder-sdk-node', () => {
    /** Its defaults (gzip on), unless `options` say otherwise; errors come through errorHandler and the callbacks. */
    function rudderClient(dataPlaneUrl: string, options: { gzip?: boolean } = {}) {
      const errors: string[] = [];
      let settled = 0;
      const analytics = new RudderAnalytics(writeKey, {
        dataPlaneUrl,
        flushAt: 3,
        flushInterval: 20,
        retryCount: 3,
        logLevel: 'none',
        errorHandler: (e: unknown) => errors.push(summarise(e)),
        ...options,
      });
      const done = (err?: unknown) => {
        settled++;
        if (err) errors.push(`callback: ${summarise(err)}`);
      };
      return { analytics, errors, done, settled: () => settled };
    }

    async function sendFlow(client: ReturnType<typeof rudderClient>, user: string, account: string, tracks: number) {
      const { analytics, done } = client;
      analytics.identify({ userId: user, traits: { email: `${user}@example.com`, name: 'Ada' }, context: { groupId: account } }, done);
      analytics.group({ userId: user, groupId: account, traits: { name: 'Acme', plan: 'pro', seats: 25 } }, done);
      for (let i = 0; i < tracks; i++) analytics.track({ userId: user, event: 'Report Shared', properties: { n: i }, context: { groupId: account } }, done);
      await analytics.flush();
      await waitFor('every RudderStack call settled (delivered or failed)', () => client.settled() === 2 + tracks);
    }

    it('delivers identify, group and track calls with its default options, each exactly once keyed by the account', async () => {
      const { user, account } = ids();
      const { proxy: p, url } = await proxy();
      const client = rudderClient(url);
      await sendFlow(client, user, account, 4);

      expect(client.errors).toEqual([]);
      expect(p.exchanges.every((e) => e.path === '/v1/batch' && e.upstream.status === 200)).toBe(true);
      const sent = p.sent();
      expect([...sent.values()].sort()).toEqual(['group', 'identify', 'track', 'track', 'track', 'track']);
      await expectEachOnce(sent, account);
    });

    // Uncompressed, so that this test shows the retries and the dedup whatever happens to its gzip
    // default (covered by the test above).
    it('retries a batch whose answer was lost; the service counts it once (gzip: false)', async () => {
      const { user, account } = ids();
      const { proxy: p, url } = await proxy({ failFirst: 1 });
      const client = rudderClient(url, { gzip: false });
      await sendFlow(client, user, account, 2);

      expect(client.errors).toEqual([]);
      expectLostAnswerRetried(p);
      const sent = p.sent();
      expect([...sent.values()].sort()).toEqual(['group', 'identify', 'track', 'track']);
      await expectEachOnce(sent, account);
    });
  });
});
