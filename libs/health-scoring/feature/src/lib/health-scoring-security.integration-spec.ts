import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { ManualClock, Topics, createEvent, type CloudEvent, type EventType, type PayloadOf } from '@kizuna/shared/contracts';
import { RosterMemberProjection } from '@kizuna/shared/persistence';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import {
  injectTransport, matrixCoverage, recordRoutes, runAuthMatrix, runHostileIds, testKafka, testToken, waitFor, type MatrixRule, type NoBearerRule, type TestRole,
} from '@kizuna/shared/testing';
import { AccountHealth, healthScoringData } from '@kizuna/health-scoring/data-access';
import { HealthScoringModule } from './health-scoring.module';

/**
 * Access control of health-scoring's API: every route in the matrix (a new route without a rule
 * fails), every role, bad tokens, another team's accounts (404 / left out of lists), hostile ids.
 * The owner of each account arrives as a directory event (ownerCsmEmail) and who is in which team as
 * roster events (cs.roster.v1), both through Kafka.
 */
describe('health-scoring access control', () => {
  const clock = new ManualClock('2026-03-10T12:00:00Z');
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  let app: NestFastifyApplication;
  let producer: Producer;
  let routes = new Set<string>();
  const mine = `acc-mine-${run}`;
  const leads = `acc-lead-${run}`;
  const theirs = `acc-theirs-${run}`;
  /** Owned by a teammate of the csm and the cs-lead (team a): theirs to read through the team. */
  const team = `acc-team-${run}`;
  const teamA = `team-a-${run}`;
  const teamB = `team-b-${run}`;
  const principals: Record<TestRole, { sub: string; team?: string; csm?: string; email?: string }> = {
    admin: { sub: `admin-${run}` },
    ops: { sub: `ops-${run}` },
    support: { sub: `support-${run}` },
    csm: { sub: `csm-${run}`, team: `team-a-${run}`, csm: `csm-a-${run}`, email: `csm-a-${run}@example.com` },
    'cs-lead': { sub: `lead-${run}`, team: `team-a-${run}`, csm: `lead-a-${run}`, email: `lead-a-${run}@example.com` },
  };

  beforeAll(async () => {
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: `it-sec-${run}`, KAFKA_RETRY_BACKOFF_MS: '10' });
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'health-scoring', defaultPort: 0, data: healthScoringData, feature: HealthScoringModule }, config, logger, clock);
    app = await createServiceApp({ name: 'health-scoring', module: root, config, logger, defaultPort: 0 });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    producer = kafka.producer();
    await producer.connect();
    const ev = <T extends EventType>(type: T, accountId: string, data: PayloadOf<T>): CloudEvent<T> => createEvent('kizuna/ingestion', { type, subject: accountId, data }, clock.now());
    const at = clock.now().toISOString();
    await sendRoster([[`csm-a-${run}`, teamA], [`lead-a-${run}`, teamA], [`mate-a-${run}`, teamA], [`csm-b-${run}`, teamB]], at);
    const owners: [string, string][] = [[mine, `CSM-A-${run}@example.com`], [leads, `lead-a-${run}@example.com`], [team, `mate-a-${run}@example.com`], [theirs, `csm-b-${run}@example.com`]];
    await producer.send({
      topic: Topics.directory,
      messages: owners.map(([acc, owner]) => ev('cs.directory.account.updated.v1', acc, { sourceId: 'test', messageId: `g-${acc}`, accountId: acc, traits: { name: acc, ownerCsmEmail: owner }, rawTraits: {}, timestamp: at }))
        .map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });
    await producer.send({
      topic: Topics.product,
      messages: owners.map(([acc]) => ev('cs.product.track.v1', acc, { kind: 'track', sourceId: 'test', messageId: `t-${acc}`, accountId: acc, userId: 'u1', event: 'Report Shared', properties: {}, timestamp: at, receivedAt: at }))
        .map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });
    const repo = app.get(DataSource).getRepository(AccountHealth);
    await waitFor('four scored accounts', async () => (await repo.countBy(owners.map(([accountId]) => ({ accountId })))) === 4);
    await waitFor('the roster projected', async () => (await app.get(DataSource).getRepository(RosterMemberProjection).countBy({ teamId: teamA })) === 3);
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
    const send = injectTransport(app.getHttpAdapter().getInstance());
    const r = await send('GET', '/v1/health?limit=500', { authorization: `Bearer ${await testToken({ ...principals[role], roles: [role] })}` });
    return (JSON.parse(r.text).items as { accountId: string }[]).map((i) => i.accountId).sort();
  };

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
  });

  let backfillId = 'bf_none';
  // Both scoped roles are matrix-checked on a teammate's account (the team-wide view).
  const own = (_role: TestRole) => team;
  const reader = { admin: 'all', ops: 'all', 'cs-lead': 'scoped', csm: 'scoped' } as const;
  const rules: Record<string, MatrixRule | NoBearerRule> = {
    'get /health/live': { noBearer: 'probe' },
    'get /health/ready': { noBearer: 'probe' },
    'get /metrics': { noBearer: 'metrics' },
    'get /v1/health': { roles: reader, own: { path: '/v1/health?limit=500' }, other: { kind: 'list', path: '/v1/health?limit=500' } },
    'get /v1/accounts/{accountId}/health': {
      roles: reader, own: (r) => ({ path: `/v1/accounts/${own(r)}/health` }), other: { kind: 'id', path: `/v1/accounts/${theirs}/health` },
    },
    'get /v1/accounts/{accountId}/health/history': {
      roles: reader, own: (r) => ({ path: `/v1/accounts/${own(r)}/health/history?from=2026-03-01` }), other: { kind: 'id', path: `/v1/accounts/${theirs}/health/history?from=2026-03-01` },
    },
    'get /v1/scorecards': { roles: { admin: 'all', ops: 'all', 'cs-lead': 'all', csm: 'all' }, own: { path: '/v1/scorecards' } },
    'get /v1/scorecards/{id}': { roles: { admin: 'all', ops: 'all', 'cs-lead': 'all', csm: 'all' }, own: { path: '/v1/scorecards/smb' } },
    'put /v1/scorecards/{id}': { roles: { admin: 'all' }, own: { path: '/v1/scorecards/smb', body: { name: 'not a whole scorecard' } } },
    'post /v1/scorecards/{id}/backfill': { roles: { admin: 'all' }, own: { path: '/v1/scorecards/smb/backfill', body: { dryRun: true } } },
    'get /v1/backfills/{id}': { roles: { admin: 'all' }, own: () => ({ path: `/v1/backfills/${backfillId}` }) },
  };

  it('has an access rule for every route (a new route must be added here)', () => {
    expect(matrixCoverage(routes, rules)).toEqual({ uncovered: [], stale: [] });
  });

  it('answers 401/403/404 and never data outside each role and book', async () => {
    const send = injectTransport(app.getHttpAdapter().getInstance());
    const job = await send('POST', '/v1/scorecards/smb/backfill', { authorization: `Bearer ${await testToken({ roles: ['admin'] })}`, 'content-type': 'application/json' }, '{"dryRun":true}');
    backfillId = (JSON.parse(job.text) as { id: string }).id;
    const failures = await runAuthMatrix({ send, routes, rules, principals, foreignIds: [theirs] });
    expect(failures).toEqual([]);
  });

  it('a csm reads their own account (the owner projection matches case-insensitively) and their team\'s, a cs-lead their team\'s', async () => {
    const send = injectTransport(app.getHttpAdapter().getInstance());
    const r = await send('GET', `/v1/accounts/${mine}/health`, { authorization: `Bearer ${await testToken({ ...principals.csm, roles: ['csm'] })}` });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ accountId: mine });
    expect(await listAs('csm')).toEqual([leads, mine, team].sort());
    expect(await listAs('cs-lead')).toEqual([leads, mine, team].sort());
    // a csm with no team in their token sees their book only
    const alone = await send('GET', '/v1/health?limit=500', { authorization: `Bearer ${await testToken({ ...principals.csm, team: undefined, roles: ['csm'] } as never)}` });
    expect(JSON.parse(alone.text).items.map((i: { accountId: string }) => i.accountId)).toEqual([mine]);
  });

  it('follows the roster: a CSM moving into the team brings their accounts, an older roster event changes nothing', async () => {
    const later = new Date(clock.now().getTime() + 60_000).toISOString();
    await sendRoster([[`csm-b-${run}`, teamA]], later);
    await waitFor('csm-b in team a', async () => ((await listAs('cs-lead')).includes(theirs) ? true : undefined));
    expect(await listAs('csm')).toEqual([leads, mine, team, theirs].sort());
    // a stale event (changed before the move, arriving after it) must not undo it
    await sendRoster([[`csm-b-${run}`, teamB]], clock.now().toISOString());
    await waitFor('the stale roster event consumed', async () =>
      (await app.get(DataSource).query(`SELECT count(*)::int AS n FROM ${healthScoringData.schema}.inbox WHERE account_id = $1`, [`csm:csm-b-${run}`]))[0].n === 3 ? true : undefined);
    expect(await listAs('csm')).toContain(theirs);
    // a teammate leaving the team takes their accounts out of the team view
    await sendRoster([[`mate-a-${run}`, teamB]], new Date(clock.now().getTime() + 120_000).toISOString());
    await waitFor('mate-a out of team a', async () => (!(await listAs('csm')).includes(team) ? true : undefined));
    expect(await listAs('csm')).toEqual([leads, mine, theirs].sort());
    const send = injectTransport(app.getHttpAdapter().getInstance());
    expect((await send('GET', `/v1/accounts/${team}/health`, { authorization: `Bearer ${await testToken({ ...principals.csm, roles: ['csm'] })}` })).status).toBe(404);
  });

  it('hostile ids answer 400/404 and every table survives', async () => {
    const ds = app.get(DataSource);
    const tables = async () => (await ds.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [healthScoringData.schema]))[0].n as number;
    const before = await tables();
    const failures = await runHostileIds({ send: injectTransport(app.getHttpAdapter().getInstance()), routes, rules, token: await testToken({ roles: ['admin'] }) });
    expect(failures).toEqual([]);
    expect(await tables()).toBe(before);
    expect(before).toBeGreaterThan(5);
  });

  it('refuses unknown body fields (mass assignment)', async () => {
    const send = injectTransport(app.getHttpAdapter().getInstance());
    const r = await send('POST', '/v1/scorecards/smb/backfill', { authorization: `Bearer ${await testToken({ roles: ['admin'] })}`, 'content-type': 'application/json' },
      JSON.stringify({ dryRun: true, tenant: 'other', role: 'admin', score: 100 }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/property tenant should not exist/);
  });
});
