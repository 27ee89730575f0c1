import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { ALL_TOPICS, ManualClock, Topics, createEvent, topicOf } from '@kizuna/shared/contracts';
import { RosterMemberProjection } from '@kizuna/shared/persistence';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import {
  injectTransport, matrixCoverage, recordRoutes, runAuthMatrix, runHostileIds, startConsumerGroupAtEnd, testKafka, testToken, waitFor,
  type MatrixRule, type NoBearerRule, type TestRole, type Transport,
} from '@kizuna/shared/testing';
import { lifecycleData } from '@kizuna/lifecycle/data-access';
import { LifecycleModule } from './lifecycle.module';

/**
 * Access control of lifecycle's API: the generated matrix over every route, a CSM's book and team
 * (owner CSM email from the directory, teams from roster events) against another team's account,
 * hostile ids, mass assignment.
 */
describe('lifecycle access control', () => {
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  const mine = `acc-mine-${run}`;
  const leads = `acc-lead-${run}`;
  const theirs = `acc-theirs-${run}`;
  /** Owned by a teammate of the csm and the cs-lead (team a): theirs to read through the team. */
  const team = `acc-team-${run}`;
  const teamA = `team-a-${run}`;
  const teamB = `team-b-${run}`;
  let app: NestFastifyApplication;
  let producer: Producer;
  let send: Transport;
  let routes = new Set<string>();
  const principals: Record<TestRole, { sub: string; team?: string; csm?: string; email?: string }> = {
    admin: { sub: `admin-${run}` },
    ops: { sub: `ops-${run}` },
    support: { sub: `support-${run}` },
    csm: { sub: `csm-${run}`, team: `team-a-${run}`, csm: `csm-a-${run}`, email: `csm-a-${run}@example.com` },
    'cs-lead': { sub: `lead-${run}`, team: `team-a-${run}`, csm: `lead-a-${run}`, email: `lead-a-${run}@example.com` },
  };

  beforeAll(async () => {
    process.env['LIFECYCLE_TICK_INTERVAL_MS'] = '3600000';
    const prefix = `it-sec-${run}`;
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: prefix, KAFKA_RETRY_BACKOFF_MS: '10' });
    await startConsumerGroupAtEnd(kafka, `${prefix}.lifecycle`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'lifecycle', defaultPort: 0, data: lifecycleData, feature: LifecycleModule }, config, logger, clock);
    app = await createServiceApp({ name: 'lifecycle', module: root, config, logger, defaultPort: 0 });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    send = injectTransport(app.getHttpAdapter().getInstance());
    producer = kafka.producer();
    await producer.connect();
    const at = '2026-02-01T00:00:00.000Z';
    await sendRoster([[`csm-a-${run}`, teamA], [`lead-a-${run}`, teamA], [`mate-a-${run}`, teamA], [`csm-b-${run}`, teamB]], at);
    const owners: [string, string][] = [[mine, `CSM-A-${run}@example.com`], [leads, `lead-a-${run}@example.com`], [team, `mate-a-${run}@example.com`], [theirs, `csm-b-${run}@example.com`]];
    await producer.send({
      topic: topicOf('cs.directory.account.updated.v1'),
      messages: owners.map(([acc, owner]) => createEvent('kizuna/test', {
        type: 'cs.directory.account.updated.v1', subject: acc,
        data: { sourceId: 'src', messageId: `g-${acc}`, accountId: acc, traits: { name: acc, arr: 20_000, contractStart: at, ownerCsmEmail: owner }, rawTraits: {}, timestamp: at },
      }, clock.now())).map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });
    const ds = app.get(DataSource);
    await waitFor('four accounts with a phase', async () =>
      (await ds.query(`SELECT count(*)::int AS n FROM ${lifecycleData.schema}.account_lifecycle WHERE account_id = ANY($1) AND phase IS NOT NULL`, [owners.map((o) => o[0])]))[0].n === 4);
    await waitFor('the roster projected', async () => (await ds.getRepository(RosterMemberProjection).countBy({ teamId: teamA })) === 3);
  });

  /** Roster events as escalation-routing publishes them: [csmId (e-mail `<id>@example.com`), team]. */
  const sendRoster = (csms: [string, string | null][], changedAt: string) =>
    producer.send({
      topic: Topics.roster,
      messages: csms.map(([csmId, teamId]) => {
        const e = createEvent('kizuna/escalation-routing', { type: 'cs.roster.csm.changed.v1', subject: `csm:${csmId}`, data: { csmId, email: `${csmId}@example.com`, teamId, active: true, changedAt } }, clock.now());
        return { key: e.subject, value: JSON.stringify(e) };
      }),
    });
  const listAs = async (role: 'csm' | 'cs-lead') => {
    const r = await send('GET', '/v1/accounts?limit=500', { authorization: `Bearer ${await testToken({ ...principals[role], roles: [role] })}` });
    return (JSON.parse(r.text).items as { accountId: string }[]).map((i) => i.accountId).sort();
  };

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
  });

  // Both scoped roles are matrix-checked on a teammate's account (the team-wide view).
  const own = (_role: TestRole) => team;
  const book = { admin: 'all', 'cs-lead': 'scoped', csm: 'scoped' } as const;
  const rules: Record<string, MatrixRule | NoBearerRule> = {
    'get /health/live': { noBearer: 'probe' },
    'get /health/ready': { noBearer: 'probe' },
    'get /metrics': { noBearer: 'metrics' },
    'get /v1/accounts': { roles: book, own: { path: '/v1/accounts?limit=500' }, other: { kind: 'list', path: '/v1/accounts?limit=500' } },
    'get /v1/accounts/{accountId}': { roles: book, own: (r) => ({ path: `/v1/accounts/${own(r)}` }), other: { kind: 'id', path: `/v1/accounts/${theirs}` } },
    'get /v1/kpis': { roles: { admin: 'all', 'cs-lead': 'all', ops: 'all' }, own: { path: '/v1/kpis' } },
    'get /v1/lifecycle-rules': { roles: { admin: 'all', 'cs-lead': 'all' }, own: { path: '/v1/lifecycle-rules' } },
    'put /v1/lifecycle-rules': { roles: { admin: 'all' }, own: { path: '/v1/lifecycle-rules', body: { phases: 'not rules' } } },
  };

  it('has an access rule for every route (a new route must be added here)', () => {
    expect(matrixCoverage(routes, rules)).toEqual({ uncovered: [], stale: [] });
  });

  it('answers 401/403/404 and never data outside each role and book', async () => {
    expect(await runAuthMatrix({ send, routes, rules, principals, foreignIds: [theirs] })).toEqual([]);
  });

  it('a csm and a cs-lead list exactly their team\'s accounts; without a team, a csm lists their book', async () => {
    expect(await listAs('csm')).toEqual([leads, mine, team].sort());
    expect(await listAs('cs-lead')).toEqual([leads, mine, team].sort());
    const alone = await send('GET', '/v1/accounts?limit=500', { authorization: `Bearer ${await testToken({ ...principals.csm, team: undefined, roles: ['csm'] } as never)}` });
    expect(JSON.parse(alone.text).items.map((i: { accountId: string }) => i.accountId)).toEqual([mine]);
    const r = await send('GET', `/v1/accounts/${mine}`, { authorization: `Bearer ${await testToken({ ...principals['cs-lead'], roles: ['cs-lead'] })}` });
    expect(JSON.parse(r.text)).toMatchObject({ accountId: mine, profile: { ownerCsmEmail: `CSM-A-${run}@example.com` } });
  });

  it('follows the roster: a CSM moving into the team brings their accounts, one leaving takes theirs', async () => {
    await sendRoster([[`csm-b-${run}`, teamA], [`mate-a-${run}`, teamB]], '2026-02-02T00:00:00.000Z');
    await waitFor('the team changed', async () => {
      const l = await listAs('csm');
      return l.includes(theirs) && !l.includes(team) ? true : undefined;
    });
    expect(await listAs('cs-lead')).toEqual([leads, mine, theirs].sort());
    const r = await send('GET', `/v1/accounts/${team}`, { authorization: `Bearer ${await testToken({ ...principals.csm, roles: ['csm'] })}` });
    expect(r.status).toBe(404);
  });

  it('hostile ids answer 400/404 and every table survives', async () => {
    const ds = app.get(DataSource);
    const tables = async () => (await ds.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [lifecycleData.schema]))[0].n as number;
    const before = await tables();
    expect(await runHostileIds({ send, routes, rules, token: await testToken({ roles: ['admin'] }) })).toEqual([]);
    const seg = await send('GET', `/v1/accounts?segment=${encodeURIComponent("x' OR '1'='1")}`, { authorization: `Bearer ${await testToken({ roles: ['admin'] })}` });
    expect(JSON.parse(seg.text).total).toBe(0);
    expect(await tables()).toBe(before);
  });

  it('refuses unknown query fields (mass assignment)', async () => {
    const r = await send('GET', '/v1/accounts?tenant=other&role=admin', { authorization: `Bearer ${await testToken({ roles: ['admin'] })}` });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/property tenant should not exist/);
  });
});
