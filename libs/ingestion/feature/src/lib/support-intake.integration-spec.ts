import { randomBytes, randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ManualClock, Topics, type CloudEvent } from '@kizuna/shared/contracts';
import { TopicRecorder, testKafka, waitFor } from '@kizuna/shared/testing';
import { signZendesk } from '@kizuna/ingestion/domain';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';

const ADMIN = 'integration-admin-token-support-0123';

/** Support, call-center, survey and billing intake, in-process against the real broker and Postgres. */
describe('ingestion: support, calls, surveys, billing, Zendesk', () => {
  const clock = new ManualClock('2026-06-02T10:00:00.000Z');
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  let app: NestFastifyApplication;
  let recorder: TopicRecorder;
  let key = '';
  let sourceId = '';

  beforeAll(async () => {
    app = await createIngestionTestApp({
      clock,
      env: { INGESTION_ADMIN_TOKEN: ADMIN, INGESTION_KEY_CACHE_TTL_MS: '0', INGESTION_SECRET_KEY: randomBytes(32).toString('base64') },
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const created = await call('POST', '/v1/admin/sources', { name: `help desk ${run}` }, { authorization: `Bearer ${ADMIN}` });
    key = created.json.writeKey;
    sourceId = created.json.source.id;
    recorder = await new TopicRecorder(kafka, [Topics.support, Topics.survey, Topics.billing], (m) => (m.value ?? '').includes(sourceId)).start();
  });

  afterAll(async () => {
    await recorder?.stop();
    await app?.close();
  });

  async function call(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, headers: Record<string, string> = {}) {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await app.inject({
      method, url, headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(payload === undefined ? {} : { payload }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
  }
  const basic = () => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) => call('POST', url, body, { ...basic(), ...headers });
  const onTopic = (topic: string, pred: (e: CloudEvent) => boolean) =>
    recorder.messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.value ?? '{}') as CloudEvent).filter(pred);
  const ticket = (id: string, extra: Record<string, unknown>) => ({
    id, status: 'open', createdAt: '2026-06-02T09:00:00Z', updatedAt: '2026-06-02T09:30:00Z', tags: ['billing'], ...extra,
  });

  it('publishes a ticket matched by account id, then by organization external id, counting a retry once', async () => {
    const acc = `acc-${run}-1`;
    const body = ticket(`T-${run}-1`, { accountId: acc, priority: 'high', needsCs: true, subject: 'Invoices wrong again' });
    expect((await post('/v1/support/tickets', body)).json).toEqual({ success: true, status: 'published', accountId: acc, matchedBy: 'account-id' });
    expect((await post('/v1/support/tickets', body)).json).toEqual({ success: true, status: 'duplicate' });
    expect((await post('/v1/support/tickets', ticket(`T-${run}-2`, { organizationExternalId: acc }))).json).toMatchObject({ matchedBy: 'organization' });
    const events = await waitFor('two tickets', () => {
      const e = onTopic(Topics.support, (x) => x.subject === acc);
      return e.length === 2 ? e : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'cs.support.ticket.updated.v1', data: { ticketId: `T-${run}-1`, needsCs: true, priority: 'high', tags: ['billing'], accountId: acc } });
  });

  it('keeps an unmatched ticket, lists it, and publishes it once the requester becomes a known contact', async () => {
    const email = `pat-${run}@unknown-${run}.example`;
    const acc = `acc-${run}-2`;
    expect((await post('/v1/support/tickets', ticket(`T-${run}-3`, { requesterEmail: email }))).json).toEqual({ success: true, status: 'unmatched' });
    const listed = await call('GET', '/v1/support/unmatched?limit=500', undefined, { authorization: `Bearer ${ADMIN}` });
    expect(listed.json.items.some((i: { externalId: string }) => i.externalId === `T-${run}-3`)).toBe(true);
    // the product identifies the user with that e-mail within the account
    expect((await post('/v1/identify', { userId: `u-${run}`, traits: { email }, context: { groupId: acc } })).status).toBe(200);
    const released = await waitFor('the released ticket', () => onTopic(Topics.support, (x) => x.subject === acc)[0]);
    expect(released.data).toMatchObject({ ticketId: `T-${run}-3`, requesterEmail: email });
  });

  it('matches by the e-mail domain an account registered in its group traits', async () => {
    const acc = `acc-${run}-3`;
    expect((await post('/v1/group', { userId: `u2-${run}`, groupId: acc, traits: { website: `https://www.dom-${run}.example/` } })).status).toBe(200);
    const res = await post('/v1/support/tickets', ticket(`T-${run}-4`, { requesterEmail: `anyone@dom-${run}.example` }));
    expect(res.json).toMatchObject({ status: 'published', accountId: acc, matchedBy: 'email-domain' });
  });

  it('keeps the newest version of a call record and ignores older redeliveries', async () => {
    const acc = `acc-${run}-4`;
    const base = { contactId: `C-${run}`, accountId: acc, startedAt: '2026-06-02T09:00:00Z', talkSeconds: 120, reasonCode: 'login' };
    expect((await post('/v1/support/calls', { ...base, lastUpdatedAt: '2026-06-02T09:05:00Z' })).json.status).toBe('published');
    expect((await post('/v1/support/calls', { ...base, talkSeconds: 300, lastUpdatedAt: '2026-06-02T09:10:00Z' })).json.status).toBe('published');
    expect((await post('/v1/support/calls', { ...base, lastUpdatedAt: '2026-06-02T09:07:00Z' })).json.status).toBe('superseded');
    expect((await post('/v1/support/calls', { ...base, talkSeconds: 300, lastUpdatedAt: '2026-06-02T09:10:00Z' })).json.status).toBe('duplicate');
    const calls = await waitFor('two call versions', () => {
      const c = onTopic(Topics.support, (x) => x.subject === acc);
      return c.length === 2 ? c : undefined;
    });
    expect(calls.map((c) => (c.data as { talkSeconds: number }).talkSeconds)).toEqual([120, 300]);
  });

  it('publishes survey answers and billing changes, and rejects out-of-range scores and unknown fields', async () => {
    const acc = `acc-${run}-5`;
    expect((await post('/v1/surveys', { responseId: `R-${run}`, kind: 'nps', score: 3, comment: 'Too slow', accountId: acc, answeredAt: '2026-06-02T08:00:00Z' })).json.status).toBe('published');
    expect((await post('/v1/surveys', { responseId: `R2-${run}`, kind: 'csat', score: 9, accountId: acc, answeredAt: '2026-06-02T08:00:00Z' })).json.message).toBe('score: a CSAT answer is 1 to 5');
    const billing = { changeId: `B-${run}`, accountId: acc, subscriptionId: 'sub-1', change: 'downgraded', plan: 'basic', seats: 10, mrr: 900, currency: 'eur', effectiveAt: '2026-07-01T00:00:00Z' };
    expect((await post('/v1/subscriptions', billing)).json.status).toBe('published');
    expect((await post('/v1/subscriptions', { ...billing, changeId: `B2-${run}`, tenant: 'x' })).json.message).toContain('property tenant should not exist');
    expect((await post('/v1/subscriptions', { ...billing, change: 'paused' })).status).toBe(400);
    await waitFor('survey and billing events', () => onTopic(Topics.survey, (x) => x.subject === acc).length === 1 && onTopic(Topics.billing, (x) => x.subject === acc).length === 1);
    expect(onTopic(Topics.billing, (x) => x.subject === acc)[0]?.data).toMatchObject({ change: 'downgraded', currency: 'EUR', seats: 10 });
  });

  describe('Zendesk webhooks', () => {
    const secret = `zendesk-signing-secret-${randomUUID()}`;
    const acc = `acc-${run}-zd`;
    const event = (id: string) =>
      JSON.stringify({
        type: 'zen:event-type:ticket.created', id, time: '2026-06-02T09:59:00Z', account_id: 1,
        detail: { id: `Z-${id}`, status: 'OPEN', priority: 'URGENT', subject: 'Cannot log in', tags: ['login', 'needs_cs'], via: { channel: 'email' },
          organization: { id: '9', external_id: acc }, created_at: '2026-06-02T09:58:00Z', updated_at: '2026-06-02T09:59:00Z' },
      });
    const signed = (raw: string, ts = clock.now().toISOString(), s = secret) => ({
      'x-zendesk-webhook-signature-timestamp': ts, 'x-zendesk-webhook-signature': signZendesk(s, ts, raw),
    });

    beforeAll(async () => {
      const r = await call('PUT', `/v1/admin/sources/${sourceId}/webhook-secret`, { secret }, { authorization: `Bearer ${ADMIN}` });
      expect(r.json).toMatchObject({ sourceId, hint: `…${secret.slice(-4)}` });
    });

    it('accepts a signed ticket event and publishes the ticket', async () => {
      const raw = event(`ev-${run}-1`);
      const res = await post('/v1/sources/zendesk/webhook', raw, signed(raw));
      expect(res.json).toEqual({ success: true, status: 'published', accountId: acc, matchedBy: 'organization' });
      const t = await waitFor('the Zendesk ticket', () => onTopic(Topics.support, (x) => x.subject === acc)[0]);
      expect(t.data).toMatchObject({ ticketId: `zendesk:Z-ev-${run}-1`, priority: 'urgent', status: 'open', needsCs: true, channel: 'email' });
    });

    it('rejects a wrong signature, a stale timestamp and an unsigned call with 401', async () => {
      const raw = event(`ev-${run}-2`);
      expect((await post('/v1/sources/zendesk/webhook', raw, signed(raw, clock.now().toISOString(), 'not-the-secret-at-all'))).json).toMatchObject({
        statusCode: 401, message: 'invalid Zendesk signature: signature does not match',
      });
      const old = new Date(clock.now().getTime() - 6 * 60_000).toISOString();
      expect((await post('/v1/sources/zendesk/webhook', raw, signed(raw, old))).json.message).toBe(
        'invalid Zendesk signature: signature timestamp is more than 5 minutes away from now',
      );
      expect((await post('/v1/sources/zendesk/webhook', raw)).status).toBe(401);
      const tampered = raw.replace('Cannot log in', 'Everything is fine');
      expect((await post('/v1/sources/zendesk/webhook', tampered, signed(raw))).status).toBe(401);
    });

    it('verifies with the previous secret during a rotation', async () => {
      const next = `zendesk-signing-secret-next-${randomUUID()}`;
      await call('PUT', `/v1/admin/sources/${sourceId}/webhook-secret`, { secret: next, graceSeconds: 300 }, { authorization: `Bearer ${ADMIN}` });
      const raw = event(`ev-${run}-3`);
      expect((await post('/v1/sources/zendesk/webhook', raw, signed(raw))).status).toBe(200);
      const raw2 = event(`ev-${run}-4`);
      expect((await post('/v1/sources/zendesk/webhook', raw2, signed(raw2, clock.now().toISOString(), next))).status).toBe(200);
    });
  });
});
