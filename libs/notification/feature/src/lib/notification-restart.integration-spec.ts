import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Admin, Producer } from 'kafkajs';
import { EscalationReason, EscalationState, HealthBand, Topics, createEvent } from '@kizuna/shared/contracts';
import { LOCAL_POSTGRES_URL, SmtpSink, repoRoot, testKafka, testPortRange, waitFor } from '@kizuna/shared/testing';

/** Its port: this suite's range in the shared table (testPortRange). */
const PORT = testPortRange('notificationRestart');

/** Its own database: the in-process notification tests run beside it, and workers share delivery tables. */
const databaseUrl = () => {
  const u = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
  u.pathname = `${u.pathname}_ntf_restart`;
  return u.toString();
};

/**
 * The notification service as a real process (from source), killed with SIGKILL after it sent an
 * e-mail, its consumer group rewound as if the offset had never been committed, the event published
 * once more, and restarted: the e-mail is not sent again.
 */
describe('notification killed after sending, before its offset commit', () => {
  const kafka = testKafka();
  const groupPrefix = `kill-${randomUUID().slice(0, 8)}`;
  const smtp = new SmtpSink();
  let smtpPort = 0;
  let producer: Producer;
  let admin: Admin;
  let db: Client;
  let child: ChildProcess | undefined;
  const output: string[] = [];

  function start(): ChildProcess {
    const p = spawn(process.execPath, ['-r', '@swc-node/register', join(repoRoot(), 'apps/notification/src/main.ts')], {
      cwd: repoRoot(),
      env: {
        ...process.env, PORT: String(PORT), HOST: '127.0.0.1', DATABASE_URL: databaseUrl(), KAFKA_GROUP_PREFIX: groupPrefix, LOG_LEVEL: 'warn',
        NOTIFICATION_SMTP_HOST: '127.0.0.1', NOTIFICATION_SMTP_PORT: String(smtpPort), OTEL_EXPORTER_OTLP_ENDPOINT: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (c: Buffer) => output.push(...c.toString('utf8').split('\n').filter(Boolean));
    p.stdout?.on('data', collect);
    p.stderr?.on('data', collect);
    return p;
  }

  const ready = (p: ChildProcess) =>
    waitFor('the service ready', async () => {
      if (p.exitCode !== null) throw new Error(`notification exited with ${p.exitCode}:\n${output.slice(-20).join('\n')}`);
      return (await fetch(`http://127.0.0.1:${PORT}/health/ready`).catch(() => undefined))?.status === 200 || undefined;
    }, { timeoutMs: 90000, intervalMs: 200 });

  const kill = async (p: ChildProcess) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };

  beforeAll(async () => {
    await smtp.start();
    smtpPort = smtp.port;
    producer = kafka.producer();
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
    const u = new URL(databaseUrl());
    const dbName = u.pathname.slice(1);
    u.pathname = '/postgres';
    const server = new Client({ connectionString: u.toString() });
    await server.connect();
    await server.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await server.end();
  }, 60000);

  afterAll(async () => {
    if (child) await kill(child);
    await db?.end();
    await admin?.disconnect();
    await producer?.disconnect();
    await smtp.stop();
  });

  it('does not send the e-mail twice when the restarted service reads the event again', async () => {
    const accountId = `acc-${randomUUID()}`;
    const email = `kill-${randomUUID().slice(0, 8)}@example.com`;
    const escalation = (type: 'cs.escalation.assigned.v1' | 'cs.escalation.sla-breached.v1') =>
      createEvent('kizuna/test', {
        type, subject: accountId,
        data: {
          escalationId: 'esc-kill', reason: EscalationReason.AgentFlagged, state: EscalationState.Assigned, priority: 'high',
          assignee: { csmId: 'csm-kill', name: 'Kai', email, why: 'region apac' }, evidence: [],
          context: { accountName: 'Umbrella', band: HealthBand.Caution }, changedAt: new Date().toISOString(),
        },
      }, new Date());
    const assigned = escalation('cs.escalation.assigned.v1');
    const send = (e: ReturnType<typeof escalation>) => producer.send({ topic: Topics.escalation, messages: [{ key: accountId, value: JSON.stringify(e) }] });
    const mailsOf = (subject: string) => smtp.mails.filter((m) => m.to.includes(email) && m.subject.includes(subject));

    child = start();
    await ready(child);
    await send(assigned);
    await waitFor('the e-mail', () => mailsOf('Escalation assigned').length === 1 || undefined, { timeoutMs: 90000 });
    db = new Client({ connectionString: databaseUrl() });
    await db.connect();
    await waitFor('the delivery recorded', async () => {
      const r = await db.query(`SELECT status FROM notification.delivery WHERE trigger_event_id = $1 AND channel = 'email'`, [assigned.id]);
      return r.rows[0]?.status === 'delivered' || undefined;
    });
    await kill(child);

    // As if the offset had never been committed: the group goes back to the start of the topic
    // (retried until the killed member's session has expired), and the event arrives once more.
    const groupId = `${groupPrefix}.notification`;
    await waitFor('the group rewound', async () => {
      try {
        const low = await admin.fetchTopicOffsetsByTimestamp(Topics.escalation, 0);
        await admin.setOffsets({ groupId, topic: Topics.escalation, partitions: low.map((p) => ({ partition: p.partition, offset: p.offset })) });
        return true;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 90000, intervalMs: 1000 });
    await send(assigned);
    const marker = escalation('cs.escalation.sla-breached.v1');
    await send(marker);

    child = start();
    await ready(child);
    await waitFor('the marker e-mail after the restart', () => mailsOf('SLA breached').length === 1 || undefined, { timeoutMs: 90000 });
    const consumed = await db.query('SELECT count(*)::int AS n FROM notification.inbox WHERE event_id = $1', [assigned.id]);
    expect(consumed.rows[0].n).toBe(1);
    expect(mailsOf('Escalation assigned')).toHaveLength(1);
    const deliveries = await db.query(`SELECT count(*)::int AS n FROM notification.delivery WHERE trigger_event_id = $1 AND channel = 'email'`, [assigned.id]);
    expect(deliveries.rows[0].n).toBe(1);
  }, 300000);
});
