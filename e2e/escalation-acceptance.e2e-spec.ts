import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Client } from 'pg';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { ALL_TOPICS, HealthBand, ManualClock, Topics, createEvent, type CloudEvent } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { ensureDatabase } from '@kizuna/shared/persistence';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { LOCAL_POSTGRES_URL, TopicRecorder, startConsumerGroupAtEnd, testKafka, testToken, waitFor } from '@kizuna/shared/testing';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule, ingestionHttpOptions } from '@kizuna/ingestion/feature';
import { escalationRoutingData } from '@kizuna/escalation-routing/data-access';
import { EscalationRoutingModule } from '@kizuna/escalation-routing/feature';

type EscalationEvent = Omit<CloudEvent<'cs.escalation.opened.v1'>, 'type'> & { type: string };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The issue's acceptance scenarios, end to end through ingestion's HTTP API: ingestion and
 * escalation-routing in-process (one manual clock), against the real broker and Postgres, in their
 * own database (other suites run their own escalation-routing consumers on the same broker).
 * Health changes are published as health-scoring publishes them.
 */
describe('escalation acceptance: from support and the call center to the right CSM, through ingestion', () => {
  const clock = new ManualClock('2026-05-19T10:00:00Z');
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  const writeKey = `acceptance-key-${run}`;
  const auth = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` };
  const accounts = new Set<string>();
  let ingestion: NestFastifyApplication;
  let escalations: NestFastifyApplication;
  let recorder: TopicRecorder;
  let producer: Producer;

  beforeAll(async () => {
    const url = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
    url.pathname = `${url.pathname}_escalation_acceptance`;
    // A fresh database every run: the roster's loads must not carry over from earlier runs.
    const admin = new URL(url.toString());
    admin.pathname = '/postgres';
    const pg = new Client({ connectionString: admin.toString() });
    await pg.connect();
    await pg.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`).finally(() => pg.end());
    await ensureDatabase(url.toString());
    Object.assign(process.env, { INGESTION_BOOTSTRAP_WRITE_KEY: writeKey, ESCALATION_RULES_CACHE_MS: '0', ESCALATION_SLA_SWEEP_INTERVAL_MS: '3600000' });
    const config = loadConfig(ServiceConfig, { ...process.env, DATABASE_URL: url.toString(), KAFKA_GROUP_PREFIX: `acc-${run}`, KAFKA_TOPIC_PARTITIONS: '3' });
    await startConsumerGroupAtEnd(kafka, `acc-${run}.escalation-routing`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    ingestion = await createServiceApp({
      name: 'ingestion', config, logger, defaultPort: 0, ...ingestionHttpOptions(),
      module: serviceRootModule({ name: 'ingestion', defaultPort: 0, data: ingestionData, feature: IngestionModule }, config, logger, clock),
    });
    escalations = await createServiceApp({
      name: 'escalation-routing', config, logger, defaultPort: 0,
      module: serviceRootModule({ name: 'escalation-routing', defaultPort: 0, data: escalationRoutingData, feature: EscalationRoutingModule }, config, logger, clock),
    });
    for (const app of [ingestion, escalations]) {
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    }
    recorder = await new TopicRecorder(kafka, [Topics.escalation], (m) => m.key !== null && accounts.has(m.key)).start();
    producer = kafka.producer();
    await producer.connect();

    const hours = { timeZone: 'Asia/Tokyo', days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' };
    const csm = (name: string, extra: Record<string, unknown>) =>
      // Large capacities: other suites' tickets reach this instance too and are routed to this roster.
      call(escalations, 'PUT', `/v1/csms/${name}`, { name, email: `${name}@example.com`, capacity: 1000, active: true, ...extra });
    for (const r of [
      await csm('owner', { region: 'japan', teamId: 'japan' }),
      await csm('aiko', { region: 'japan', teamId: 'japan' }),
      await csm('kenji', { region: 'japan', teamId: 'japan' }),
      await csm('sato', { region: 'japan', specialties: ['expansion'] }),
      await call(escalations, 'PUT', '/v1/teams/japan', { name: 'Japan', region: 'japan', leadCsmId: 'kenji', businessHours: hours }),
    ]) expect(r.status).toBe(200);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await recorder?.stop();
    await escalations?.close();
    await ingestion?.close();
  });

  /** Calls an app; escalation-routing's API as an admin unless the headers carry another token. */
  async function call(app: NestFastifyApplication, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, headers: Record<string, string> = {}) {
    const admin = app === escalations ? { authorization: `Bearer ${await testToken({ sub: 'ops-admin', roles: ['admin'] })}` } : {};
    const res = await app.inject({
      method, url, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...admin, ...headers }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
  }
  const ingest = async (url: string, body: unknown) => {
    const r = await call(ingestion, 'POST', url, body, auth);
    expect(r.status).toBe(200);
    return r.json;
  };
  const account = async (traits: Record<string, unknown>) => {
    const id = `acc-${randomUUID()}`;
    accounts.add(id);
    await ingest('/v1/group', { userId: `u-${id}`, groupId: id, traits });
    // The directory event travels on its own topic, beside the tickets' topic: wait until routing has
    // applied it, or a ticket processed first is routed without the owner (as it would be in production).
    await waitFor(`the directory event of ${id} applied by escalation-routing`, async () => {
      const rows: { n: number }[] = await escalations.get(DataSource).query(
        'SELECT count(*)::int AS n FROM escalation_routing.account_context WHERE account_id = $1 AND directory_at IS NOT NULL',
        [id],
      );
      return rows[0]?.n ? true : undefined;
    });
    return id;
  };
  const at = (ms: number) => new Date(clock.now().getTime() - ms).toISOString();
  const ticket = (accountId: string, id: string, createdAgo: number, subject: string) =>
    ingest('/v1/support/tickets', { id, accountId, category: 'csv-export', tags: ['csv-export'], subject, status: 'open', createdAt: at(createdAgo), updatedAt: at(createdAgo) });
  /**
   * This instance's events for the account: other suites run escalation-routing on the same broker
   * (own consumer groups and databases), so only escalations in this database count.
   */
  const events = async (accountId: string) => {
    const own: { id: string }[] = await escalations.get(DataSource).query('SELECT id FROM escalation_routing.escalation WHERE account_id = $1', [accountId]);
    const ids = new Set(own.map((r) => r.id));
    return recorder.messages.filter((m) => m.key === accountId).map((m) => JSON.parse(m.value ?? '{}') as EscalationEvent).filter((e) => ids.has(e.data.escalationId));
  };
  const waitType = (accountId: string, type: string, n = 1) =>
    waitFor(`${n} × ${type} for ${accountId}`, async () => {
      const got = (await events(accountId)).filter((e) => e.type === type);
      return got.length >= n ? got : undefined;
    });

  it('the third similar ticket in 14 days opens one escalation to the owner CSM; a fourth adds evidence to the same escalation', async () => {
    const acc = await account({ name: 'Hoshino Trading', region: 'japan', ownerCsmEmail: 'owner@example.com', arr: 60000 });
    await ticket(acc, `T1-${run}`, 13 * DAY, 'CSV export cuts off at 1000 rows');
    await ticket(acc, `T2-${run}`, 6 * DAY, 'CSV export is incomplete');
    await ticket(acc, `T3-${run}`, HOUR, 'Export still broken, third time');
    const [assigned] = await waitType(acc, 'cs.escalation.assigned.v1');
    expect(assigned?.data).toMatchObject({
      reason: 'repeat-inquiries', assignee: { csmId: 'owner', email: 'owner@example.com' }, team: 'Japan', teamLead: { csmId: 'kenji' },
      context: { accountName: 'Hoshino Trading', region: 'japan', arr: 60000 },
    });
    expect(assigned?.data.evidence.map((e) => e.summary)).toEqual([
      `ticket T1-${run} [csv-export] "CSV export cuts off at 1000 rows"`,
      `ticket T2-${run} [csv-export] "CSV export is incomplete"`,
      `ticket T3-${run} [csv-export] "Export still broken, third time"`,
    ]);
    await ticket(acc, `T4-${run}`, 0, 'Fourth time: export');
    const [added] = await waitType(acc, 'cs.escalation.evidence-added.v1');
    expect(added?.data.escalationId).toBe(assigned?.data.escalationId);
    expect(added?.data.evidence.map((e) => e.ref)).toContain(`T4-${run}`);
    expect((await events(acc)).filter((e) => e.type === 'cs.escalation.opened.v1')).toHaveLength(1);
    const list = await call(escalations, 'GET', `/v1/escalations?accountId=${acc}`);
    expect(list.json.total).toBe(1);
    expect(list.json.items[0].evidenceCount).toBe(4);
  });

  it("a danger-band account's phone call escalates to its region team when the owner is out of office", async () => {
    const acc = await account({ name: 'Kumo Systems', region: 'japan', ownerCsmEmail: 'owner@example.com', arr: 200000 });
    expect((await call(escalations, 'PUT', '/v1/csms/owner', {
      name: 'owner', email: 'owner@example.com', region: 'japan', teamId: 'japan', capacity: 1000, active: true,
      outOfOffice: { from: at(DAY), to: new Date(clock.now().getTime() + 3 * DAY).toISOString() },
    })).status).toBe(200);
    try {
      // health-scoring's verdict, as it publishes it
      const health = createEvent('kizuna/health-scoring', {
        type: 'cs.health.score.changed.v1', subject: acc,
        data: { score: 18, band: HealthBand.Danger, previousScore: 45, previousBand: HealthBand.Caution, scorecardId: 'enterprise', scorecardVersion: 1, topMovers: [{ component: 'engagement', measure: 'active_users_7d', deltaPoints: -20 }], computedAt: at(HOUR) },
      }, clock.now());
      await producer.send({ topic: Topics.health, messages: [{ key: acc, value: JSON.stringify(health) }] });
      await waitFor('the health projection', async () => {
        const rows = await escalations.get(DataSource).query(`SELECT band FROM escalation_routing.account_health_projection WHERE account_id = $1`, [acc]);
        return rows[0]?.band === 'danger' ? true : undefined;
      });
      await ingest('/v1/support/calls', { contactId: `C-${run}`, accountId: acc, startedAt: at(20 * 60_000), endedAt: at(5 * 60_000), reasonCode: 'login-failure', lastUpdatedAt: at(5 * 60_000) });
      const [assigned] = await waitType(acc, 'cs.escalation.assigned.v1');
      expect(assigned?.data).toMatchObject({ reason: 'at-risk-contact', priority: 'high', team: 'Japan', context: { band: 'danger', healthScore: 18 } });
      expect(['aiko', 'kenji']).toContain(assigned?.data.assignee?.csmId);
      expect(assigned?.data.assignee?.why).toMatch(/^owner: owner is out of office until .*; region-team: least loaded eligible member of team Japan \(japan\)/);
      expect(assigned?.data.evidence[0]).toMatchObject({ kind: 'call', ref: `C-${run}` });
    } finally {
      await call(escalations, 'PUT', '/v1/csms/owner', { name: 'owner', email: 'owner@example.com', region: 'japan', teamId: 'japan', capacity: 1000, active: true });
    }
  });

  it('a seat-limit signal opens an expansion escalation to an expansion specialist', async () => {
    const acc = await account({ name: 'Sakura Retail', region: 'japan', ownerCsmEmail: 'owner@example.com' });
    await ingest('/v1/track', { userId: `u-${acc}`, event: 'Seat Limit Reached', properties: { seats: 50 }, context: { groupId: acc } });
    const [assigned] = await waitType(acc, 'cs.escalation.assigned.v1');
    expect(assigned?.data).toMatchObject({ reason: 'expansion-signal', assignee: { csmId: 'sato' }, evidence: [{ kind: 'product', summary: 'product event "Seat Limit Reached"' }] });
    expect(assigned?.data.assignee?.why).toMatch(/^specialist: least loaded eligible expansion specialist sato/);
  });

  it('a hand-back closes the loop with the note', async () => {
    const acc = await account({ name: 'Fuji Foods', region: 'japan', ownerCsmEmail: 'owner@example.com' });
    await ingest('/v1/support/tickets', { id: `F-${run}`, accountId: acc, subject: 'Can CS help us plan the rollout?', status: 'open', needsCs: true, createdAt: at(HOUR), updatedAt: at(HOUR) });
    // Other suites' health-scoring also scores this account on the shared broker: a danger band that
    // arrived before the ticket may open further reasons on it too, so pick the agent-flagged one.
    const assigned = (await waitType(acc, 'cs.escalation.assigned.v1')).find((e) => e.data.reason === 'agent-flagged');
    expect(assigned?.data).toMatchObject({ reason: 'agent-flagged', assignee: { csmId: 'owner' } });
    const id = assigned?.data.escalationId as string;
    const note = 'Rollout plan agreed on a call; support can close the ticket and link the rollout guide';
    // The owner acts with their own csm token; the audit names them.
    const asOwner = { authorization: `Bearer ${await testToken({ sub: 'owner', roles: ['csm'], csm: 'owner', team: 'japan', email: 'owner@example.com' })}` };
    expect((await call(escalations, 'POST', `/v1/escalations/${id}/acknowledge`, undefined, asOwner)).status).toBe(200);
    expect((await call(escalations, 'POST', `/v1/escalations/${id}/hand-back`, { note }, asOwner)).json.state).toBe('handed-back');
    const [back] = await waitType(acc, 'cs.escalation.handed-back.v1');
    expect(back?.data).toMatchObject({ escalationId: id, state: 'handed-back', note, actor: 'owner', evidence: [{ kind: 'ticket', ref: `F-${run}` }] });
    // the loop is closed: the same flag on an update of the ticket does not bounce it back to CS, under
    // its reason or any other (issue 6: a health change applied in between once opened two more)
    const before = (await call(escalations, 'GET', `/v1/escalations?accountId=${acc}`)).json.total as number;
    await ingest('/v1/support/tickets', { id: `F-${run}`, accountId: acc, subject: 'Can CS help us plan the rollout?', status: 'pending', needsCs: true, createdAt: at(HOUR), updatedAt: at(0) });
    await waitFor('the update applied', async () => {
      const rows = await escalations.get(DataSource).query(`SELECT status FROM escalation_routing.support_contact WHERE ref = $1`, [`F-${run}`]);
      return rows[0]?.status === 'pending' ? true : undefined;
    });
    expect((await call(escalations, 'GET', `/v1/escalations?accountId=${acc}`)).json.total).toBe(before);
    const active = (await call(escalations, 'GET', `/v1/escalations?accountId=${acc}&status=active`)).json.items as { id: string; reason: string }[];
    expect(active.map((e) => e.id)).not.toContain(id);
    expect(active.map((e) => e.reason)).not.toContain('agent-flagged');
  });
});
