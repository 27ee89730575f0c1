import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import {
  injectTransport, matrixCoverage, recordRoutes, runAuthMatrix, runHostileIds, testToken, type MatrixRule, type NoBearerRule, type TestRole, type Transport,
} from '@kizuna/shared/testing';
import { notificationData } from '@kizuna/notification/data-access';
import { NotificationModule } from './notification.module';

/**
 * Access control of notification's API: every route in the matrix, a CSM's own inbox and
 * preferences against another CSM's, the delivery log for admin and ops, hostile ids.
 */
describe('notification access control', () => {
  const run = randomUUID().slice(0, 8);
  const csmA = `csm-a-${run}`;
  const leadA = `lead-a-${run}`;
  const csmB = `csm-b-${run}`;
  const env = { ...process.env };
  let app: NestFastifyApplication;
  let send: Transport;
  let routes = new Set<string>();
  const principals: Record<TestRole, { sub: string; team?: string; csm?: string; email?: string }> = {
    admin: { sub: `admin-${run}` },
    ops: { sub: `ops-${run}` },
    support: { sub: `support-${run}` },
    csm: { sub: csmA, team: `team-a-${run}`, csm: csmA, email: `${csmA}@example.com` },
    'cs-lead': { sub: leadA, team: `team-a-${run}`, csm: leadA, email: `${leadA}@example.com` },
  };

  beforeAll(async () => {
    Object.assign(process.env, { NOTIFICATION_SECRET_KEY: randomBytes(32).toString('base64'), NOTIFICATION_DELIVERY_POLL_MS: '60000' });
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: `it-sec-${run}` });
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'notification', defaultPort: 0, data: notificationData, feature: NotificationModule }, config, logger);
    app = await createServiceApp({ name: 'notification', module: root, config, logger, defaultPort: 0 });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    send = injectTransport(app.getHttpAdapter().getInstance());
    const admin = { authorization: `Bearer ${await testToken({ roles: ['admin'] })}`, 'content-type': 'application/json' };
    for (const id of [csmA, leadA, csmB]) {
      expect((await send('PUT', `/v1/recipients/${id}`, admin, JSON.stringify({ email: `${id}@example.com`, name: id }))).status).toBeLessThan(300);
    }
  });

  afterAll(async () => {
    await app?.close();
    process.env = env;
  });

  const mine = (r: TestRole) => (r === 'cs-lead' ? leadA : csmA);
  const self = { admin: 'all', 'cs-lead': 'scoped', csm: 'scoped' } as const;
  const none = randomUUID();
  const rules: Record<string, MatrixRule | NoBearerRule> = {
    'get /health/live': { noBearer: 'probe' },
    'get /health/ready': { noBearer: 'probe' },
    'get /metrics': { noBearer: 'metrics' },
    'get /v1/unsubscribe': { noBearer: 'signed-link' },
    'get /v1/notifications': {
      roles: self, own: (r) => ({ path: `/v1/notifications?recipient=${mine(r)}` }), other: { kind: 'list', path: `/v1/notifications?recipient=${csmB}` },
    },
    'post /v1/notifications/{id}/read': { roles: self, own: { path: `/v1/notifications/${none}/read` }, ownMayBeAbsent: true },
    'get /v1/deliveries': { roles: { admin: 'all', ops: 'all' }, own: { path: '/v1/deliveries' } },
    'get /v1/deliveries/{id}': { roles: { admin: 'all', ops: 'all' }, own: { path: `/v1/deliveries/${none}` }, ownMayBeAbsent: true },
    'post /v1/deliveries/{id}/retry': { roles: { admin: 'all', ops: 'all' }, own: { path: `/v1/deliveries/${none}/retry` }, ownMayBeAbsent: true },
    'get /v1/recipients/{csmId}': { roles: self, own: (r) => ({ path: `/v1/recipients/${mine(r)}` }), other: { kind: 'id', path: `/v1/recipients/${csmB}` } },
    'put /v1/recipients/{csmId}': {
      roles: self,
      own: (r) => ({ path: `/v1/recipients/${mine(r)}`, body: { email: `${mine(r)}@example.com`, name: mine(r) } }),
      other: { kind: 'id', path: `/v1/recipients/${csmB}`, body: { email: `${csmB}@example.com`, name: 'taken over' } },
    },
    'get /v1/trigger-rules': { roles: { admin: 'all', 'cs-lead': 'all' }, own: { path: '/v1/trigger-rules' } },
    'put /v1/trigger-rules': { roles: { admin: 'all' }, own: { path: '/v1/trigger-rules', body: {} } },
    'get /v1/plays': { roles: { admin: 'all', 'cs-lead': 'all' }, own: { path: '/v1/plays' } },
    'put /v1/plays': { roles: { admin: 'all' }, own: { path: '/v1/plays', body: {} } },
    'post /v1/opt-outs': { roles: { admin: 'all', support: 'all' }, own: { path: '/v1/opt-outs', body: {} } },
    'delete /v1/opt-outs/{email}': { roles: { admin: 'all' }, own: { path: `/v1/opt-outs/nobody-${run}@example.com` }, ownMayBeAbsent: true },
  };

  it('has an access rule for every route (a new route must be added here)', () => {
    expect(matrixCoverage(routes, rules)).toEqual({ uncovered: [], stale: [] });
  });

  it('answers 401/403/404 and never data outside each role and recipient', async () => {
    expect(await runAuthMatrix({ send, routes, rules, principals, foreignIds: [`${csmB}@example.com`] })).toEqual([]);
  });

  it('hostile ids answer 400/404 and every table survives', async () => {
    const ds = app.get(DataSource);
    const tables = async () => (await ds.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [notificationData.schema]))[0].n as number;
    const before = await tables();
    expect(await runHostileIds({ send, routes, rules, token: await testToken({ roles: ['admin'] }) })).toEqual([]);
    expect(await tables()).toBe(before);
  });

  it('refuses unknown body fields (mass assignment)', async () => {
    const r = await send('PUT', `/v1/recipients/${csmA}`, { authorization: `Bearer ${await testToken({ roles: ['admin'] })}`, 'content-type': 'application/json' },
      JSON.stringify({ email: `${csmA}@example.com`, tenant: 'other', role: 'admin' }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/property tenant should not exist/);
  });
});
