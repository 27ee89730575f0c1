import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  ALL_TOPICS, EscalationChangedV1, HealthBand, ManualClock, Topics, createEvent, eventHeaders, topicOf, type CloudEvent, type EventType, type PayloadOf,
} from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, openApiDocument, serviceRootModule } from '@kizuna/shared/service-kit';
import { documentedRoutes, recordRoutes, startConsumerGroupAtEnd, testKafka, testToken, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { escalationRoutingData } from '@kizuna/escalation-routing/data-access';
import { EscalationRoutingModule } from './escalation-routing.module';
import { RulesStore } from './rules-store.service';
import { SlaSweeper } from './sla-sweeper.service';

type EscalationEvent = Omit<CloudEvent<'cs.escalation.opened.v1'>, 'type'> & { type: string };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** escalation-routing in-process against the real broker and Postgres, with a manual clock. */
describe('escalation-routing service', () => {
  // A Tuesday, 10:00 UTC
  const clock = new ManualClock('2026-05-19T10:00:00Z');
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  let app: NestFastifyApplication;
  let producer: Producer;
  let recorder: TopicRecorder;
  const accountIds = new Set<string>();
  let seq = 0;
  let routes = new Set<string>();
  const spec = openApiDocument('escalation-routing.openapi.yaml');
  const group = `it-${run}.escalation-routing`;

  beforeAll(async () => {
    process.env['ESCALATION_RULES_CACHE_MS'] = '0';
    process.env['ESCALATION_SLA_SWEEP_INTERVAL_MS'] = '3600000';
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: `it-${run}`, KAFKA_RETRY_BACKOFF_MS: '10' });
    // Only this suite's events: other suites leave thousands of product events on the shared broker.
    await startConsumerGroupAtEnd(kafka, group, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'escalation-routing', defaultPort: 0, data: escalationRoutingData, feature: EscalationRoutingModule }, config, logger, clock);
    app = await createServiceApp({ name: 'escalation-routing', module: root, config, logger, defaultPort: 0, openApi: spec });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    producer = kafka.producer();
    await producer.connect();
    recorder = await new TopicRecorder(kafka, [Topics.escalation, Topics.roster], (m) => m.key !== null && (accountIds.has(m.key) || (m.key.startsWith('csm:') && m.key.endsWith(`-${run}`)))).start();
    await roster();
  });

  afterAll(async () => {
    await recorder?.stop();
    await producer?.disconnect();
    await app?.close();
  });

  const id = (s: string) => `${s}-${run}`;
  const account = () => {
    const a = `acc-${randomUUID()}`;
    accountIds.add(a);
    return a;
  };
  function event<T extends EventType>(type: T, accountId: string, data: PayloadOf<T>): CloudEvent<T> {
    return createEvent('kizuna/test', { type, subject: accountId, data }, clock.now());
  }
  /** Ids of the events this suite sent: other suites' services emit events for these accounts too (same broker). */
  const sent = new Set<string>();
  const send = async (...events: CloudEvent[]) => {
    // With the headers the publisher adds (EventHeader), as in production.
    for (const e of events) {
      sent.add(e.id);
      await producer.send({ topic: topicOf(e.type), messages: [{ key: e.subject, value: JSON.stringify(e), headers: eventHeaders(e) }] });
    }
  };
  /** Calls the API as `actor` (the token's subject, recorded in the audit) with the admin role. */
  const api = async (method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown, actor = 'test-admin') => {
    const r = await app.inject({
      method, url,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), authorization: `Bearer ${await testToken({ sub: actor, roles: ['admin'] })}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : undefined };
  };
  /**
   * This instance's events for the account. Other suites run escalation-routing too (own consumer
   * group and database, same broker), so events are kept only for escalations in this database.
   */
  const emitted = async (accountId: string) => {
    const own: { id: string }[] = await app.get(DataSource).query('SELECT id FROM escalation_routing.escalation WHERE account_id = $1', [accountId]);
    const ids = new Set(own.map((r) => r.id));
    return recorder.messages.filter((m) => m.key === accountId).map((m) => JSON.parse(m.value ?? '{}') as EscalationEvent).filter((e) => ids.has(e.data.escalationId));
  };
  const waitEvents = (accountId: string, types: string[], what: string) =>
    waitFor(what, async () => {
      const got = await emitted(accountId);
      return types.every((t) => got.some((e) => e.type === t)) ? got : undefined;
    });
  /**
   * Waits until this instance applied `n` events of the account. Its own consumer's rows only: the
   * security suite runs escalation-routing on the same database (own group), and its inbox rows
   * for these accounts would otherwise count before this instance applied anything.
   */
  const applied = (accountId: string, n: number) =>
    waitFor(`${n} events applied for ${accountId}`, async () => {
      // Only the events this suite sent: other suites' lifecycle and health-scoring read these accounts'
      // events on the shared broker and emit their own for them, which this instance applies as well.
      const [r] = await app.get(DataSource).query(
        'SELECT count(*)::int AS n FROM escalation_routing.inbox WHERE account_id = $1 AND consumer = $2 AND event_id = ANY($3::text[])',
        [accountId, group, [...sent]],
      );
      return r.n >= n ? true : undefined;
    });
  const ago = (ms: number) => new Date(clock.now().getTime() - ms).toISOString();

  const directory = (acc: string, traits: Record<string, unknown>) =>
    event('cs.directory.account.updated.v1', acc, { sourceId: 'src', messageId: `g-${++seq}`, accountId: acc, traits, rawTraits: traits, timestamp: ago(DAY) });
  const ticket = (acc: string, ref: string, extra: Partial<PayloadOf<'cs.support.ticket.updated.v1'>> = {}) =>
    event('cs.support.ticket.updated.v1', acc, {
      sourceId: 'src', ticketId: ref, accountId: acc, channel: 'email' as never, category: 'billing', tags: ['billing'], priority: 'normal',
      subject: `Invoice question ${ref}`, status: 'open', reopenedCount: 0, needsCs: false, createdAt: ago(HOUR), updatedAt: ago(HOUR), ...extra,
    });
  const health = (acc: string, band: HealthBand, score: number) =>
    event('cs.health.score.changed.v1', acc, {
      score, band, previousScore: null, previousBand: null, scorecardId: 'smb', scorecardVersion: 1,
      topMovers: [{ component: 'engagement', measure: 'active_users_7d', deltaPoints: -12.5 }], computedAt: ago(2 * HOUR),
    });

  async function roster() {
    const hours = { timeZone: 'Europe/Berlin', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
    // Large capacities: other suites' tickets reach this instance too and are routed to this roster.
    const csm = (name: string, extra: Record<string, unknown>) => api('PUT', `/v1/csms/${id(name)}`, {
      name, email: `${name}-${run}@example.com`, capacity: 1000, active: true, notificationChannels: [{ type: 'email', target: `${name}-${run}@example.com` }], ...extra,
    });
    expect((await csm('olivia', { region: `emea-${run}`, teamId: id('emea') })).status).toBe(200);
    expect((await csm('erik', { region: `emea-${run}`, teamId: id('emea') })).status).toBe(200);
    expect((await csm('lena', { region: `emea-${run}`, teamId: id('emea') })).status).toBe(200);
    expect((await csm('xavier', { region: `apac-${run}`, specialties: ['expansion'] })).status).toBe(200);
    expect((await api('PUT', `/v1/teams/${id('emea')}`, { name: `EMEA ${run}`, region: `emea-${run}`, leadCsmId: id('lena'), businessHours: hours })).status).toBe(200);
  }

  it('manages the roster through the API, refusing bad input precisely', async () => {
    const got = await api('GET', `/v1/csms/${id('olivia')}`);
    expect(got.json).toMatchObject({ id: id('olivia'), email: `olivia-${run}@example.com`, capacity: 1000, active: true, outOfOffice: null });
    expect((await api('GET', `/v1/teams/${id('emea')}`)).json).toMatchObject({ leadCsmId: id('lena'), businessHours: { timeZone: 'Europe/Berlin' } });
    expect((await api('GET', `/v1/csms?teamId=${id('emea')}`)).json.total).toBe(3);
    expect((await api('GET', '/v1/teams')).json.items.some((t: { id: string }) => t.id === id('emea'))).toBe(true);
    const bad = await api('PUT', `/v1/csms/${id('bad')}`, { name: 'x', email: 'not-an-email', capacity: -1, active: 'yes', colour: 'blue' });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toEqual(expect.arrayContaining(['property colour should not exist', 'email must be an email', 'capacity must not be less than 0', 'active must be a boolean value']));
    const ooo = await api('PUT', `/v1/csms/${id('bad')}`, { name: 'x', email: 'x@example.com', capacity: 1, active: true, outOfOffice: { from: '2026-05-20T00:00:00Z', to: '2026-05-19T00:00:00Z' } });
    expect(ooo.json.message).toBe('outOfOffice.to: must be after outOfOffice.from');
    const tz = await api('PUT', `/v1/teams/${id('bad')}`, { name: 'x', region: 'x', businessHours: { timeZone: 'Mars/Olympus', days: [1], start: '09:00', end: '17:00' } });
    expect(tz.status).toBe(400);
    expect(tz.json.message).toEqual(['businessHours.timeZone: must be an IANA time zone, e.g. Europe/Berlin']);
    expect((await api('GET', '/v1/csms/nobody')).status).toBe(404);
  });

  it('publishes each CSM\'s e-mail, team and active flag on cs.roster.v1 (keyed csm:<id>) when they change, not on other edits', async () => {
    const rosterEvents = (csmId: string) =>
      recorder.messages.filter((m) => m.topic === Topics.roster && m.key === `csm:${csmId}`).map((m) => JSON.parse(m.value ?? '{}') as CloudEvent<'cs.roster.csm.changed.v1'>);
    const [olivia] = await waitFor('olivia on cs.roster.v1', () => (rosterEvents(id('olivia')).length ? rosterEvents(id('olivia')) : undefined));
    expect(olivia).toMatchObject({ type: 'cs.roster.csm.changed.v1', source: 'kizuna/escalation-routing', subject: `csm:${id('olivia')}` });
    expect(olivia?.data).toEqual({ csmId: id('olivia'), email: `olivia-${run}@example.com`, teamId: id('emea'), active: true, changedAt: clock.now().toISOString() });
    const base = { name: 'pia', email: `Pia-${run}@Example.com`, region: `emea-${run}`, teamId: id('emea'), capacity: 5, active: true };
    expect((await api('PUT', `/v1/csms/${id('pia')}`, base)).status).toBe(200);
    expect((await api('PUT', `/v1/csms/${id('pia')}`, { ...base, capacity: 7, specialties: ['technical'] })).status).toBe(200); // not news to other services
    expect((await api('PUT', `/v1/csms/${id('pia')}`, { ...base, capacity: 7, teamId: null })).status).toBe(200);
    expect((await api('PUT', `/v1/csms/${id('pia')}`, { ...base, capacity: 7, teamId: null, active: false })).status).toBe(200);
    // One key, one partition, in order: an event for the capacity edit would sit before the last one.
    const pia = await waitFor('pia deactivated on cs.roster.v1', () => (rosterEvents(id('pia')).some((e) => !e.data.active) ? rosterEvents(id('pia')) : undefined));
    expect(pia.map((e) => [e.data.email, e.data.teamId, e.data.active])).toEqual([
      [`pia-${run}@example.com`, id('emea'), true], [`pia-${run}@example.com`, null, true], [`pia-${run}@example.com`, null, false],
    ]);
  });

  it('the third similar ticket in 14 days opens one escalation to the owner CSM; a fourth adds evidence to it', async () => {
    const acc = account();
    await send(directory(acc, { name: 'Acme Corp', arr: 48000, region: `emea-${run}`, ownerCsmEmail: `OLIVIA-${run}@example.com` }));
    await send(ticket(acc, 'T1', { createdAt: ago(12 * DAY), updatedAt: ago(12 * DAY) }), ticket(acc, 'T2', { createdAt: ago(5 * DAY), updatedAt: ago(5 * DAY) }));
    await applied(acc, 3);
    expect(await emitted(acc)).toEqual([]);
    const third = ticket(acc, 'T3', { subject: 'Invoices are wrong again' });
    await send(third, third); // a redelivery counts once
    const events = await waitEvents(acc, ['cs.escalation.opened.v1', 'cs.escalation.assigned.v1'], 'opened and assigned');
    const assigned = events.find((e) => e.type === 'cs.escalation.assigned.v1');
    expect(assigned?.data).toMatchObject({
      reason: 'repeat-inquiries', state: 'assigned', priority: 'normal', team: `EMEA ${run}`, actor: 'system',
      assignee: { csmId: id('olivia'), email: `olivia-${run}@example.com` },
      teamLead: { csmId: id('lena') },
      context: { accountName: 'Acme Corp', arr: 48000, region: `emea-${run}` },
    });
    expect(assigned?.data.assignee?.why).toMatch(/^owner: the account's owner CSM olivia/);
    expect(assigned?.data.evidence.map((e) => e.ref)).toEqual(['T1', 'T2', 'T3']);
    // normal priority: one business day of the team (Berlin, 09-17): Tuesday 10:00 UTC -> Wednesday 10:00 UTC
    expect(assigned?.data.ackDueAt).toBe('2026-05-20T10:00:00.000Z');
    // every emitted payload satisfies the contract notification validates against
    for (const e of events) expect(validateSync(plainToInstance(EscalationChangedV1, e.data))).toEqual([]);

    await send(ticket(acc, 'T4', { subject: 'Still wrong' }));
    const added = await waitEvents(acc, ['cs.escalation.evidence-added.v1'], 'evidence added');
    const ev = added.find((e) => e.type === 'cs.escalation.evidence-added.v1');
    expect(ev?.data.escalationId).toBe(assigned?.data.escalationId);
    expect(ev?.data.note).toMatch(/added ticket T4/);
    expect(added.filter((e) => e.type === 'cs.escalation.opened.v1')).toHaveLength(1);

    const list = await api('GET', `/v1/escalations?accountId=${acc}&status=assigned`);
    expect(list.json.total).toBe(1);
    expect(list.json.items[0]).toMatchObject({ reason: 'repeat-inquiries', evidenceCount: 4, assignee: { csmId: id('olivia') } });
    const bundle = await api('GET', `/v1/escalations/${assigned?.data.escalationId}`);
    expect(bundle.json.account.profile).toMatchObject({ name: 'Acme Corp', region: `emea-${run}` });
    expect(bundle.json.contacts.map((c: { ref: string; subject: string }) => `${c.ref}: ${c.subject}`)).toEqual([
      'T1: Invoice question T1', 'T2: Invoice question T2', 'T3: Invoices are wrong again', 'T4: Still wrong',
    ]);
    expect(bundle.json.audit.map((a: { action: string }) => a.action)).toEqual(['opened', 'assigned', 'evidence-added']);
    expect(bundle.json.evidence.map((e: { ref: string; rule: string }) => `${e.ref} ${e.rule}`)).toEqual(['T1 repeatInquiries', 'T2 repeatInquiries', 'T3 repeatInquiries', 'T4 repeatInquiries']);
    // The assignment is the CSM's last (round robin on ties), written with the escalation.
    const [olivia] = await app.get(DataSource).query('SELECT last_assigned_at FROM escalation_routing.csm WHERE id = $1', [id('olivia')]);
    expect(olivia.last_assigned_at).toEqual(new Date('2026-05-19T10:00:00.000Z'));
    expect((await api('GET', '/v1/escalations/not-a-uuid')).status).toBe(400);
    expect((await api('GET', `/v1/escalations/${randomUUID()}`)).status).toBe(404);
  });

  it("a danger-band account's call goes to its region team when the owner is out of office; the SLA breach notifies the lead and re-routes", async () => {
    const acc = account();
    await api('PUT', `/v1/csms/${id('olivia')}`, {
      name: 'olivia', email: `olivia-${run}@example.com`, region: `emea-${run}`, teamId: id('emea'), capacity: 1000, active: true,
      outOfOffice: { from: ago(DAY), to: new Date(clock.now().getTime() + 7 * DAY).toISOString() },
    });
    await send(directory(acc, { name: 'Globex', arr: 300000, region: `emea-${run}`, ownerCsmEmail: `olivia-${run}@example.com` }), health(acc, HealthBand.Danger, 21));
    await applied(acc, 2);
    await send(event('cs.support.call.recorded.v1', acc, {
      sourceId: 'cc', contactId: 'C1', accountId: acc, queue: 'billing', startedAt: ago(HOUR), endedAt: ago(HOUR - 600_000), talkSeconds: 600, holdSeconds: 0,
      transfers: 1, reasonCode: 'outage', sentiment: -0.1, callbackRequested: false, needsCs: false, lastUpdatedAt: ago(HOUR - 600_000),
    }));
    const events = await waitEvents(acc, ['cs.escalation.assigned.v1'], 'assigned');
    const assigned = events.find((e) => e.type === 'cs.escalation.assigned.v1');
    expect(assigned?.data).toMatchObject({ reason: 'at-risk-contact', priority: 'high', context: { band: 'danger', healthScore: 21, topMovers: ['engagement.active_users_7d -12.5'] } });
    expect([id('erik'), id('lena')]).toContain(assigned?.data.assignee?.csmId);
    expect(assigned?.data.assignee?.why).toMatch(/owner: olivia is out of office until .*; region-team: least loaded eligible member of team EMEA/);
    expect(assigned?.data.ackDueAt).toBe(new Date(clock.now().getTime() + HOUR).toISOString());

    const sweeper = app.get(SlaSweeper);
    expect(await sweeper.sweepOnce()).toBe(0);
    clock.advance(2 * HOUR);
    try {
      expect(await sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
      const after = await waitEvents(acc, ['cs.escalation.sla-breached.v1', 'cs.escalation.reassigned.v1'], 'breach and re-route');
      const breach = after.find((e) => e.type === 'cs.escalation.sla-breached.v1');
      expect(breach?.data).toMatchObject({ teamLead: { csmId: id('lena') }, assignee: { csmId: assigned?.data.assignee?.csmId }, actor: 'system' });
      const moved = after.find((e) => e.type === 'cs.escalation.reassigned.v1');
      expect(moved?.data.previousAssignee?.csmId).toBe(assigned?.data.assignee?.csmId);
      expect(moved?.data.assignee?.csmId).not.toBe(assigned?.data.assignee?.csmId);
      expect(moved?.data.assignee?.why).toMatch(/^SLA breach re-route: owner: .*excluded|^SLA breach re-route: owner: olivia is out of office/);
      expect(await sweeper.sweepOnce()).toBe(0); // reported once per due time
    } finally {
      clock.advance(-2 * HOUR);
      await api('PUT', `/v1/csms/${id('olivia')}`, { name: 'olivia', email: `olivia-${run}@example.com`, region: `emea-${run}`, teamId: id('emea'), capacity: 1000, active: true });
    }
  });

  it('a seat-limit signal opens an expansion escalation to an expansion specialist; other product events cost nothing', async () => {
    const acc = account();
    await send(directory(acc, { name: 'Initech', region: `emea-${run}`, ownerCsmEmail: `olivia-${run}@example.com` }));
    const track = (name: string) => event('cs.product.track.v1', acc, {
      kind: 'track', sourceId: 'web', messageId: `m-${++seq}`, accountId: acc, userId: 'u1', event: name, properties: { seats: 25 },
      timestamp: ago(60_000), receivedAt: ago(60_000),
    });
    await send(track('Report Shared'), track('Seat Limit Reached'));
    const events = await waitEvents(acc, ['cs.escalation.assigned.v1'], 'assigned');
    expect(events.find((e) => e.type === 'cs.escalation.assigned.v1')?.data).toMatchObject({
      reason: 'expansion-signal', assignee: { csmId: id('xavier') }, evidence: [{ kind: 'product', summary: 'product event "Seat Limit Reached"' }],
    });
    const inbox = await app.get(DataSource).query(
      `SELECT event_type FROM escalation_routing.inbox WHERE account_id = $1 AND consumer = $2 AND event_id = ANY($3::text[]) ORDER BY received_at`,
      [acc, group, [...sent]],
    );
    expect(inbox.map((r: { event_type: string }) => r.event_type)).toEqual(['cs.directory.account.updated.v1', 'cs.product.track.v1']);
  });

  it('passes over product events by name only with rules read within the cache time, and sees an edited name at once', async () => {
    // A store of its own with a cache time (this suite's app reads the rules at every event).
    const env = process.env['ESCALATION_RULES_CACHE_MS'];
    process.env['ESCALATION_RULES_CACHE_MS'] = '60000';
    const store = new RulesStore(app.get(DataSource), clock);
    if (env === undefined) delete process.env['ESCALATION_RULES_CACHE_MS'];
    else process.env['ESCALATION_RULES_CACHE_MS'] = env;
    expect(store.expansionEvents()).toBeUndefined(); // not read yet: every name may matter
    const original = await store.current();
    const names = store.expansionEvents();
    expect(names?.has('seat limit reached')).toBe(true);
    expect(names?.has('report shared')).toBe(false);
    try {
      await store.saveNewVersion(
        { ...original, rules: { ...original.rules, expansionSignal: { ...original.rules.expansionSignal, productEvents: [...original.rules.expansionSignal.productEvents, 'Quota Exceeded'] } } },
        'ops',
      );
      expect(store.expansionEvents()).toBeUndefined(); // the edit emptied the cache: nothing is passed over until it is read again
      await store.current();
      expect(store.expansionEvents()?.has('quota exceeded')).toBe(true);
    } finally {
      await store.saveNewVersion(original, 'ops');
    }
  });

  it('runs the workflow with every change audited: acknowledge, reassign, resolve, hand back; no ping-pong after a hand-back', async () => {
    const acc = account();
    await send(directory(acc, { name: 'Umbrella', region: `emea-${run}`, ownerCsmEmail: `erik-${run}@example.com` }));
    await applied(acc, 1);
    const created = await api('POST', '/v1/escalations', { accountId: acc, summary: 'Customer asked to talk to their CSM about goals', priority: 'high' }, 'agent-7');
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ created: true, escalation: { reason: 'manual', openedBy: 'agent-7', assignee: { csmId: id('erik') } } });
    const escId = created.json.escalation.id as string;
    expect((await api('POST', '/v1/escalations', { accountId: acc, summary: 'And again' }, 'agent-8')).json.created).toBe(false);
    expect((await api('POST', '/v1/escalations', { accountId: acc })).json.message).toEqual(expect.arrayContaining(['summary must be a string']));

    expect((await api('POST', `/v1/escalations/${escId}/acknowledge`, undefined, 'erik')).json.state).toBe('acknowledged');
    expect((await api('POST', `/v1/escalations/${escId}/acknowledge`, undefined, 'erik')).status).toBe(409);
    expect((await api('POST', `/v1/escalations/${escId}/reassign`, { csmId: 'nobody', reason: 'x' }, 'erik')).status).toBe(400);
    const moved = await api('POST', `/v1/escalations/${escId}/reassign`, { csmId: id('lena'), reason: 'Lena knows their integration' }, 'erik');
    expect(moved.json).toMatchObject({ state: 'assigned', assignee: { csmId: id('lena') }, routingWhy: 'reassigned by erik: Lena knows their integration' });
    const back = await api('POST', `/v1/escalations/${escId}/hand-back`, { note: 'Known bug 4711, fix ships Friday: support to tell the customer' }, 'lena');
    expect(back.json).toMatchObject({ state: 'handed-back', handBackNote: 'Known bug 4711, fix ships Friday: support to tell the customer' });
    expect((await api('POST', `/v1/escalations/${escId}/resolve`, { resolution: 'x' }, 'lena')).status).toBe(409);
    expect((await api('POST', `/v1/escalations/${escId}/hand-back`, {}, 'lena')).status).toBe(400);

    const events = await waitEvents(acc, ['cs.escalation.handed-back.v1'], 'handed back');
    expect(events.map((e) => e.type)).toEqual([
      'cs.escalation.opened.v1', 'cs.escalation.assigned.v1', 'cs.escalation.evidence-added.v1', 'cs.escalation.acknowledged.v1',
      'cs.escalation.reassigned.v1', 'cs.escalation.handed-back.v1',
    ]);
    const handedBack = events.at(-1);
    expect(handedBack?.data).toMatchObject({ actor: 'lena', note: 'Known bug 4711, fix ships Friday: support to tell the customer', state: 'handed-back' });
    expect(events[4]?.data).toMatchObject({ actor: 'erik', previousAssignee: { csmId: id('erik') }, assignee: { csmId: id('lena') } });
    const bundle = await api('GET', `/v1/escalations/${escId}`);
    expect(bundle.json.audit.map((a: { actor: string; action: string }) => `${a.actor} ${a.action}`)).toEqual([
      'agent-7 opened', 'system assigned', 'agent-8 evidence-added', 'erik acknowledged', 'erik reassigned', 'lena handed-back',
    ]);

    // the same reason does not reopen during the cool-down: support already has the answer
    const again = await api('POST', '/v1/escalations', { accountId: acc, reason: 'agent-flagged', summary: 'flagged' }, 'agent-7');
    expect(again.json.created).toBe(true);
    await send(ticket(acc, 'T-flag', { needsCs: true, category: 'integration', tags: [] }));
    await applied(acc, 2);
    const flagged = await api('GET', `/v1/escalations?accountId=${acc}&reason=agent-flagged`);
    expect(flagged.json.items[0].evidenceCount).toBe(2); // joined the open one
    await api('POST', `/v1/escalations/${flagged.json.items[0].id}/hand-back`, { note: 'support owns it' }, 'lena');
    await send(ticket(acc, 'T-flag-2', { needsCs: true, category: 'integration', tags: [] }));
    await applied(acc, 3);
    expect((await api('GET', `/v1/escalations?accountId=${acc}&status=active`)).json.total).toBe(0);
  });

  // Issue 6: the acceptance e2e once found 2 active escalations after a hand-back. A health change
  // applied after the ticket first arrived (danger band) made the ticket's update fire the at-risk
  // rule: a new escalation under another reason, on the very ticket the CSM had handed back.
  it('a late health change does not bounce a handed-back ticket back to CS under another reason; a new ticket does escalate', async () => {
    const acc = account();
    await send(directory(acc, { name: 'Soylent', region: `emea-${run}`, ownerCsmEmail: `erik-${run}@example.com` }));
    await send(ticket(acc, 'T-back', { needsCs: true, category: null as never, tags: [] }));
    const [assigned] = (await waitEvents(acc, ['cs.escalation.assigned.v1'], 'the flagged ticket assigned')).filter((e) => e.type === 'cs.escalation.assigned.v1');
    expect(assigned?.data).toMatchObject({ reason: 'agent-flagged' });
    expect((await api('POST', `/v1/escalations/${assigned?.data.escalationId}/hand-back`, { note: 'support can close it' }, 'erik')).json.state).toBe('handed-back');
    await send(health(acc, HealthBand.Danger, 14));
    await applied(acc, 3);
    await send(ticket(acc, 'T-back', { needsCs: true, category: null as never, tags: [], status: 'pending', updatedAt: ago(0) }));
    await applied(acc, 4);
    expect((await api('GET', `/v1/escalations?accountId=${acc}&status=active`)).json.total).toBe(0);
    // the health change was applied: a different ticket from the danger-band account with falling
    // engagement escalates twice (at risk, usage stalled): the two the flaky run found
    await send(ticket(acc, 'T-new', { category: null as never, tags: [] }));
    await applied(acc, 5);
    const active = (await api('GET', `/v1/escalations?accountId=${acc}&status=active`)).json;
    expect(active.items.map((i: { reason: string }) => i.reason).sort()).toEqual(['at-risk-contact', 'usage-stalled']);
  });

  it('negative survey answers escalate; the rule set is versioned and editable; support KPIs are reported with definitions', async () => {
    const acc = account();
    await send(event('cs.survey.answered.v1', acc, { sourceId: 'srv', responseId: 'R1', accountId: acc, kind: 'nps', score: 2, comment: 'Too many outages', answeredAt: ago(HOUR) }));
    const events = await waitEvents(acc, ['cs.escalation.opened.v1'], 'opened');
    expect(events[0]?.data).toMatchObject({ reason: 'negative-sentiment', evidence: [{ kind: 'survey', summary: 'NPS 2: "Too many outages"' }] });

    const current = await api('GET', '/v1/escalation-rules');
    expect(current.json.rules.rules.repeatInquiries).toMatchObject({ count: 3, windowDays: 14 });
    const original = current.json.rules;
    const bad = await api('PUT', '/v1/escalation-rules', { ...original, rules: { ...original.rules, repeatInquiries: { ...original.rules.repeatInquiries, count: 0 } } }, 'ops');
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual(['rules.repeatInquiries.count: must be between 2 and 100, got 0']);
    const saved = await api('PUT', '/v1/escalation-rules', { ...original, rules: { ...original.rules, repeatInquiries: { ...original.rules.repeatInquiries, count: 2 } } }, 'ops');
    expect(saved.json.version).toBe(original.version + 1);
    try {
      const two = account();
      await send(ticket(two, 'A1', { createdAt: ago(3 * DAY), updatedAt: ago(3 * DAY) }), ticket(two, 'A2'));
      expect((await waitEvents(two, ['cs.escalation.opened.v1'], 'opened with N = 2'))[0]?.data.reason).toBe('repeat-inquiries');
      const versions = (await api('GET', '/v1/escalation-rules')).json.versions;
      expect(versions[0]).toMatchObject({ version: original.version + 1, createdBy: 'ops' });
      expect((await api('GET', `/v1/escalation-rules/versions/${original.version}`)).json.rules.repeatInquiries.count).toBe(3);
      expect((await api('GET', '/v1/escalation-rules/versions/999999')).status).toBe(404);
    } finally {
      await api('PUT', '/v1/escalation-rules', original, 'ops');
    }

    const kpis = await api('GET', `/v1/support-kpis?from=${ago(30 * DAY)}&to=${new Date(clock.now().getTime() + DAY).toISOString()}`);
    expect(kpis.status).toBe(200);
    expect(kpis.json.volume.tickets).toBeGreaterThanOrEqual(6);
    expect(kpis.json.volume.calls).toBeGreaterThanOrEqual(1);
    expect(kpis.json.escalationRate.rate).toBeGreaterThan(0);
    expect(kpis.json.timeToAcknowledge.acknowledged).toBeGreaterThanOrEqual(1);
    expect(kpis.json.timeToAcknowledge.definition).toMatch(/from opening to the first CSM acknowledgement/);
    expect((await api('GET', '/v1/support-kpis?from=2026-05-10T00:00:00Z&to=2026-05-01T00:00:00Z')).status).toBe(400);
    expect((await api('GET', '/v1/support-kpis')).status).toBe(400);
  });

  it('projects lifecycle into the context; an escalation nobody can take waits and is routed on the next sweep', async () => {
    const acc = account();
    const at = ago(DAY);
    await send(
      event('cs.lifecycle.phase.changed.v1', acc, { from: null, to: 'onboarding' as never, cause: 'test', changedAt: at }),
      event('cs.lifecycle.touch-model.changed.v1', acc, { from: null, to: 'high' as never, cause: 'test', changedAt: at }),
      event('cs.lifecycle.segment.changed.v1', acc, { dimension: 'usage-status', from: 'active', to: 'dormant', cause: 'test', changedAt: at }),
      event('cs.lifecycle.onboarding.stalled.v1', acc, { milestone: 'first-report', dueAt: at, completed: ['signup'], missing: ['first-report'], detectedAt: at }),
    );
    await applied(acc, 4);
    const everyone = ['olivia', 'erik', 'lena', 'xavier'];
    const put = (name: string, active: boolean, extra: Record<string, unknown> = {}) => api('PUT', `/v1/csms/${id(name)}`, {
      name, email: `${name}-${run}@example.com`, capacity: 1000, active, ...(name === 'xavier' ? { region: `apac-${run}`, specialties: ['expansion'] } : { region: `emea-${run}`, teamId: id('emea') }), ...extra,
    });
    for (const n of everyone) await put(n, false);
    try {
      await send(ticket(acc, 'OB1', { category: 'setup', tags: [] }));
      const opened = await waitFor('two unassigned escalations', async () => {
        const got = (await emitted(acc)).filter((e) => e.type === 'cs.escalation.opened.v1');
        return got.length === 2 ? got : undefined;
      });
      expect(opened.map((e) => e.data.reason).sort()).toEqual(['onboarding-stalled', 'usage-stalled']);
      for (const e of opened) {
        expect(e.data.assignee).toBeUndefined();
        expect(e.data.context).toMatchObject({ phase: 'onboarding', touchModel: 'high' });
      }
      const waiting = await api('GET', `/v1/escalations?accountId=${acc}&reason=onboarding-stalled`);
      expect(waiting.json.items[0]).toMatchObject({ state: 'open', assignee: null });
      expect(waiting.json.items[0].routingWhy).toMatch(/least-loaded: no eligible CSM .*; unassigned: nobody can take it now$/);

      await put('xavier', true, { specialties: ['expansion', 'onboarding'] });
      await app.get(SlaSweeper).sweepOnce();
      const assigned = await waitEvents(acc, ['cs.escalation.assigned.v1'], 'assigned after the sweep');
      const onboarding = assigned.find((e) => e.type === 'cs.escalation.assigned.v1' && e.data.reason === 'onboarding-stalled');
      expect(onboarding?.data.assignee).toMatchObject({ csmId: id('xavier') });
      expect(onboarding?.data.assignee?.why).toMatch(/specialist: least loaded eligible onboarding specialist xavier/);
      const bundle = await api('GET', `/v1/escalations/${onboarding?.data.escalationId}`);
      expect(bundle.json.account).toMatchObject({ phase: 'onboarding', touchModel: 'high', usageStatus: 'dormant' });
      expect(bundle.json.account.onboardingStalledAt).toBe(at);
    } finally {
      for (const n of everyone) await put(n, true);
    }
  });

  it('follows lifecycle in partition order, not by date: a rebuild\'s restated transitions win, and leaving onboarding ends a stall', async () => {
    // Lifecycle on a partial imported history reports onboarding, a stall and dormancy at its "now";
    // the rest of the history makes it rebuild the account and restate adoption and activity dated
    // months back. Those come later on the partition: they are lifecycle's latest word.
    const acc = account();
    const at = ago(DAY);
    const monthsBack = ago(90 * DAY);
    await send(
      event('cs.lifecycle.phase.changed.v1', acc, { from: null, to: 'onboarding' as never, cause: 'test', changedAt: at }),
      event('cs.lifecycle.segment.changed.v1', acc, { dimension: 'usage-status', from: 'active', to: 'dormant', cause: 'test', changedAt: at }),
      event('cs.lifecycle.onboarding.stalled.v1', acc, { milestone: 'first-report', dueAt: '2024-01-10T00:00:00.000Z', completed: ['signup'], missing: ['first-report'], detectedAt: at }),
      event('cs.lifecycle.phase.changed.v1', acc, { from: 'onboarding' as never, to: 'adoption' as never, cause: 'rebuilt', changedAt: monthsBack }),
      event('cs.lifecycle.segment.changed.v1', acc, { dimension: 'usage-status', from: 'dormant', to: 'active', cause: 'rebuilt', changedAt: monthsBack }),
    );
    await applied(acc, 5);
    const context = async () => ((await app.get(DataSource).query(
      'SELECT phase, usage_status, onboarding_stalled_at FROM escalation_routing.account_context WHERE account_id = $1', [acc],
    )) as { phase: string; usage_status: string; onboarding_stalled_at: Date | null }[])[0];
    expect(await context()).toEqual({ phase: 'adoption', usage_status: 'active', onboarding_stalled_at: null });
    // A stall reported after the account left onboarding does not come back.
    await send(event('cs.lifecycle.onboarding.stalled.v1', acc, { milestone: 'second-report', dueAt: '2024-01-20T00:00:00.000Z', completed: ['signup'], missing: ['second-report'], detectedAt: ago(2 * DAY) }));
    await applied(acc, 6);
    expect(await context()).toEqual({ phase: 'adoption', usage_status: 'active', onboarding_stalled_at: null });
    // A ticket now opens neither onboarding-stalled nor usage-stalled.
    await send(ticket(acc, 'RB1', { category: 'setup', tags: [] }));
    await applied(acc, 7);
    expect(await app.get(DataSource).query('SELECT reason FROM escalation_routing.escalation WHERE account_id = $1', [acc])).toEqual([]);
  });

  it('documents exactly its routes in docs/api/escalation-routing.openapi.yaml, served at /docs', async () => {
    expect([...documentedRoutes(spec)].sort()).toEqual([...routes].sort());
    expect((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200);
  });
});
