import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource, type EntityManager } from 'typeorm';
import type { Producer } from 'kafkajs';
import {
  EscalationReason, EscalationState, HealthBand, Topics, createEvent, eventHeaders, topicOf, type Clock, type CloudEvent, type EventType, type PayloadOf,
} from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, openApiDocument, serviceRootModule } from '@kizuna/shared/service-kit';
import { SmtpSink, TopicRecorder, documentedRoutes, recordRoutes, testKafka, testToken, waitFor } from '@kizuna/shared/testing';
import { OutboxRelay } from '@kizuna/shared/messaging';
import { notificationData } from '@kizuna/notification/data-access';
import { generateWebhookSecret, verifyWebhook } from '@kizuna/notification/domain';
import { DeliveryWorker, type DeliveryHandOff } from './delivery-worker.service';
import { NotificationPlanner } from './notification-planner.service';
import { NotificationModule } from './notification.module';
import { PlayRunner } from './play-runner.service';

/** Real time, moved forward on demand (quiet hours, digests, retries, disabling). */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

interface Mail {
  to: string[];
  raw: string;
  /** Headers and body with quoted-printable soft breaks and escapes undone. */
  text: string;
}

const decodeQp = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

interface Hit {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP receiver answering with `answer(n)` for its n-th request (from 0). */
async function receiver(answer: (n: number, hit: Hit) => { status: number; headers?: Record<string, string> }) {
  const hits: Hit[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const a = answer(hits.length, hit);
      hits.push(hit);
      res.writeHead(a.status, a.headers ?? {}).end(a.status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** notification in-process against the real broker, Postgres, a real SMTP server and local HTTP receivers. */
describe('notification service', () => {
  const clock = new ShiftedClock();
  const kafka = testKafka();
  const spec = openApiDocument('notification.openapi.yaml');
  const groupPrefix = `it-${randomUUID().slice(0, 8)}`;
  const secretKey = randomBytes(32).toString('base64');
  const smtp = new SmtpSink();
  let smtpPort = 0;
  let app: NestFastifyApplication;
  let producer: Producer;
  let outcomes: TopicRecorder;
  const accounts = new Set<string>();
  let routes = new Set<string>();
  const env = { ...process.env };

  async function startApp(prefix: string): Promise<NestFastifyApplication> {
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: prefix, KAFKA_RETRY_BACKOFF_MS: '10' });
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'notification', defaultPort: 0, data: notificationData, feature: NotificationModule }, config, logger, clock);
    const a = await createServiceApp({ name: 'notification', module: root, config, logger, defaultPort: 0, openApi: spec });
    routes = recordRoutes(a.getHttpAdapter().getInstance());
    await a.init();
    await a.getHttpAdapter().getInstance().ready();
    return a;
  }

  beforeAll(async () => {
    await smtp.start();
    smtpPort = smtp.port;
    Object.assign(process.env, {
      NOTIFICATION_SMTP_HOST: '127.0.0.1',
      NOTIFICATION_SMTP_PORT: String(smtpPort),
      NOTIFICATION_SMTP_FROM: 'Kizuna <kizuna@example.com>',
      NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true',
      NOTIFICATION_SECRET_KEY: secretKey,
      NOTIFICATION_RETRY_SCHEDULE: '200ms,200ms,200ms',
      NOTIFICATION_DELIVERY_POLL_MS: '100',
      NOTIFICATION_ENDPOINT_DISABLE_AFTER_MS: '60000',
      NOTIFICATION_PUBLIC_URL: 'https://kizuna.example.com',
    });
    app = await startApp(groupPrefix);
    producer = kafka.producer();
    await producer.connect();
    outcomes = await new TopicRecorder(kafka, [Topics.notification], (m) => m.key !== null && accounts.has(m.key)).start();
  });

  afterAll(async () => {
    await outcomes?.stop();
    await producer?.disconnect();
    await app?.close();
    await smtp.stop();
    process.env = env;
  });

  const account = () => {
    const id = `acc-${randomUUID()}`;
    accounts.add(id);
    return id;
  };
  const event = <T extends EventType>(type: T, accountId: string, data: PayloadOf<T>): CloudEvent<T> =>
    createEvent('kizuna/test', { type, subject: accountId, data }, clock.now());
  const send = (...events: CloudEvent[]) =>
    producer.send({ topic: topicOf((events[0] as CloudEvent).type as EventType), messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e), headers: eventHeaders(e) })) });
  const api = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, body?: unknown, on = app) => {
    const authorization = `Bearer ${await testToken({ roles: ['admin'] })}`;
    const r = await on.inject({ method, url, headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    return { status: r.statusCode, json: r.body && r.headers['content-type']?.toString().includes('json') ? JSON.parse(r.body) : r.body };
  };
  const csm = (tag: string) => ({ csmId: `csm-${tag}-${randomUUID().slice(0, 6)}`, name: `CSM ${tag}`, email: `${tag}-${randomUUID().slice(0, 6)}@example.com` });
  const escalation = (type: 'cs.escalation.assigned.v1' | 'cs.escalation.sla-breached.v1' | 'cs.escalation.reassigned.v1', accountId: string, assignee: ReturnType<typeof csm>, over: Partial<PayloadOf<'cs.escalation.assigned.v1'>> = {}) =>
    event(type, accountId, {
      escalationId: `esc-${randomUUID().slice(0, 8)}`, reason: EscalationReason.RepeatInquiries, state: EscalationState.Assigned, priority: 'high',
      assignee: { ...assignee, why: 'account owner (concierge)' },
      evidence: [{ kind: 'ticket', ref: 'zd-4711', summary: 'Third SSO question in five days', at: clock.now().toISOString() }],
      context: { accountName: 'Acme Logistics', band: HealthBand.Danger, healthScore: 28, phase: 'adoption' as never, arr: 180000, region: 'apac', topMovers: ['engagement.active_users -14'] },
      changedAt: clock.now().toISOString(),
      ...over,
    });
  /** Directory and health/lifecycle events travel on different topics: wait for the owner before the trigger. */
  const ownerKnown = (acc: string) =>
    waitFor('the owner in the directory projection', async () => {
      const [r] = await app.get(DataSource).query('SELECT owner_email FROM notification.account_directory WHERE account_id = $1', [acc]);
      return r?.owner_email ? true : undefined;
    });
  const mailsTo = (address: string): Mail[] => smtp.mails.filter((m) => m.to.includes(address)).map((m) => ({ to: m.to, raw: m.raw, text: decodeQp(m.raw) }));
  const outcomesOf = (accountId: string) => outcomes.messages.filter((m) => m.key === accountId).map((m) => JSON.parse(m.value ?? '{}') as CloudEvent<'cs.notification.delivered.v1'>);
  const deliveries = async (recipient: string, on = app) => (await api('GET', `/v1/deliveries?recipient=${recipient}&limit=500`, undefined, on)).json.items as { id: string; channel: string; status: string; attempts: number; throttled: number; held: boolean; providerResponse: string; attemptLog: unknown[]; triggerEventId: string }[];

  it('e-mails an assigned escalation to the assignee through a real SMTP server, with its context, and files it in the in-app inbox', async () => {
    const acc = account();
    const aiko = csm('aiko');
    const e = escalation('cs.escalation.assigned.v1', acc, aiko);
    await send(e);
    const [mail] = await waitFor('the e-mail at the SMTP server', () => (mailsTo(aiko.email).length ? mailsTo(aiko.email) : undefined));
    expect(mail?.text).toContain(`To: ${aiko.email}`);
    expect(mail?.text).toContain('Subject: [Kizuna] Escalation assigned: Acme Logistics');
    for (const fact of ['repeat-inquiries', 'danger (28)', 'apac', 'Third SSO question in five days', 'account owner (concierge)', 'engagement.active_users -14']) expect(mail?.text).toContain(fact);
    expect(mail?.raw).toContain('Content-Type: text/html');
    expect(mail?.raw).toContain('Content-Type: text/plain');

    const inbox = await api('GET', `/v1/notifications?recipient=${aiko.csmId}&unread=true`);
    expect(inbox.json.items).toHaveLength(1);
    expect(inbox.json.items[0]).toMatchObject({ trigger: 'escalation.assigned', accountName: 'Acme Logistics', read: false, triggerEventId: e.id });
    expect((await api('POST', `/v1/notifications/${inbox.json.items[0].id}/read`)).json.read).toBe(true);
    expect((await api('GET', `/v1/notifications?recipient=${aiko.csmId}&unread=true`)).json.items).toHaveLength(0);
    expect((await api('POST', `/v1/notifications/${randomUUID()}/read`)).status).toBe(404);
    expect((await api('GET', '/v1/notifications')).status).toBe(400);

    // every delivery logged, and its outcome on cs.notification.v1
    const logged = await waitFor('both deliveries delivered', async () => {
      const d = await deliveries(aiko.csmId);
      return d.length === 2 && d.every((x) => x.status === 'delivered') ? d : undefined;
    });
    const email = logged.find((d) => d.channel === 'email');
    expect(email?.providerResponse).toMatch(/^250/);
    expect(email?.attempts).toBe(1);
    // This instance's outcomes (its deliveries' ids): other suites' notification instances on the shared
    // broker may deliver the same escalation event from their own databases.
    const own = new Set(logged.map((d) => d.id));
    const ownOutcomes = () => outcomesOf(acc).filter((x) => own.has(x.data.deliveryId));
    const events = await waitFor('delivered events', () => (ownOutcomes().length === 2 ? ownOutcomes() : undefined), { timeoutMs: 60000 });
    expect(events.map((x) => x.type)).toEqual(['cs.notification.delivered.v1', 'cs.notification.delivered.v1']);
    expect(events.map((x) => x.data.channel).sort()).toEqual(['email', 'in-app']);
    expect(events[0]?.data).toMatchObject({ triggerEventId: e.id, recipient: aiko.csmId, trigger: 'escalation.assigned' });
    // The e-mail's outcome continues the trace the escalation event arrived on.
    const [consumed] = await app.get(DataSource).query('SELECT trace_id FROM notification.inbox WHERE event_id = $1', [e.id]);
    // This instance's (another suite's instance continues the trace it started on consuming the same event).
    const emailOutcome = outcomes.messages.find((m) => {
      const data = (JSON.parse(m.value ?? '{}') as { data: { channel: string; deliveryId: string } }).data;
      return m.key === acc && data.channel === 'email' && own.has(data.deliveryId);
    });
    expect(consumed.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(emailOutcome?.headers['traceparent']?.split('-')[1]).toBe(consumed.trace_id);
  });

  /** Plans an escalation-assigned e-mail to `who` in `m`'s transaction, with a hand-off (what the consumer does). */
  const planEmail = (m: EntityManager, acc: string, who: { csmId: string; email: string }, handOff: DeliveryHandOff) =>
    app.get(NotificationPlanner).plan(m, {
      triggerEventId: `handoff-${acc}`, trigger: 'escalation.assigned', recipient: who.csmId, accountId: acc, priority: 'high',
      content: { trigger: 'escalation.assigned', priority: 'high', accountId: acc, accountName: 'Hand-off Ltd', triggerEventId: `handoff-${acc}`, title: 'Escalation assigned: Hand-off Ltd', summary: 'x', facts: [], evidence: [] },
      window: { timeZone: 'UTC' },
      targets: [{ channel: 'email' as never, address: who.email, targetKey: `email:${who.email}` }],
    }, handOff);
  const deliveryStatus = async (acc: string) =>
    (await app.get(DataSource).query('SELECT status, lease_until FROM notification.delivery WHERE account_id = $1', [acc]))[0] as { status: string; lease_until: Date | null };

  it('hands an e-mail due now to this instance inserted as claimed; one whose process died before the send is claimed again once its lease ends', async () => {
    const worker = app.get(DeliveryWorker);
    const ds = app.get(DataSource);
    const mia = csm('mia');
    const plan = (acc: string, handOff: DeliveryHandOff) => ds.transaction((m) => planEmail(m, acc, mia, handOff));
    const statusOf = deliveryStatus;

    // Committed, then sent by this instance without a claim.
    const sent = account();
    const first = worker.handOff();
    expect(await plan(sent, first.handOff)).toBe(1);
    expect(await statusOf(sent)).toMatchObject({ status: 'sending' });
    first.commit();
    await waitFor('the handed-off e-mail', () => (mailsTo(mia.email).length === 1 ? true : undefined));
    await waitFor('recorded as delivered', async () => ((await statusOf(sent)).status === 'delivered' ? true : undefined));
    // The same trigger planned again (a redelivered event) inserts nothing and hands nothing off.
    const again = worker.handOff();
    expect(await plan(sent, again.handOff)).toBe(0);
    again.commit();

    // Committed, and the process "dies" before the send: the hand-off is dropped (as a crash drops it).
    const orphan = account();
    const lost = worker.handOff();
    expect(await plan(orphan, lost.handOff)).toBe(1);
    lost.cancel();
    const leased = await statusOf(orphan);
    expect(leased.status).toBe('sending');
    worker.kick();
    await worker.drain();
    expect(mailsTo(mia.email)).toHaveLength(1); // its lease holds the orphan
    clock.offsetMs += new Date(leased.lease_until as Date).getTime() - clock.now().getTime() + 1000;
    worker.kick();
    await waitFor('the orphan sent after its lease', () => (mailsTo(mia.email).length === 2 ? true : undefined));
    await waitFor('recorded as delivered', async () => ((await statusOf(orphan)).status === 'delivered' ? true : undefined));
    await worker.drain();
    expect(mailsTo(mia.email)).toHaveLength(2);
  });

  it('shuts down only after a hand-off still in its transaction committed and was sent, before the channels close', async () => {
    // A worker of its own (the app's keeps running for the other tests), on the app's database, planner and relay.
    const worker = new DeliveryWorker(app.get(DataSource), app.get(OutboxRelay), app.get(NotificationPlanner), clock, pino({ level: 'silent' }));
    const noa = csm('noa');
    const acc = account();
    const h = worker.handOff();
    const tx = app.get(DataSource).createQueryRunner();
    await tx.connect();
    await tx.startTransaction();
    expect(await planEmail(tx.manager, acc, noa, h.handOff)).toBe(1);
    const stopped = worker.onModuleDestroy(); // shutdown starts while the consumer's transaction is still open
    await tx.commitTransaction();
    await tx.release();
    h.commit();
    await stopped;
    expect(mailsTo(noa.email)).toHaveLength(1);
    expect((await deliveryStatus(acc)).status).toBe('delivered');
  });

  // Issue 6/7: escalation-routing opened the escalation from a ticket it processed before the account's
  // directory event (another topic), so the event had no account name, and this service had not
  // applied the directory event either when it planned the notice: the e-mail showed the account id.
  it('names the account in a notice planned before its name was known, once the directory event is applied before the send', async () => {
    const acc = account();
    const ida = csm('ida');
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = clock.now();
    // Quiet hours hold the e-mail: it is planned now and sent after the directory event arrived.
    expect((await api('PUT', `/v1/recipients/${ida.csmId}`, {
      email: ida.email, name: 'Ida', timeZone: 'UTC', quietHours: { start: hhmm(new Date(now.getTime() - 60_000)), end: hhmm(new Date(now.getTime() + 7_200_000)) },
    })).status).toBe(200);
    const e = escalation('cs.escalation.assigned.v1', acc, ida, { context: { band: HealthBand.Danger, healthScore: 28, topMovers: [] } });
    await send(e);
    const held = await waitFor('the held e-mail', async () => (await deliveries(ida.csmId)).find((d) => d.channel === 'email'));
    expect(held).toMatchObject({ status: 'pending', held: true });
    expect((await api('GET', `/v1/notifications?recipient=${ida.csmId}`)).json.items[0]).toMatchObject({ accountName: acc });
    await send(event('cs.directory.account.updated.v1', acc, { sourceId: 'crm', messageId: `n-${acc}`, accountId: acc, traits: { name: 'Initech Japan' }, rawTraits: {}, timestamp: now.toISOString() }));
    await waitFor('the name in the directory projection', async () => {
      const [r] = await app.get(DataSource).query('SELECT name FROM notification.account_directory WHERE account_id = $1', [acc]);
      return r?.name ? true : undefined;
    });
    clock.offsetMs += 7_300_000;
    const mail = await waitFor('the e-mail after quiet hours', () => mailsTo(ida.email)[0]);
    expect(mail.text).toContain('Subject: [Kizuna] Escalation assigned: Initech Japan');
    expect(mail.text).toContain('Account: Initech Japan');
    expect(mail.text).not.toContain(acc);
    expect((await api('GET', `/v1/notifications?recipient=${ida.csmId}`)).json.items[0]).toMatchObject({ trigger: 'escalation.assigned', accountName: 'Initech Japan', triggerEventId: e.id });
  });

  it('sends one e-mail for an event delivered twice, and none again after a restart that re-reads it (offset never committed)', async () => {
    const acc = account();
    const ben = csm('ben');
    const e = escalation('cs.escalation.assigned.v1', acc, ben);
    const marker = escalation('cs.escalation.sla-breached.v1', acc, ben);
    await send(e, e);
    await send(marker);
    await waitFor('the marker e-mail', () => mailsTo(ben.email).some((m) => m.text.includes('SLA breached')));
    await app.get(DeliveryWorker).drain();
    expect(mailsTo(ben.email).filter((m) => m.text.includes('Escalation assigned'))).toHaveLength(1);

    // "Killed after the e-mail was sent, before the offset commit": a restarted instance whose group
    // has no committed offset reads the event again. Its inbox claim is new (another group), so only
    // the deliveries' idempotency key stands between the event and a second e-mail.
    await app.close();
    const second = await startApp(`${groupPrefix}-restarted`);
    try {
      await waitFor('the restarted instance re-read the event', async () => {
        const [r] = await second.get(DataSource).query('SELECT count(*)::int AS n FROM notification.inbox WHERE event_id = $1 AND consumer = ANY($2)', [
          marker.id, [`${groupPrefix}.notification`, `${groupPrefix}-restarted.notification`],
        ]);
        return r.n === 2;
      }, { timeoutMs: 60000 });
      await second.get(DeliveryWorker).drain();
      expect(mailsTo(ben.email).filter((m) => m.text.includes('Escalation assigned'))).toHaveLength(1);
      expect(mailsTo(ben.email).filter((m) => m.text.includes('SLA breached'))).toHaveLength(1);
      const d = await deliveries(ben.csmId, second);
      expect(d.filter((x) => x.triggerEventId === e.id && x.channel === 'email')).toHaveLength(1);
    } finally {
      await second.close();
      app = await startApp(groupPrefix);
    }
  });

  it('signs outbound webhooks per Standard Webhooks; the receiver verifies with the exported helper, during a secret rotation', async () => {
    const hook = await receiver(() => ({ status: 204 }));
    try {
      const acc = account();
      const cho = csm('cho');
      const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
      const put = await api('PUT', `/v1/recipients/${cho.csmId}`, {
        email: cho.email, name: cho.name, channels: { 'escalation.assigned': ['webhook'] },
        webhooks: [{ id: 'ops', url: hook.url, secrets: [oldSecret, newSecret] }],
      });
      expect(put.status).toBe(200);
      expect(put.json.recipient.webhooks[0].secrets).toEqual([`whsec_…${oldSecret.slice(-4)}`, `whsec_…${newSecret.slice(-4)}`]);
      const e = escalation('cs.escalation.assigned.v1', acc, cho);
      await send(e);
      const [hit] = await waitFor('the webhook', () => (hook.hits.length ? hook.hits : undefined));
      const payload = verifyWebhook<{ type: string; data: { recipient: string; notifications: { accountName: string; triggerEventId: string; facts: Record<string, string> }[] } }>({
        body: hit?.body ?? '', headers: hit?.headers ?? {}, secrets: [newSecret], now: clock.now(),
      });
      expect(payload.type).toBe('kizuna.notification.escalation.assigned');
      expect(payload.data.recipient).toBe(cho.csmId);
      expect(payload.data.notifications[0]).toMatchObject({ accountName: 'Acme Logistics', triggerEventId: e.id });
      expect(() => verifyWebhook({ body: `${hit?.body} `, headers: hit?.headers ?? {}, secrets: [newSecret], now: clock.now() })).toThrow();
      expect(mailsTo(cho.email)).toHaveLength(0);
    } finally {
      await hook.close();
    }
  });

  it('gets every Slack message through, in order, one per second, after honouring a 429 Retry-After', async () => {
    const slack = await receiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    try {
      const acc = account();
      const dee = csm('dee');
      expect((await api('PUT', `/v1/recipients/${dee.csmId}`, { email: dee.email, slackWebhookUrl: slack.url, channels: { 'escalation.assigned': ['slack'] } })).status).toBe(200);
      const events = [1, 2, 3, 4].map((i) => escalation('cs.escalation.assigned.v1', acc, dee, { note: `message ${i}` }));
      await send(...events);
      await waitFor('five requests (one 429, four accepted)', () => slack.hits.length >= 5 || undefined, { timeoutMs: 30000 });
      const bodies = slack.hits.map((h) => JSON.parse(h.body) as { text: string; blocks: { type: string; fields?: { text: string }[] }[] });
      const notes = bodies.map((b) => b.blocks.flatMap((x) => x.fields ?? []).map((f) => f.text).find((t) => t.startsWith('*Note*')));
      expect(notes).toEqual(['*Note*\nmessage 1', '*Note*\nmessage 1', '*Note*\nmessage 2', '*Note*\nmessage 3', '*Note*\nmessage 4']);
      expect(bodies[0]?.blocks[0]).toMatchObject({ type: 'header' });
      const at = slack.hits.map((h) => h.at);
      expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(950);
      for (let i = 2; i < at.length; i++) expect((at[i] as number) - (at[i - 1] as number)).toBeGreaterThanOrEqual(950);
      const d = await waitFor('all delivered', async () => {
        const x = await deliveries(dee.csmId);
        return x.length === 4 && x.every((y) => y.status === 'delivered') ? x : undefined;
      });
      expect(d.reduce((s, x) => s + x.throttled, 0)).toBe(1);
      expect(d.every((x) => x.attempts === 1)).toBe(true);
    } finally {
      await slack.close();
    }
  });

  it('retries a failing endpoint (3xx is a failure), dead-letters it after the last attempt, lists it and retries it on request', async () => {
    let healthy = false;
    const hook = await receiver(() => (healthy ? { status: 200 } : { status: 302, headers: { location: 'http://127.0.0.1:1/' } }));
    try {
      const acc = account();
      const eve = csm('eve');
      await api('PUT', `/v1/recipients/${eve.csmId}`, { email: eve.email, channels: { 'escalation.assigned': ['webhook'] }, webhooks: [{ id: 'crm', url: hook.url }] });
      await send(escalation('cs.escalation.assigned.v1', acc, eve));
      const [dead] = await waitFor('the dead letter', async () => {
        const r = await api('GET', `/v1/deliveries?status=dead-lettered&recipient=${eve.csmId}`);
        return r.json.items.length ? r.json.items : undefined;
      });
      expect(dead).toMatchObject({ attempts: 4, channel: 'webhook', status: 'dead-lettered' });
      expect(dead.providerResponse).toMatch(/^HTTP 302/);
      expect(dead.attemptLog).toHaveLength(4);
      expect(hook.hits).toHaveLength(4);
      await waitFor('failed and dead-lettered events', () => {
        const types: string[] = outcomesOf(acc).map((x) => x.type);
        return types.filter((t) => t === 'cs.notification.failed.v1').length === 3 && types.includes('cs.notification.dead-lettered.v1') || undefined;
      }, { timeoutMs: 60000 });
      expect((await api('POST', `/v1/deliveries/${dead.id}/retry`)).status).toBe(202);
      healthy = true;
      await waitFor('delivered on retry', async () => (await api('GET', `/v1/deliveries/${dead.id}`)).json.status === 'delivered' || undefined);
      expect((await api('POST', `/v1/deliveries/${dead.id}/retry`)).status).toBe(409);
    } finally {
      await hook.close();
    }
  });

  it('disables an endpoint that keeps failing past the limit, dead-letters its queue and alerts its owner', async () => {
    const hook = await receiver(() => ({ status: 500 }));
    const fay = csm('fay');
    try {
      const acc = account();
      await api('PUT', `/v1/recipients/${fay.csmId}`, { email: fay.email, channels: { 'escalation.assigned': ['webhook'] }, webhooks: [{ id: 'down', url: hook.url }] });
      await send(escalation('cs.escalation.assigned.v1', acc, fay));
      await waitFor('the first delivery dead-lettered', async () => (await deliveries(fay.csmId)).some((d) => d.status === 'dead-lettered') || undefined);
      expect(hook.hits).toHaveLength(4);
      // Failing since more than NOTIFICATION_ENDPOINT_DISABLE_AFTER_MS (60 s) at the next failure:
      clock.offsetMs += 120_000;
      await send(escalation('cs.escalation.assigned.v1', acc, fay));
      const alert = await waitFor('the alert e-mail', () => mailsTo(fay.email).find((m) => m.text.includes('endpoint was disabled')));
      expect(alert.text).toContain('HTTP 500');
      expect(hook.hits).toHaveLength(5);
      const inbox = await api('GET', `/v1/notifications?recipient=${fay.csmId}`);
      expect(inbox.json.items[0]).toMatchObject({ trigger: 'endpoint.disabled' });
      await send(escalation('cs.escalation.assigned.v1', acc, fay));
      await waitFor('the third delivery dead-lettered without a request', async () => {
        const d = await deliveries(fay.csmId);
        return d.filter((x) => x.channel === 'webhook' && x.status === 'dead-lettered').length === 3 || undefined;
      });
      expect(hook.hits).toHaveLength(5);
    } finally {
      await hook.close();
    }
  });

  it('alerts the account owner (from the directory projection) when health drops to danger, held through their quiet hours', async () => {
    const acc = account();
    const gus = csm('gus');
    // Quiet from now to 2 hours from now in UTC.
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = clock.now();
    await api('PUT', `/v1/recipients/${gus.csmId}`, {
      email: gus.email, name: 'Gus', timeZone: 'UTC', quietHours: { start: hhmm(new Date(now.getTime() - 60_000)), end: hhmm(new Date(now.getTime() + 7_200_000)) },
    });
    await send(event('cs.directory.account.updated.v1', acc, { sourceId: 'crm', messageId: `g-${acc}`, accountId: acc, traits: { name: 'Globex', ownerCsmEmail: gus.email.toUpperCase() }, rawTraits: {}, timestamp: now.toISOString() }));
    await ownerKnown(acc);
    await send(event('cs.health.score.changed.v1', acc, {
      score: 22.5, band: HealthBand.Danger, previousScore: 61, previousBand: HealthBand.Caution, scorecardId: 'smb', scorecardVersion: 1,
      topMovers: [{ component: 'engagement', measure: 'active_users_7d', deltaPoints: -21 }], computedAt: now.toISOString(),
    }));
    const held = await waitFor('held deliveries', async () => {
      const d = await deliveries(gus.csmId);
      return d.length === 3 ? d : undefined; // danger (email, in-app) + large drop (in-app)
    });
    expect(held.filter((d) => d.channel === 'email')).toMatchObject([{ status: 'pending', held: true }]);
    const inbox = await api('GET', `/v1/notifications?recipient=${gus.csmId}`);
    expect(inbox.json.items.map((n: { trigger: string }) => n.trigger).sort()).toEqual(['health.danger', 'health.large-drop']);
    expect(mailsTo(gus.email)).toHaveLength(0);
    clock.offsetMs += 7_300_000;
    const mail = await waitFor('the e-mail after quiet hours', () => mailsTo(gus.email)[0]);
    expect(mail.text).toContain('Globex dropped to the danger band');
    expect(mail.text).toContain('engagement.active_users_7d -21.0');
  });

  it('collects low-priority triggers into one daily digest', async () => {
    const acc = account();
    const hal = csm('hal');
    const digestHour = (clock.now().getUTCHours() + 3) % 24;
    await api('PUT', `/v1/recipients/${hal.csmId}`, {
      email: hal.email, timeZone: 'UTC', digest: { enabled: true, hour: digestHour }, channels: { 'lifecycle.touch-model-changed': ['email', 'in-app'] },
    });
    await send(event('cs.directory.account.updated.v1', acc, { sourceId: 'crm', messageId: `h-${acc}`, accountId: acc, traits: { name: 'Initech', ownerCsmEmail: hal.email }, rawTraits: {}, timestamp: clock.now().toISOString() }));
    await ownerKnown(acc);
    await send(
      event('cs.lifecycle.renewal-window.opened.v1', acc, { renewalDate: '2027-03-01T00:00:00Z', daysBefore: 90, openedAt: clock.now().toISOString() }),
      event('cs.lifecycle.touch-model.changed.v1', acc, { from: 'low' as never, to: 'tech' as never, cause: 'ARR fell below 20000', changedAt: clock.now().toISOString() }),
    );
    await waitFor('two digest deliveries', async () => (await deliveries(hal.csmId)).filter((d) => d.channel === 'email' && d.status === 'pending').length === 2 || undefined);
    expect(mailsTo(hal.email)).toHaveLength(0);
    clock.offsetMs += 3 * 3_600_000 + 60_000;
    const digest = await waitFor('the digest', () => mailsTo(hal.email)[0]);
    expect(digest.text).toContain('Your Kizuna digest: 2 notifications');
    expect(digest.text).toContain('Renewal window opened: Initech');
    expect(digest.text).toContain('Touch model changed: Initech');
    await app.get(DeliveryWorker).drain();
    expect(mailsTo(hal.email)).toHaveLength(1);
  });

  it('plays a tech-touch guide to the admin contact when onboarding stalls, capped, and stops after an unsubscribe', async () => {
    const acc = account();
    const at = clock.now().toISOString();
    const admin = `admin-${randomUUID().slice(0, 6)}@customer.example`;
    const user = `user-${randomUUID().slice(0, 6)}@customer.example`;
    const plays = await api('GET', '/v1/plays');
    const guide = { ...plays.json.plays[0], links: { 'invite-team': 'https://docs.example.com/guides/invite-your-team' } };
    expect((await api('PUT', '/v1/plays', { plays: [guide, plays.json.plays[1]] })).status).toBe(200);
    await send(
      event('cs.directory.user.identified.v1', acc, { sourceId: 'app', messageId: `u1-${acc}`, userId: 'u1', accountId: acc, traits: { email: admin, name: 'Kim', role: 'Admin' }, timestamp: at }),
      event('cs.directory.user.identified.v1', acc, { sourceId: 'app', messageId: `u2-${acc}`, userId: 'u2', accountId: acc, traits: { email: user, role: 'member' }, timestamp: at }),
    );
    await send(event('cs.lifecycle.touch-model.changed.v1', acc, { from: null, to: 'tech' as never, cause: 'smb', changedAt: at }));
    await waitFor('contacts and touch model projected', async () => {
      const [r] = await app.get(DataSource).query(
        `SELECT a.touch_model, (SELECT count(*)::int FROM notification.account_contact c WHERE c.account_id = a.account_id) AS contacts
           FROM notification.account_directory a WHERE a.account_id = $1`, [acc]);
      return r?.touch_model === 'tech' && r.contacts === 2 ? true : undefined;
    });
    const stalled = () => event('cs.lifecycle.onboarding.stalled.v1', acc, { milestone: 'invite-team', dueAt: at, completed: ['signup'], missing: ['invite-team'], detectedAt: at });
    await send(stalled());
    const mail = await waitFor('the play e-mail', () => mailsTo(admin)[0]);
    expect(mail.text).toContain('Subject: Next step for');
    expect(mail.text).toContain('https://docs.example.com/guides/invite-your-team');
    expect(mailsTo(user)).toHaveLength(0);
    const link = /https:\/\/kizuna\.example\.com(\/v1\/unsubscribe\?[^\s"<]+)/.exec(mail.text)?.[1] ?? '';
    expect(link).toContain('token=');

    // within the frequency cap: nothing more
    const again = stalled();
    await send(again);
    await waitFor('the second stall consumed', async () => {
      const [r] = await app.get(DataSource).query('SELECT count(*)::int AS n FROM notification.inbox WHERE event_id = $1 AND consumer = $2', [again.id, `${groupPrefix}.notification`]);
      return r.n === 1 || undefined;
    });
    await app.get(DeliveryWorker).drain();
    expect(mailsTo(admin)).toHaveLength(1);

    // past the cap, but unsubscribed through the link
    expect((await api('GET', link.replace(/&amp;/g, '&'))).status).toBe(200);
    expect((await api('GET', `/v1/unsubscribe?email=${encodeURIComponent(admin)}&token=forged`)).status).toBe(403);
    clock.offsetMs += 8 * 86_400_000;
    const third = stalled();
    await send(third);
    await waitFor('the third stall consumed', async () => {
      const [r] = await app.get(DataSource).query('SELECT count(*)::int AS n FROM notification.inbox WHERE event_id = $1 AND consumer = $2', [third.id, `${groupPrefix}.notification`]);
      return r.n === 1 || undefined;
    });
    await app.get(DeliveryWorker).drain();
    expect(mailsTo(admin)).toHaveLength(1);
    expect((await api('DELETE', `/v1/opt-outs/${encodeURIComponent(admin)}`)).status).toBe(204);
  });

  it('sends the feature tutorial to admins of tech-touch accounts that never used the feature, once per cap window', async () => {
    const [never, adopted] = [account(), account()];
    const old = new Date(clock.now().getTime() - 20 * 86_400_000).toISOString();
    const admins = { [never]: `n-${randomUUID().slice(0, 6)}@customer.example`, [adopted]: `a-${randomUUID().slice(0, 6)}@customer.example` };
    const { json } = await api('GET', '/v1/plays');
    const tutorial = { ...json.plays.find((p: { trigger: string }) => p.trigger === 'feature.not-adopted'), enabled: true, links: { 'Report Shared': 'https://docs.example.com/tutorials/sharing' } };
    expect((await api('PUT', '/v1/plays', { plays: [...json.plays.filter((p: { id: string }) => p.id !== tutorial.id), tutorial] })).status).toBe(200);
    for (const acc of [never, adopted]) {
      await send(event('cs.directory.user.identified.v1', acc, { sourceId: 'app', messageId: `f-${acc}`, userId: 'admin', accountId: acc, traits: { email: admins[acc], isAdmin: true }, timestamp: old }));
      await send(event('cs.lifecycle.touch-model.changed.v1', acc, { from: null, to: 'tech' as never, cause: 'smb', changedAt: old }));
      await send(event('cs.product.track.v1', acc, {
        kind: 'track', sourceId: 'app', messageId: `t-${acc}`, accountId: acc, userId: 'admin', event: acc === adopted ? 'Report Shared' : 'Dashboard Viewed',
        properties: {}, timestamp: old, receivedAt: old,
      }));
    }
    await waitFor('both accounts projected', async () => {
      const rows = await app.get(DataSource).query(
        `SELECT a.account_id FROM notification.account_directory a JOIN notification.account_contact c USING (account_id)
          WHERE a.account_id = ANY($1) AND a.touch_model = 'tech' AND EXISTS (SELECT 1 FROM notification.account_feature_use f WHERE f.account_id = a.account_id)`,
        [[never, adopted]],
      );
      return rows.length === 2 || undefined;
    });
    const runner = app.get(PlayRunner);
    expect(await runner.sweepFeatureAdoption()).toBeGreaterThanOrEqual(1);
    const mail = await waitFor('the tutorial', () => mailsTo(admins[never] as string)[0]);
    expect(mail.text).toContain('Subject: Get more from Report Shared');
    expect(mail.text).toContain('https://docs.example.com/tutorials/sharing');
    await runner.sweepFeatureAdoption();
    await app.get(DeliveryWorker).drain();
    expect(mailsTo(admins[never] as string)).toHaveLength(1);
    expect(mailsTo(admins[adopted] as string)).toHaveLength(0);
  });

  it('keeps the first use of each feature and the first sight of each account from a run of product events, whatever their order', async () => {
    const [one, two] = [account(), account()];
    const day = (d: number) => new Date(Date.UTC(2026, 0, d)).toISOString();
    const track = (acc: string, n: number, feature: string, at: string) =>
      event('cs.product.track.v1', acc, { kind: 'track', sourceId: 'app', messageId: `run-${acc}-${n}`, accountId: acc, userId: 'u', event: feature, properties: {}, timestamp: at, receivedAt: at });
    // One send: consecutive messages of a partition, handled as one run; the later times come first.
    await send(
      track(one, 1, 'Report Shared', day(9)), track(two, 2, 'Report Shared', day(8)), track(one, 3, 'Report Shared', day(3)),
      track(one, 4, 'Dashboard Viewed', day(5)), track(two, 5, 'Report Shared', day(4)), track(one, 6, 'Report Shared', day(7)),
    );
    const ds = app.get(DataSource);
    const uses = await waitFor('the features used', async () => {
      const rows: { account_id: string; feature: string; first_used_at: Date }[] = await ds.query(
        'SELECT account_id, feature, first_used_at FROM notification.account_feature_use WHERE account_id = ANY($1) ORDER BY account_id, feature', [[one, two]],
      );
      return rows.length === 3 ? rows : undefined;
    });
    expect(uses.map((r) => [r.account_id, r.feature, r.first_used_at.toISOString()])).toEqual(
      [[one, 'Dashboard Viewed', day(5)], [one, 'Report Shared', day(3)], [two, 'Report Shared', day(4)]].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
    const seen: { account_id: string; first_seen_at: Date }[] = await ds.query('SELECT account_id, first_seen_at FROM notification.account_directory WHERE account_id = ANY($1)', [[one, two]]);
    expect(Object.fromEntries(seen.map((r) => [r.account_id, r.first_seen_at.toISOString()]))).toEqual({ [one]: day(3), [two]: day(4) });
    // A later event with an earlier time still wins; a later time changes nothing (same partition, in order;
    // the one with the later time is passed over by its headers, unparsed).
    await send(track(one, 7, 'Dashboard Viewed', day(20)), track(one, 8, 'Report Shared', day(1)));
    await waitFor('the earlier first use', async () => {
      const rows: { first_used_at: Date }[] = await ds.query(`SELECT first_used_at FROM notification.account_feature_use WHERE account_id = $1 AND feature = 'Report Shared'`, [one]);
      return rows[0]?.first_used_at.toISOString() === day(1) || undefined;
    });
    const dashboard: { first_used_at: Date }[] = await ds.query(`SELECT first_used_at FROM notification.account_feature_use WHERE account_id = $1 AND feature = 'Dashboard Viewed'`, [one]);
    expect(dashboard[0]?.first_used_at.toISOString()).toBe(day(5));
  });

  it('validates preferences and configuration at the edge', async () => {
    const bad = await api('PUT', '/v1/recipients/x', { email: 'x@example.com', timeZone: 'Mars/Base', channels: { 'nope': ['email'] }, webhooks: [{ id: 'a', url: 'ftp://x', secrets: ['whsec_short'] }] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toEqual(expect.arrayContaining([
      'timeZone: "Mars/Base" is not an IANA time zone', 'channels: unknown trigger "nope"', 'webhooks.a.url: ftp://x must be http or https',
    ]));
    expect((await api('PUT', '/v1/recipients/x', { email: 'x@example.com', extra: 1 })).status).toBe(400);
    const rules = await api('GET', '/v1/trigger-rules');
    const drop = rules.json.rules.find((r: { trigger: string }) => r.trigger === 'health.large-drop');
    expect(drop.threshold).toBe(15);
    expect((await api('PUT', '/v1/trigger-rules', { rules: [{ ...drop, threshold: 10 }] })).json.version).toBeGreaterThanOrEqual(1);
    expect((await api('PUT', '/v1/trigger-rules', { rules: [{ ...drop, channels: ['pager'] }] })).status).toBe(400);
    expect((await api('GET', '/v1/deliveries?status=lost')).status).toBe(400);
  });

  it('documents exactly its routes in docs/api/notification.openapi.yaml, served at /docs', async () => {
    expect([...documentedRoutes(spec)].sort()).toEqual([...routes].sort());
    expect((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200);
  });
});
