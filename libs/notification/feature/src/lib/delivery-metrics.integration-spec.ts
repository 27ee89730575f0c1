import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import { ALL_TOPICS, EscalationReason, EscalationState, HealthBand, Topics, createEvent, type Clock } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { ensureDatabase } from '@kizuna/shared/persistence';
import { createServiceApp, openApiDocument, serviceRootModule } from '@kizuna/shared/service-kit';
import { LOCAL_POSTGRES_URL, WebhookSink, startConsumerGroupAtEnd, testKafka, testToken, waitFor } from '@kizuna/shared/testing';
import { notificationData } from '@kizuna/notification/data-access';
import { NotificationModule } from './notification.module';

/** Real time, moved forward on demand (past a claim's lease). */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const SEND_TIMEOUT_MS = 1000;
/** The worker's claim lease: 2 x send timeout + 30 s. */
const LEASE_MS = 2 * SEND_TIMEOUT_MS + 30_000;

/**
 * kizuna_notification_deliveries_total counts recorded attempts: an attempt whose record transaction
 * rolls back is not counted (the delivery is claimed again after its lease, and that attempt is).
 * Its own database: the webhook counters then see only this test's deliveries.
 */
describe('notification delivery metrics', () => {
  const clock = new ShiftedClock();
  const kafka = testKafka();
  const groupPrefix = `it-metrics-${randomUUID().slice(0, 8)}`;
  const databaseUrl = (() => {
    const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
    u.pathname = `${u.pathname}_delivery_metrics`;
    return u.toString();
  })();
  const hooks = new WebhookSink();
  const env = { ...process.env };
  let app: NestFastifyApplication;
  let producer: Producer;
  let db: Client;

  beforeAll(async () => {
    const admin = new URL(databaseUrl);
    admin.pathname = '/postgres';
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${new URL(databaseUrl).pathname.slice(1)}" WITH (FORCE)`).finally(() => c.end());
    await ensureDatabase(databaseUrl);
    await hooks.start();
    Object.assign(process.env, {
      NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true',
      NOTIFICATION_SECRET_KEY: randomBytes(32).toString('base64'),
      NOTIFICATION_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
      NOTIFICATION_DELIVERY_POLL_MS: '100',
    });
    // Only what this test publishes: the group starts at the topics' ends.
    await startConsumerGroupAtEnd(kafka, `${groupPrefix}.notification`, ALL_TOPICS);
    const config = loadConfig(ServiceConfig, { ...process.env, DATABASE_URL: databaseUrl, KAFKA_GROUP_PREFIX: groupPrefix, KAFKA_RETRY_BACKOFF_MS: '10' });
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'notification', defaultPort: 0, data: notificationData, feature: NotificationModule }, config, logger, clock);
    app = await createServiceApp({ name: 'notification', module: root, config, logger, defaultPort: 0, openApi: openApiDocument('notification.openapi.yaml') });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    producer = kafka.producer();
    await producer.connect();
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await producer?.disconnect();
    await app?.close();
    await hooks.stop();
    process.env = env;
  });

  /** kizuna_notification_deliveries_total for the webhook channel, by outcome. */
  const webhookAttempts = async (): Promise<Record<string, number>> => {
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    const counts: Record<string, number> = {};
    for (const line of r.body.split('\n')) {
      const m = /^kizuna_notification_deliveries_total\{(.*)\} (\S+)$/.exec(line);
      if (!m || !m[1]?.includes('channel="webhook"')) continue;
      const outcome = /outcome="([^"]+)"/.exec(m[1])?.[1] ?? '?';
      counts[outcome] = (counts[outcome] ?? 0) + Number(m[2]);
    }
    return counts;
  };

  it('counts an attempt once its outcome is committed: a rolled-back record is not counted, its re-send after the lease is', async () => {
    const accountId = `acc-${randomUUID()}`;
    const csm = { csmId: `csm-${randomUUID().slice(0, 8)}`, name: 'Mia Metrics', email: `mia-${randomUUID().slice(0, 6)}@example.com` };
    const authorization = `Bearer ${await testToken({ roles: ['admin'] })}`;
    const put = await app.inject({
      method: 'PUT', url: `/v1/recipients/${csm.csmId}`, headers: { authorization, 'content-type': 'application/json' },
      payload: JSON.stringify({ email: csm.email, channels: { 'escalation.assigned': ['webhook'] }, webhooks: [{ id: 'crm', url: `${hooks.url}/crm` }] }),
    });
    expect(put.statusCode).toBe(200);
    expect(await webhookAttempts()).toEqual({});

    // Recording a delivered webhook fails (the transaction rolls back) until the trigger is dropped;
    // the sequence (not transactional) counts the failures.
    await db.query(`CREATE SEQUENCE notification.injected_record_failures`);
    await db.query(`CREATE FUNCTION notification.fail_record() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval('notification.injected_record_failures'); RAISE EXCEPTION 'injected: recording the outcome fails'; END $$`);
    await db.query(`CREATE TRIGGER fail_record BEFORE UPDATE ON notification.delivery FOR EACH ROW WHEN (NEW.status = 'delivered') EXECUTE FUNCTION notification.fail_record()`);

    const assigned = createEvent('kizuna/test', {
      type: 'cs.escalation.assigned.v1', subject: accountId,
      data: {
        escalationId: `esc-${randomUUID().slice(0, 8)}`, reason: EscalationReason.RepeatInquiries, state: EscalationState.Assigned, priority: 'high',
        assignee: { ...csm, why: 'account owner' }, evidence: [],
        context: { accountName: 'Metric Works', band: HealthBand.Danger, healthScore: 30 }, changedAt: clock.now().toISOString(),
      },
    }, clock.now());
    await producer.send({ topic: Topics.escalation, messages: [{ key: accountId, value: JSON.stringify(assigned) }] });

    await waitFor('the webhook sent and its record rolled back', async () => {
      const [seq] = (await db.query<{ is_called: boolean }>(`SELECT is_called FROM notification.injected_record_failures`)).rows;
      return hooks.requests.length === 1 && seq?.is_called === true;
    }, { timeoutMs: 60_000 });
    const [row] = (await db.query<{ id: string; status: string; attempts: number }>(`SELECT id, status, attempts FROM notification.delivery WHERE recipient = $1`, [csm.csmId])).rows;
    expect(row).toMatchObject({ status: 'sending', attempts: 0 });
    // The attempt reached the receiver, but nothing knows of its outcome: not counted.
    expect(await webhookAttempts()).toEqual({});

    await db.query(`DROP TRIGGER fail_record ON notification.delivery`);
    // The re-send's receiver answers after 300 ms: its duration is recorded with its outcome.
    hooks.answerDelayMs = 300;
    clock.offsetMs += LEASE_MS + 1000;
    await waitFor('delivered after the lease', async () => (await db.query(`SELECT 1 FROM notification.delivery WHERE id = $1 AND status = 'delivered'`, [row?.id])).rowCount === 1, { timeoutMs: 60_000 });
    expect(hooks.requests.map((r) => r.headers['webhook-id'])).toEqual([row?.id, row?.id]);
    expect(await webhookAttempts()).toEqual({ delivered: 1 });
    const sendBucket = async (le: string): Promise<number> => {
      const r = await app.inject({ method: 'GET', url: '/metrics' });
      const line = r.body.split('\n').find((l) => l.startsWith('kizuna_notification_send_duration_bucket{') && l.includes('channel="webhook"') && l.includes('outcome="delivered"') && l.includes(`le="${le}"`));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    // One send recorded (the rolled-back one is not), between 0.25 and 0.4 s.
    expect([await sendBucket('0.25'), await sendBucket('0.4'), await sendBucket('+Inf')]).toEqual([0, 1, 1]);
  }, 150_000);
});
