import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { ALL_TOPICS, ManualClock, createEvent, topicOf } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { AuthConfig, createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import {
  injectTransport, matrixCoverage, recordRoutes, runAuthMatrix, runHostileIds, startConsumerGroupAtEnd, testKafka, testToken, waitFor,
  type MatrixRule, type NoBearerRule, type TestRole, type Transport,
} from '@kizuna/shared/testing';
import { escalationRoutingData } from '@kizuna/escalation-routing/data-access';
import { EscalationRoutingModule } from './escalation-routing.module';

/**
 * Access control of escalation-routing's API: the generated matrix over every route, two teams'
 * books (team A: csm-a and lead-a own acc-a; team B: csm-b owns acc-b), the audit actor taken from
 * the token, support's hand-back view, hostile ids, mass assignment and the per-user rate limit.
 */
const RATE_LIMIT = 400;

describe('escalation-routing access control', () => {
  const clock = new ManualClock('2026-05-19T10:00:00Z');
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  const id = (s: string) => `${s}-${run}`;
  const accA = id('acc-a');
  const accB = id('acc-b');
  let app: NestFastifyApplication;
  let producer: Producer;
  let send: Transport;
  let routes = new Set<string>();
  let escA = '';
  let escB = '';
  const principals: Record<TestRole, { sub: string; team?: string; csm?: string; email?: string }> = {
    admin: { sub: id('admin') },
    ops: { sub: id('ops') },
    support: { sub: id('support') },
    csm: { sub: id('csm-a'), team: id('team-a'), csm: id('csm-a'), email: `${id('csm-a')}@example.com` },
    'cs-lead': { sub: id('lead-a'), team: id('team-a'), csm: id('lead-a'), email: `${id('lead-a')}@example.com` },
  };
  const as = async (role: TestRole, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${await testToken({ ...principals[role], roles: [role] })}`, ...extra });
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    process.env['ESCALATION_RULES_CACHE_MS'] = '0';
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: `it-sec-${run}`, KAFKA_RETRY_BACKOFF_MS: '10' });
    await startConsumerGroupAtEnd(kafka, `it-sec-${run}.escalation-routing`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const auth = loadConfig(AuthConfig, { ...process.env, AUTH_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) });
    const root = serviceRootModule({ name: 'escalation-routing', defaultPort: 0, data: escalationRoutingData, feature: EscalationRoutingModule }, config, logger, clock, { auth });
    app = await createServiceApp({ name: 'escalation-routing', module: root, config, logger, defaultPort: 0 });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    send = injectTransport(app.getHttpAdapter().getInstance());
    const admin = await as('admin', json);
    const hours = { timeZone: 'UTC', days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '23:59' };
    for (const t of ['team-a', 'team-b']) {
      expect((await send('PUT', `/v1/teams/${id(t)}`, admin, JSON.stringify({ name: id(t), region: id(t), businessHours: hours }))).status).toBe(200);
    }
    for (const [c, t] of [['csm-a', 'team-a'], ['lead-a', 'team-a'], ['csm-b', 'team-b']]) {
      // Inactive: other suites route escalations on the same database, and these CSMs must not take them.
      // Scope does not depend on assignment: the account's owner (and the owner's team) decides.
      const body = { name: id(c as string), email: `${id(c as string)}@example.com`, teamId: id(t as string), region: id(t as string), capacity: 0, active: false };
      expect((await send('PUT', `/v1/csms/${id(c as string)}`, admin, JSON.stringify(body))).status).toBe(200);
    }
    producer = kafka.producer();
    await producer.connect();
    const at = clock.now().toISOString();
    const directory = (acc: string, owner: string) =>
      createEvent('kizuna/test', { type: 'cs.directory.account.updated.v1', subject: acc, data: { sourceId: 'src', messageId: `g-${acc}`, accountId: acc, traits: { name: acc, ownerCsmEmail: owner }, rawTraits: {}, timestamp: at } }, clock.now());
    await producer.send({
      topic: topicOf('cs.directory.account.updated.v1'),
      messages: [directory(accA, `${id('csm-a')}@example.com`), directory(accB, `${id('csm-b')}@example.com`)].map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });
    const ds = app.get(DataSource);
    await waitFor('both accounts projected', async () => (await ds.query('SELECT count(*)::int AS n FROM escalation_routing.account_context WHERE account_id = ANY($1) AND owner_csm_email IS NOT NULL', [[accA, accB]]))[0].n === 2);
    const open = async (acc: string) => JSON.parse((await send('POST', '/v1/escalations', admin, JSON.stringify({ accountId: acc, summary: 'customer is upset' }))).text).escalation.id as string;
    escA = await open(accA);
    escB = await open(accB);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
  });

  const cs = { admin: 'all', 'cs-lead': 'scoped', csm: 'scoped' } as const;
  const workflow = (action: string, body?: unknown): MatrixRule => ({
    roles: cs, own: { path: `/v1/escalations/${escA}/${action}`, body }, other: { kind: 'id', path: `/v1/escalations/${escB}/${action}`, body },
  });
  const rules = (): Record<string, MatrixRule | NoBearerRule> => ({
    'get /health/live': { noBearer: 'probe' },
    'get /health/ready': { noBearer: 'probe' },
    'get /metrics': { noBearer: 'metrics' },
    'get /v1/escalations': { roles: { ...cs, support: 'all' }, own: { path: '/v1/escalations?limit=500' }, other: { kind: 'list', path: `/v1/escalations?limit=500&accountId=${accB}` } },
    'get /v1/escalations/{id}': { roles: { ...cs, support: 'all' }, own: { path: `/v1/escalations/${escA}` }, other: { kind: 'id', path: `/v1/escalations/${escB}` } },
    'post /v1/escalations': {
      roles: { ...cs, support: 'all' },
      own: { path: '/v1/escalations', body: { accountId: accA, summary: 'more trouble' } },
      other: { kind: 'id', path: '/v1/escalations', body: { accountId: accB, summary: 'more trouble' } },
    },
    'post /v1/escalations/{id}/acknowledge': workflow('acknowledge'),
    'post /v1/escalations/{id}/reassign': workflow('reassign', { csmId: id('lead-a'), reason: 'covering' }),
    'post /v1/escalations/{id}/hand-back': workflow('hand-back', { note: 'tell the customer' }),
    'post /v1/escalations/{id}/resolve': workflow('resolve', { resolution: 'fixed' }),
    'get /v1/escalation-rules': { roles: { admin: 'all', 'cs-lead': 'all' }, own: { path: '/v1/escalation-rules' } },
    'get /v1/escalation-rules/versions/{version}': { roles: { admin: 'all', 'cs-lead': 'all' }, own: { path: '/v1/escalation-rules/versions/1' } },
    'put /v1/escalation-rules': { roles: { admin: 'all' }, own: { path: '/v1/escalation-rules', body: { rules: 'not a rule set' } } },
    'get /v1/support-kpis': { roles: { admin: 'all', 'cs-lead': 'all', ops: 'all', support: 'all' }, own: { path: '/v1/support-kpis' } },
    'get /v1/csms': { roles: { admin: 'all', 'cs-lead': 'all', csm: 'all' }, own: { path: '/v1/csms' } },
    'get /v1/csms/{id}': { roles: { admin: 'all', 'cs-lead': 'all', csm: 'all' }, own: { path: `/v1/csms/${id('csm-a')}` } },
    'put /v1/csms/{id}': { roles: { admin: 'all' }, own: { path: `/v1/csms/${id('csm-x')}`, body: { name: 'x' } } },
    'get /v1/teams': { roles: { admin: 'all', 'cs-lead': 'all', csm: 'all' }, own: { path: '/v1/teams' } },
    'get /v1/teams/{id}': { roles: { admin: 'all', 'cs-lead': 'all', csm: 'all' }, own: { path: `/v1/teams/${id('team-a')}` } },
    'put /v1/teams/{id}': { roles: { admin: 'all' }, own: { path: `/v1/teams/${id('team-x')}`, body: { name: 'x' } } },
  });

  it('has an access rule for every route (a new route must be added here)', () => {
    expect(matrixCoverage(routes, rules())).toEqual({ uncovered: [], stale: [] });
  });

  it('answers 401/403/404 and never data outside each role, book and team', async () => {
    const failures = await runAuthMatrix({ send, routes, rules: rules(), principals, foreignIds: [accB, escB] });
    expect(failures).toEqual([]);
  });

  it('records the token subject as the actor; an x-kizuna-actor header is ignored', async () => {
    const acc = id('acc-a');
    const created = await send('POST', '/v1/escalations', await as('csm', { ...json, 'x-kizuna-actor': 'mallory' }), JSON.stringify({ accountId: acc, reason: 'agent-flagged', summary: 'audit me' }));
    expect(created.status).toBeLessThan(300);
    const esc = JSON.parse(created.text).escalation as { id: string; audit: { actor: string; action: string }[] };
    expect(esc.audit.find((a) => a.action === 'opened')?.actor).toBe(id('csm-a'));
    expect(JSON.stringify(esc.audit)).not.toContain('mallory');
  });

  it('support sees the hand-back summary, not the account context', async () => {
    const r = JSON.parse((await send('GET', `/v1/escalations/${escA}`, await as('support'))).text);
    expect(r).toMatchObject({ id: escA, accountId: accA });
    expect(r).toHaveProperty('handBackNote');
    expect(r).not.toHaveProperty('account');
    expect(r).not.toHaveProperty('audit');
  });

  it('hostile ids answer 400/404 and every table survives', async () => {
    const ds = app.get(DataSource);
    const tables = async () => (await ds.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [escalationRoutingData.schema]))[0].n as number;
    const before = await tables();
    expect(await runHostileIds({ send, routes, rules: rules(), token: await testToken({ roles: ['admin'] }) })).toEqual([]);
    const list = await send('GET', `/v1/escalations?accountId=${encodeURIComponent("' OR '1'='1")}`, await as('admin'));
    expect(JSON.parse(list.text).total).toBe(0);
    expect(await tables()).toBe(before);
  });

  it('limits each user to AUTH_RATE_LIMIT_PER_MINUTE requests: 429 with Retry-After, others unaffected', async () => {
    const flood = { authorization: `Bearer ${await testToken({ sub: id('flood'), roles: ['admin'] })}` };
    for (let i = 0; i < RATE_LIMIT; i++) expect((await send('GET', '/v1/teams', flood)).status).toBe(200);
    const refused = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/v1/teams', headers: flood });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await send('GET', '/v1/teams', await as('admin'))).status).toBe(200);
  });

  it('refuses unknown body fields (mass assignment)', async () => {
    for (const [path, body] of [
      ['/v1/escalations', { accountId: accA, summary: 's', tenant: 'other' }],
      [`/v1/escalations/${escA}/hand-back`, { note: 'n', role: 'admin' }],
    ] as const) {
      const r = await send('POST', path, await as('admin', json), JSON.stringify(body));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/should not exist/);
    }
    const csm = await send('PUT', `/v1/csms/${id('csm-a')}`, await as('admin', json), JSON.stringify({ name: 'a', email: 'a@example.com', capacity: 1, active: true, score: 100 }));
    expect(csm.status).toBe(400);
  });
});
