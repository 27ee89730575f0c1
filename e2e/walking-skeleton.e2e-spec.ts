import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Producer } from 'kafkajs';
import { ALL_TOPICS, deadLetterTopic, Topics } from '@kizuna/shared/contracts';
import { LOCAL_POSTGRES_URL, OtlpReceiver, SERVICES, startConsumerGroupAtEnd, testPortRange, TopicRecorder, startServiceProcess, stopServiceProcess, testKafka, waitFor, waitUntilReady, type ReceivedSpan, type RunningService } from '@kizuna/shared/testing';

const SPAN_KIND = { server: 2, producer: 4, consumer: 5 } as const;
/** The services' ports: this suite's range in the shared table (testPortRange). */
const BASE_PORT = testPortRange('walkingSkeleton');
/**
 * The e2e services get their own database: integration tests run in parallel against the same
 * broker, and two health-scoring consumers (different groups) must not write the same tables.
 */
const e2eDatabaseUrl = () => {
  const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  u.pathname = `${u.pathname}_e2e`;
  return u.toString();
};
const WRITE_KEY = `e2e-write-key-${randomUUID()}`;
const auth = { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` };

/**
 * The walking skeleton, end to end: the five services run as separate processes against the real
 * broker and Postgres; a Segment `track` call posted over HTTP travels ingestion -> health-scoring
 * -> lifecycle, escalation-routing and notification, under one trace id.
 */
describe('walking skeleton across the five services', () => {
  const receiver = new OtlpReceiver();
  const groupPrefix = `e2e-${randomUUID().slice(0, 8)}`;
  const services: RunningService[] = [];
  let db: Client;
  let producer: Producer;
  const kafka = testKafka();

  const url = (name: string) => services.find((s) => s.name === name)?.url ?? '';

  beforeAll(async () => {
    await receiver.start();
    const env = {
      KAFKA_BROKERS: process.env['KAFKA_BROKERS'],
      DATABASE_URL: e2eDatabaseUrl(),
      KAFKA_GROUP_PREFIX: groupPrefix,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'info',
      KAFKA_TOPIC_PARTITIONS: '3',
      INGESTION_BOOTSTRAP_WRITE_KEY: WRITE_KEY,
    };
    // The consumer groups start at the end of the shared broker's topics: the suites before this one
    // left a backlog that new groups would otherwise replay first.
    await Promise.all(SERVICES.filter((s) => s !== 'ingestion').map((s) => startConsumerGroupAtEnd(kafka, `${groupPrefix}.${s}`, ALL_TOPICS, 3)));
    SERVICES.forEach((name, i) => services.push(startServiceProcess(name, BASE_PORT + i, env)));
    await Promise.all(services.map((s) => waitUntilReady(s)));
    db = new Client({ connectionString: e2eDatabaseUrl() });
    await db.connect();
    producer = kafka.producer();
    await producer.connect();
    // Five services starting from a fresh clone's build; the crash replay may start its own five at the same
    // moment (a fresh clone has no Jest timing cache, so both come first): CI once needed over 90 s.
  }, 240_000);

  afterAll(async () => {
    await producer?.disconnect();
    await db?.end();
    const codes = await Promise.all(services.map((s) => stopServiceProcess(s)));
    await receiver.stop();
    // Graceful shutdown: every service exits 0 on SIGTERM.
    expect(codes).toEqual(SERVICES.map(() => 0));
  });

  async function track(accountId: string, event: string): Promise<Response> {
    return fetch(`${url('ingestion')}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ userId: 'user-1', event, context: { groupId: accountId } }),
    });
  }

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const find = (spans: ReceivedSpan[], service: string, kind: number, topic?: string) =>
    spans.find((s) => s.service === service && s.kind === kind && (!topic || s.attributes['messaging.destination.name'] === topic));

  it('carries one track call through all five services under one trace id', async () => {
    const accountId = `acc-${randomUUID()}`;
    const res = await track(accountId, 'Report Shared');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });

    const ingestSend = await waitFor('the ingestion producer span for the account', () =>
      receiver.spans.find(
        (s) => s.service === 'ingestion' && s.kind === SPAN_KIND.producer && s.attributes['kizuna.account_id'] === accountId,
      ),
    );
    const traceId = ingestSend.traceId;
    const chain = await waitFor(
      'consumer spans from every downstream service in the same trace',
      () => {
        const spans = spansOf(traceId);
        const hs = find(spans, 'health-scoring', SPAN_KIND.consumer, Topics.product);
        const lc = find(spans, 'lifecycle', SPAN_KIND.consumer, Topics.health);
        const er = find(spans, 'escalation-routing', SPAN_KIND.consumer, Topics.health);
        const nt = find(spans, 'notification', SPAN_KIND.consumer, Topics.health);
        if (hs && lc && er && nt) return { spans, hs, lc, er, nt };
        // Said when the wait times out: which hop is missing, and what the trace holds so far.
        const missing = Object.entries({ 'health-scoring of cs.product.v1': hs, 'lifecycle of cs.health.v1': lc, 'escalation-routing of cs.health.v1': er, 'notification of cs.health.v1': nt })
          .filter(([, span]) => !span)
          .map(([name]) => name);
        const seen = spans.map((s) => `${s.service}/${s.kind}/${String(s.attributes['messaging.destination.name'] ?? s.name)}`);
        throw new Error(`no consumer span yet from ${missing.join(', ')}; the trace holds ${spans.length} spans: ${seen.join(', ')}`);
      },
      // The new groups first read the backlog the other suites left on the shared broker, on a machine
      // that also runs the crash replay's ten processes: 30 s was not always enough.
      { timeoutMs: 120000 },
    );
    expect(new Set(chain.spans.map((s) => s.service))).toEqual(new Set(SERVICES));

    // The HTTP request is the root; then parent/child across each Kafka hop.
    const server = find(chain.spans, 'ingestion', SPAN_KIND.server);
    expect(server?.parentSpanId).toBe('');
    expect(ingestSend.parentSpanId).toBe(server?.spanId);
    expect(chain.hs.parentSpanId).toBe(ingestSend.spanId);
    // A loaded run may rescore the account again (a second health change on the same trace): each
    // consumer's parent is one of health-scoring's sends of cs.health.v1 in this trace.
    const healthSends = chain.spans.filter((s) => s.service === 'health-scoring' && s.kind === SPAN_KIND.producer && s.attributes['messaging.destination.name'] === Topics.health);
    expect(healthSends.length).toBeGreaterThan(0);
    for (const consumer of [chain.lc, chain.er, chain.nt]) expect(healthSends.map((s) => s.spanId)).toContain(consumer.parentSpanId);
    expect(chain.nt.attributes['kizuna.account_id']).toBe(accountId);

    // And each service recorded what it consumed, in its own schema.
    const health = await db.query('SELECT score, band FROM health_scoring.account_health WHERE account_id = $1', [accountId]);
    expect(health.rows).toHaveLength(1);
    for (const schema of ['lifecycle', 'escalation_routing', 'notification']) {
      const projected = await db.query(`SELECT band FROM ${schema}.account_health_projection WHERE account_id = $1`, [accountId]);
      expect(projected.rows).toEqual([{ band: health.rows[0].band }]);
      const inbox = await db.query(`SELECT trace_id FROM ${schema}.inbox WHERE account_id = $1 AND event_type = 'cs.health.score.changed.v1'`, [accountId]);
      // Its first health change came on this trace (later rescoring, e.g. the sweep, may add others).
      expect(inbox.rows).toContainEqual({ trace_id: traceId });
    }
  }, 150_000); // the crash replay may run beside it and load the machine

  it('sends a malformed message to the dead-letter topic with the reason, and the partition keeps flowing', async () => {
    const accountId = `acc-${randomUUID()}`;
    const dlq = await new TopicRecorder(kafka, [deadLetterTopic(Topics.product)], (m) => m.key === accountId).start();
    try {
      await producer.send({ topic: Topics.product, messages: [{ key: accountId, value: '{"specversion":"1.0","type":"cs.product.track.v1"}' }] });
      expect((await track(accountId, 'After The Poison')).status).toBe(200);
      const dead = await waitFor('the dead letter from health-scoring', () =>
        dlq.messages.find((m) => m.headers['kizuna-dlq-consumer-group'] === `${groupPrefix}.health-scoring`),
      );
      expect(dead.value).toBe('{"specversion":"1.0","type":"cs.product.track.v1"}');
      expect(dead.headers['kizuna-dlq-reason']).toBe('invalid-message');
      expect(dead.headers['kizuna-dlq-error']).toMatch(/id: must be a non-empty string/);
      await waitFor('the next event on the partition processed', async () => {
        const r = await db.query('SELECT 1 FROM health_scoring.account_health WHERE account_id = $1', [accountId]);
        return r.rowCount === 1;
      });
    } finally {
      await dlq.stop();
    }
  });

  it('rejects bad input at the edge with a precise 400', async () => {
    const res = await fetch(`${url('ingestion')}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ userId: 'u', event: 'x', context: { groupId: 'a' }, timestamp: 'last tuesday' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'timestamp: must match format "date-time"' });
    const anonymous = await fetch(`${url('ingestion')}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
  });
  it('keeps personal data and secrets out of logs and spans (everything the services wrote during this suite)', async () => {
    const accountId = `acc-${randomUUID()}`;
    const email = `jane.doe.${randomUUID().slice(0, 8)}@customer-example.com`;
    const identify = await fetch(`${url('ingestion')}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ userId: 'user-pii', traits: { email, name: 'Jane Doe', phone: '+81 3 1234 5678' }, context: { groupId: accountId } }),
    });
    expect(identify.status).toBe(200);
    const now = new Date().toISOString();
    const ticket = await fetch(`${url('ingestion')}/v1/support/tickets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ id: `t-${accountId}`, accountId, requesterEmail: email, subject: `Invoice for ${email} is wrong`, status: 'open', needsCs: true, createdAt: now, updatedAt: now }),
    });
    expect(ticket.status).toBe(200);
    // Wait until the ticket went through the consumers (and their logs and spans were written).
    await waitFor('the ticket applied by escalation-routing', async () => {
      const r = await db.query(`SELECT 1 FROM escalation_routing.inbox WHERE account_id = $1 AND event_type = 'cs.support.ticket.updated.v1'`, [accountId]);
      return r.rowCount === 1;
    });
    await waitFor('its consumer span exported', () =>
      receiver.spans.some((sp) => sp.service === 'escalation-routing' && sp.attributes['kizuna.account_id'] === accountId),
    );
    const logs = services.flatMap((sv) => sv.output).join('\n');
    expect(logs.split('\n').length).toBeGreaterThan(20); // the services did log (startup, consumers, requests)
    const spans = JSON.stringify(receiver.spans.map((sp) => ({ name: sp.name, attributes: sp.attributes })));
    for (const [what, text] of [['logs', logs], ['span attributes', spans]] as const) {
      expect({ what, emails: text.match(/[\w.+-]+@[\w-]+\.[\w.-]+/g) ?? [] }).toEqual({ what, emails: [] });
      expect({ what, writeKey: text.includes(WRITE_KEY) }).toEqual({ what, writeKey: false });
      expect({ what, authorization: /authorization|basic [a-z0-9+/=]{8,}/i.test(text) }).toEqual({ what, authorization: false });
      expect({ what, name: text.includes('Jane Doe') }).toEqual({ what, name: false });
    }
  });
});
