import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ManualClock, Topics, type CloudEvent } from '@kizuna/shared/contracts';
import { TopicRecorder, testKafka, waitFor, type RecordedMessage } from '@kizuna/shared/testing';
import { ingestEventId } from '@kizuna/ingestion/domain';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';
import { PendingSweeper } from './pending-sweeper.service';
import { SegmentIngestService } from './segment-ingest.service';

const ADMIN = 'integration-admin-token-0123456789';

/** Ingestion in-process (Fastify inject) against the real broker and Postgres, clock injected. */
describe('ingestion: the Segment tracking API', () => {
  const clock = new ManualClock('2026-06-01T09:00:00.000Z');
  const kafka = testKafka();
  let app: NestFastifyApplication;
  let recorder: TopicRecorder;
  let writeKey = '';
  let sourceId = '';

  beforeAll(async () => {
    app = await createIngestionTestApp({
      clock,
      env: { INGESTION_ADMIN_TOKEN: ADMIN, INGESTION_KEY_CACHE_TTL_MS: '0', INGESTION_PENDING_WINDOW_MS: '3600000' },
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const created = await admin('POST', '/v1/admin/sources', { name: 'web app' });
    writeKey = created.json.writeKey;
    sourceId = created.json.source.id;
    recorder = await new TopicRecorder(kafka, [Topics.product, Topics.directory, Topics.ingestRejected], (m) =>
      (m.value ?? '').includes(sourceId),
    ).start();
  });

  afterAll(async () => {
    await recorder?.stop();
    await app?.close();
  });

  async function call(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await app.inject({
      method,
      url,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
  }
  const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
  const admin = (method: 'GET' | 'POST', url: string, body?: unknown) => call(method, url, body, { authorization: `Bearer ${ADMIN}` });
  const post = (url: string, body: unknown, key = writeKey) => call('POST', url, body, basic(key));
  const events = (topic: string, pred: (e: CloudEvent) => boolean = () => true) =>
    recorder.messages.filter((m) => m.topic === topic).map((m: RecordedMessage) => JSON.parse(m.value ?? '{}') as CloudEvent).filter(pred);

  it('publishes a track call as cs.product.track.v1 keyed by account, with a deterministic id', async () => {
    const account = `acc-${randomUUID()}`;
    const res = await post('/v1/track', { userId: 'u1', event: 'Report Shared', messageId: 'm-track-1', context: { groupId: account } });
    expect(res).toMatchObject({ status: 200, json: { success: true } });
    const [e] = await waitFor('the product event', () => {
      const found = events(Topics.product, (x) => x.subject === account);
      return found.length ? found : undefined;
    });
    expect(e).toMatchObject({ type: 'cs.product.track.v1', id: ingestEventId(sourceId, 'm-track-1'), data: { event: 'Report Shared', sourceId, accountId: account } });
    const msg = recorder.messages.find((m) => m.value?.includes(account));
    expect(msg?.key).toBe(account);
  });

  it('counts a retried messageId once', async () => {
    const account = `acc-${randomUUID()}`;
    const body = { userId: 'u1', event: 'Login', messageId: `m-${account}`, context: { groupId: account } };
    for (let i = 0; i < 3; i++) expect((await post('/v1/track', body)).status).toBe(200);
    const batch = await post('/v1/batch', { batch: [{ ...body, type: 'track' }] });
    expect(batch.json).toMatchObject({ accepted: 0, duplicates: 1 });
    const marker = `acc-marker-${randomUUID()}`;
    await post('/v1/track', { userId: 'u1', event: 'Marker', context: { groupId: marker } });
    await waitFor('the marker', () => events(Topics.product, (x) => x.subject === marker).length === 1);
    expect(events(Topics.product, (x) => x.subject === account)).toHaveLength(1);
  });

  it('under concurrent batches with retried messageIds, every message acknowledged with 200 is on Kafka exactly once', async () => {
    const account = `acc-${randomUUID()}`;
    const ids = Array.from({ length: 300 }, (_, i) => `m-${account}-${i}`);
    // 12 batches of 50, overlapping: each id is sent one to three times, concurrently
    const batches = Array.from({ length: 12 }, (_, b) => ids.slice((b * 25) % 300, ((b * 25) % 300) + 50));
    const results = await Promise.all(
      batches.map((batch) =>
        post('/v1/batch', { context: { groupId: account }, batch: batch.map((messageId) => ({ type: 'track', userId: 'u1', event: 'E', messageId })) }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const sent = new Set(batches.flat());
    const accepted = results.reduce((n, r) => n + (r.json.accepted as number), 0);
    const duplicates = results.reduce((n, r) => n + (r.json.duplicates as number), 0);
    expect(accepted).toBe(sent.size);
    expect(accepted + duplicates).toBe(batches.flat().length);
    const onKafka = await waitFor('every accepted message', () => {
      const mine = events(Topics.product, (e) => e.subject === account);
      return mine.length >= sent.size ? mine : undefined;
    });
    const marker = `acc-marker-${randomUUID()}`;
    await post('/v1/track', { userId: 'u1', event: 'Marker', context: { groupId: marker } });
    await waitFor('the marker', () => events(Topics.product, (x) => x.subject === marker).length === 1);
    const seen = events(Topics.product, (e) => e.subject === account).map((e) => (e.data as { messageId: string }).messageId);
    expect(seen.length).toBe(onKafka.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect(new Set(seen)).toEqual(sent);
  });

  it('accepts the valid items of a batch, reports the invalid ones by index and sends them to cs.ingest.rejected.v1', async () => {
    const account = `acc-${randomUUID()}`;
    const res = await post('/v1/batch', {
      context: { groupId: account },
      batch: [
        { type: 'track', userId: 'u1', event: 'A' },
        { type: 'track', userId: 'u1' },
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' } },
        { type: 'teleport', userId: 'u1' },
        { type: 'page', anonymousId: 'x', name: 'Home' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success: true, accepted: 3, duplicates: 0, pending: 0,
      rejected: [
        { index: 1, reason: 'event: required for track' },
        { index: 3, reason: 'type: must be one of track, identify, group, page, screen, alias' },
      ],
    });
    await waitFor('3 accepted events', () => events(Topics.product, (e) => e.subject === account).length + events(Topics.directory, (e) => e.subject === account).length === 3);
    const rejected = await waitFor('2 rejections', () => {
      const r = events(Topics.ingestRejected, (e) => (e.data as { raw: string }).raw.includes('teleport') || ((e.data as { raw: string }).raw.includes(account) && (e.data as { index?: number }).index === 1));
      return r.length === 2 ? r : undefined;
    });
    expect(rejected.map((r) => (r.data as { index: number }).index).sort()).toEqual([1, 3]);
    expect(rejected[0]?.data).toMatchObject({ sourceId, endpoint: '/v1/batch' });
  });

  it('keeps an event without an account until the user\'s group call, then publishes it with that account', async () => {
    const user = `user-${randomUUID()}`;
    const account = `acc-${randomUUID()}`;
    const first = await post('/v1/track', { userId: user, event: 'Before Group' });
    expect(first.status).toBe(200);
    const pending = await admin('GET', '/v1/admin/pending');
    expect(pending.json.sources.find((s: { sourceId: string }) => s.sourceId === sourceId)?.waiting).toBeGreaterThanOrEqual(1);
    expect((await post('/v1/group', { userId: user, groupId: account, traits: { name: 'Acme', seats: 30 } })).status).toBe(200);
    const tracked = await waitFor('the released event', () => events(Topics.product, (e) => e.subject === account)[0]);
    expect(tracked.data).toMatchObject({ event: 'Before Group', accountId: account, userId: user });
    const group = await waitFor('the account update', () => events(Topics.directory, (e) => e.subject === account)[0]);
    expect(group).toMatchObject({ type: 'cs.directory.account.updated.v1', data: { traits: { name: 'Acme', seatsPurchased: 30 } } });
    // later calls of that user are attributed through the stored association
    await post('/v1/page', { userId: user, name: 'Pricing' });
    await waitFor('the page event', () => events(Topics.product, (e) => e.subject === account && e.type === 'cs.product.page.v1').length === 1);
  });

  it('reports an event whose account never becomes known when its window ends', async () => {
    const user = `lonely-${randomUUID()}`;
    expect((await post('/v1/track', { userId: user, event: 'Orphan' })).status).toBe(200);
    clock.advance(3600_000 + 1);
    const swept = await app.get(PendingSweeper).sweepOnce();
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    const r = await waitFor('the rejection', () => events(Topics.ingestRejected, (e) => (e.data as { raw: string }).raw.includes(user))[0]);
    expect((r.data as { reason: string }).reason).toMatch(/^account unresolved/);
  });

  it('answers 400 naming the limit or the problem', async () => {
    const big = { userId: 'u', event: 'E', properties: { blob: 'x'.repeat(33 * 1024) } };
    expect((await post('/v1/track', big)).json.message).toMatch(/limit is 32 KB/);
    const many = { batch: Array.from({ length: 2501 }, () => ({ type: 'track', userId: 'u', event: 'E' })) };
    expect((await post('/v1/batch', many)).json.message).toBe('batch has 2501 messages; the limit is 2500 messages per batch');
    const heavy = { batch: Array.from({ length: 20 }, () => ({ type: 'track', userId: 'u', event: 'E', properties: { b: 'y'.repeat(30 * 1024) } })) };
    expect((await post('/v1/batch', heavy)).json.message).toMatch(/limit is 500 KB/);
    const bad = await call('POST', '/v1/track', '{"userId": ', basic(writeKey));
    expect(bad.status).toBe(400);
    expect((await post('/v1/batch', { batch: 'nope' })).json.message).toBe('batch: must be an array of messages ({"batch": [...]})');
    expect((await post('/v1/track', { userId: 'u', context: { groupId: 'a' } })).json).toMatchObject({ statusCode: 400, message: 'event: required for track' });
    expect((await post('/v1/batch', { batch: [{ type: 'track' }] })).json).toMatchObject({ message: 'no valid message in the batch', rejected: [{ index: 0 }] });
  });

  // The Segment routes are Fastify routes of their own (not a Nest controller): their errors keep the
  // shape every other route of the services answers with.
  it('answers errors on the Segment routes in the shape of the other routes', async () => {
    const unknown = await post('/v1/nope', { userId: 'u' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ statusCode: 404, message: 'unknown endpoint /v1/nope' });
    const invalid = await post('/v1/track', { userId: 'u', context: { groupId: 'a' } });
    expect(invalid.json).toEqual({ statusCode: 400, error: 'Bad Request', message: 'event: required for track' });
    const noKey = await call('POST', '/v1/batch', { batch: [] });
    expect(noKey.status).toBe(401);
    expect(noKey.json).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/^missing write key/) });
    const admin401 = await call('POST', '/v1/admin/sources', { name: 'x' });
    expect(Object.keys(admin401.json).sort()).toEqual(Object.keys(noKey.json).sort());
    const wrongMethod = await call('GET', '/v1/track');
    expect(wrongMethod.status).toBe(404);
  });

  it('answers an unexpected failure with a 500 that says nothing of its cause, logged with the route and not the query', async () => {
    const failure = jest.spyOn(app.get(SegmentIngestService), 'ingest').mockRejectedValueOnce(new Error('pool exhausted near secret-7f3a'));
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const res = await post('/v1/track?token=do-not-log', { userId: 'u', event: 'Clicked', context: { groupId: 'acc-500' } });
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ statusCode: 500, message: 'Internal server error' });
      expect(failure).toHaveBeenCalledTimes(1);
      const lines = logged.mock.calls.map((c) => String(c[0]));
      expect(lines).toContainEqual(expect.stringMatching(/^POST \/v1\/:type: pool exhausted near secret-7f3a$/));
      expect(lines.join('\n')).not.toContain('do-not-log');
    } finally {
      logged.mockRestore();
      failure.mockRestore();
    }
    // The next call is served as usual.
    expect((await post('/v1/track', { userId: 'u', event: 'Clicked', context: { groupId: 'acc-500' } })).status).toBe(200);
  });

  it('authenticates by Basic username or body writeKey; unknown, missing and revoked keys get 401', async () => {
    const account = `acc-${randomUUID()}`;
    expect((await call('POST', '/v1/track', { writeKey, userId: 'u', event: 'E', context: { groupId: account } })).status).toBe(200);
    expect((await call('POST', '/v1/track', { userId: 'u', event: 'E' })).json.message).toMatch(/^missing write key/);
    expect((await post('/v1/track', { userId: 'u', event: 'E' }, 'kz_not-a-key')).status).toBe(401);
    const other = await admin('POST', '/v1/admin/sources', { name: 'to revoke' });
    expect((await post('/v1/track', { userId: 'u', event: 'E', context: { groupId: account } }, other.json.writeKey)).status).toBe(200);
    expect((await admin('POST', `/v1/admin/sources/${other.json.source.id}/revoke`)).json.revokedAt).toBeTruthy();
    expect((await post('/v1/track', { userId: 'u', event: 'E' }, other.json.writeKey)).status).toBe(401);
  });

  it('rotates keys (shown once, hashed at rest) with an optional grace period', async () => {
    const src = await admin('POST', '/v1/admin/sources', { name: 'rotating' });
    const oldKey: string = src.json.writeKey;
    const rotated = await admin('POST', `/v1/admin/sources/${src.json.source.id}/rotate`, { graceSeconds: 60 });
    expect(rotated.json.writeKey).not.toBe(oldKey);
    const body = { userId: 'u', event: 'E', context: { groupId: 'acc-rot' } };
    expect((await post('/v1/track', body, oldKey)).status).toBe(200);
    expect((await post('/v1/track', body, rotated.json.writeKey)).status).toBe(200);
    clock.advance(61_000);
    expect((await post('/v1/track', body, oldKey)).status).toBe(401);
    const listed = await admin('GET', '/v1/admin/sources');
    expect(JSON.stringify(listed.json)).not.toContain(rotated.json.writeKey);
    expect((await call('GET', '/v1/admin/sources')).status).toBe(401);
    expect((await admin('POST', '/v1/admin/sources', { name: 'x', tenant: 'other' })).json.message).toContain('property tenant should not exist');
  });
});
