import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { LOCAL_POSTGRES_URL, OtlpReceiver, SERVICES, SmtpSink, authHeader, startConsumerGroupAtEnd, startServiceProcess, testPortRange, stopServiceProcess, testKafka, waitFor, waitUntilReady, type ReceivedSpan, type RunningService } from '@kizuna/shared/testing';
import { ALL_TOPICS, Topics } from '@kizuna/shared/contracts';

const SPAN_KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;
/** Ports apart from the walking skeleton's, which may run at the same time. */
const BASE_PORT = testPortRange('traceToNotification');
const databaseUrl = () => {
  const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  u.pathname = `${u.pathname}_e2e_trace`;
  return u.toString();
};
const WRITE_KEY = `e2e-trace-key-${randomUUID()}`;
const auth = { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' };

/**
 * One ticket, end to end across the five services as processes: it is taken in over HTTP, scored,
 * escalated to the account's owner CSM and e-mailed to a real SMTP server; one trace id covers the
 * spans of ingestion, health-scoring, escalation-routing and notification, parent to child across
 * every Kafka hop and the outbox, down to the SMTP send.
 */
describe('one trace from a support ticket to the e-mail it causes', () => {
  const receiver = new OtlpReceiver();
  const prefix = `e2e-trace-${randomUUID().slice(0, 8)}`;
  const services: RunningService[] = [];
  const smtp = new SmtpSink();
  const url = (name: string) => services.find((s) => s.name === name)?.url ?? '';

  beforeAll(async () => {
    await receiver.start();
    await smtp.start();
    // A fresh database; consumer groups start at the end of the shared broker's topics.
    const admin = new URL(databaseUrl());
    const name = admin.pathname.slice(1);
    admin.pathname = '/postgres';
    const pg = new Client({ connectionString: admin.toString() });
    await pg.connect();
    await pg.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => pg.end());
    const kafka = testKafka();
    await Promise.all(SERVICES.filter((svc) => svc !== 'ingestion').map((svc) => startConsumerGroupAtEnd(kafka, `${prefix}.${svc}`, ALL_TOPICS, 3)));
    const env = {
      KAFKA_BROKERS: process.env['KAFKA_BROKERS'],
      DATABASE_URL: databaseUrl(),
      KAFKA_GROUP_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: '3',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'warn',
      INGESTION_BOOTSTRAP_WRITE_KEY: WRITE_KEY,
      NOTIFICATION_SMTP_HOST: '127.0.0.1',
      NOTIFICATION_SMTP_PORT: String(smtp.port),
      NOTIFICATION_SMTP_FROM: 'Kizuna <kizuna@example.com>',
    };
    SERVICES.forEach((svc, i) => services.push(startServiceProcess(svc, BASE_PORT + i, env)));
    await Promise.all(services.map((s) => waitUntilReady(s, 120_000)));
  }, 240_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopServiceProcess(s)));
    await receiver.stop();
    await smtp.stop();
  });

  const put = async (base: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...(await authHeader({ roles: ['admin'] })) }, body: JSON.stringify(body) });
    expect([path, res.status]).toEqual([path, 200]);
  };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url('ingestion')}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    expect([path, res.status]).toEqual([path, 200]);
  };

  it('covers ingestion, health-scoring, escalation-routing and notification under the ticket\'s trace id', async () => {
    const accountId = `acc-${randomUUID()}`;
    const csm = { id: `csm-${randomUUID().slice(0, 8)}`, email: `owner-${randomUUID().slice(0, 8)}@example.com` };
    const team = `team-${randomUUID().slice(0, 8)}`;
    await put(url('escalation-routing'), `/v1/teams/${team}`, {
      name: 'EMEA', region: 'emea', businessHours: { timeZone: 'UTC', days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '23:59' },
    });
    await put(url('escalation-routing'), `/v1/csms/${csm.id}`, {
      name: 'Olivia Owner', email: csm.email, region: 'emea', teamId: team, specialties: ['technical'], capacity: 1000, active: true,
    });
    await post('/v1/group', { userId: 'u-trace', groupId: accountId, traits: { name: 'Trace Corp', ownerCsmEmail: csm.email, arr: 50_000 } });
    const db = new Client({ connectionString: databaseUrl() });
    await db.connect();
    try {
      await waitFor('escalation-routing knows the account and its owner', async () => {
        const r = await db.query(`SELECT 1 FROM escalation_routing.inbox WHERE account_id = $1 AND event_type = 'cs.directory.account.updated.v1'`, [accountId]);
        return r.rowCount === 1;
      }, { timeoutMs: 60_000 });
    } finally {
      await db.end();
    }

    const now = new Date().toISOString();
    await post('/v1/support/tickets', {
      id: `t-${accountId}`, accountId, subject: 'Exports fail since the upgrade', category: 'exports', status: 'open', priority: 'high',
      needsCs: true, createdAt: now, updatedAt: now,
    });
    // This suite's services read the shared broker: other suites' escalations (e.g. the simulator's
    // accounts) are routed to this roster and mailed to this CSM too, so the mail is found by subject.
    const mail = await waitFor(
      'the escalation e-mail at the SMTP server',
      () => smtp.mails.find((m) => m.to.includes(csm.email) && /Escalation assigned: Trace Corp/.test(m.raw)),
      { timeoutMs: 60_000 },
    );
    expect(mail.raw).toMatch(/^Subject: \[Kizuna\] Escalation assigned: Trace Corp\s*$/m); // the account's name, not its id (issue 6/7)

    const ticketSend = await waitFor('the ingestion producer span of the ticket', () =>
      receiver.spans.find((s) => s.service === 'ingestion' && s.kind === SPAN_KIND.producer && s.attributes['kizuna.account_id'] === accountId
        && s.attributes['kizuna.event_type'] === 'cs.support.ticket.updated.v1'),
    );
    const traceId = ticketSend.traceId;
    const of = (spans: ReceivedSpan[], service: string, kind: number, topic?: string) =>
      spans.find((s) => s.service === service && s.kind === kind && (!topic || s.attributes['messaging.destination.name'] === topic));
    const chain = await waitFor('spans from every hop in the ticket\'s trace', () => {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      const server = of(spans, 'ingestion', SPAN_KIND.server);
      const health = of(spans, 'health-scoring', SPAN_KIND.consumer, Topics.support);
      const escalate = of(spans, 'escalation-routing', SPAN_KIND.consumer, Topics.support);
      const escalated = of(spans, 'escalation-routing', SPAN_KIND.producer, Topics.escalation);
      const notify = of(spans, 'notification', SPAN_KIND.consumer, Topics.escalation);
      const sendMail = spans.find((s) => s.service === 'notification' && s.kind === SPAN_KIND.client && s.attributes['kizuna.channel'] === 'email');
      return server && health && escalate && escalated && notify && sendMail ? { spans, server, health, escalate, escalated, notify, sendMail } : undefined;
    }, { timeoutMs: 60_000 });

    expect(new Set(chain.spans.map((s) => s.service))).toEqual(new Set(['ingestion', 'health-scoring', 'escalation-routing', 'notification']));
    // Parent to child: HTTP -> produce -> consume (two services) -> outbox produce -> consume -> SMTP send.
    expect(ticketSend.parentSpanId).toBe(chain.server.spanId);
    expect(chain.health.parentSpanId).toBe(ticketSend.spanId);
    expect(chain.escalate.parentSpanId).toBe(ticketSend.spanId);
    const byId = new Map(chain.spans.map((s) => [s.spanId, s]));
    const ancestors = (s: ReceivedSpan): string[] => {
      const up = byId.get(s.parentSpanId);
      return up ? [up.spanId, ...ancestors(up)] : [];
    };
    expect(ancestors(chain.escalated)).toContain(chain.escalate.spanId);
    // The e-mail's send span descends from notification's consumer span of an escalation event, whose
    // parent is escalation-routing's producer span (through its outbox).
    const consumer = ancestors(chain.sendMail).map((id) => byId.get(id)).find((p) => p?.service === 'notification' && p.kind === SPAN_KIND.consumer);
    expect(consumer?.attributes['messaging.destination.name']).toBe(Topics.escalation);
    const producer = consumer ? byId.get(consumer.parentSpanId) : undefined;
    expect([producer?.service, producer?.kind]).toEqual(['escalation-routing', SPAN_KIND.producer]);
    expect(producer ? ancestors(producer) : []).toContain(chain.escalate.spanId);
    expect(chain.escalate.attributes['kizuna.account_id']).toBe(accountId);
    // Domain attributes answer "why did I get this alert" from the trace alone.
    expect(chain.escalate.attributes['kizuna.rule']).toBe('agentFlagged');
    expect(chain.escalate.attributes['kizuna.escalation_id']).toEqual(expect.any(String));
  });
});
