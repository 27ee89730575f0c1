import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { ingestionData } from '@kizuna/ingestion/data-access';
import {
  TEST_ROLES, injectTransport, matrixCoverage, recordRoutes, runHostileIds, testToken, type NoBearerRule, type Transport,
} from '@kizuna/shared/testing';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';

const ADMIN = 'integration-admin-token-security-01';

/**
 * Ingestion's access rules: intake keeps write keys (no bearer token), the admin API takes the
 * admin token or an admin-role JWT and nothing else; every route has a rule; hostile ids.
 */
describe('ingestion access control', () => {
  let app: NestFastifyApplication;
  let send: Transport;
  let routes = new Set<string>();
  let sourceId = '';
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    app = await createIngestionTestApp({ env: { INGESTION_ADMIN_TOKEN: ADMIN, INGESTION_KEY_CACHE_TTL_MS: '0' } });
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    send = injectTransport(app.getHttpAdapter().getInstance());
    const created = await send('POST', '/v1/admin/sources', { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, JSON.stringify({ name: `security ${run}` }));
    sourceId = JSON.parse(created.text).source.id;
  });

  afterAll(async () => {
    await app?.close();
  });

  const writeKey: NoBearerRule = { noBearer: 'write-key' };
  const admin: NoBearerRule = { noBearer: 'own-guard' };
  const rules: Record<string, NoBearerRule> = {
    'get /health/live': { noBearer: 'probe' },
    'get /health/ready': { noBearer: 'probe' },
    'get /metrics': { noBearer: 'metrics' },
    'post /v1/batch': writeKey,
    'post /v1/import': writeKey,
    'post /v1/{type}': writeKey,
    'post /v1/support/tickets': writeKey,
    'post /v1/support/calls': writeKey,
    'post /v1/surveys': writeKey,
    'post /v1/subscriptions': writeKey,
    'post /v1/sources/zendesk/webhook': writeKey,
    'get /v1/support/unmatched': admin,
    'get /v1/admin/pending': admin,
    'get /v1/admin/sources': admin,
    'post /v1/admin/sources': admin,
    'get /v1/admin/sources/{id}': admin,
    'post /v1/admin/sources/{id}/rotate': admin,
    'put /v1/admin/sources/{id}/webhook-secret': admin,
    'post /v1/admin/sources/{id}/revoke': admin,
  };
  const adminCall = (route: string): [string, string, unknown] => {
    const [method, template] = route.split(' ') as [string, string];
    const path = template.replace('{id}', sourceId);
    const body = route.endsWith('webhook-secret') ? { secret: 'short' } : route === 'post /v1/admin/sources' ? {} : route.endsWith('/rotate') ? { graceSeconds: -1 } : undefined;
    return [method.toUpperCase(), path, body];
  };
  const adminRoutes = () => Object.entries(rules).filter(([, r]) => r.noBearer === 'own-guard').map(([k]) => k);

  it('has an access rule for every route (a new route must be added here)', () => {
    expect(matrixCoverage(routes, rules)).toEqual({ uncovered: [], stale: [] });
  });

  it('intake routes refuse bearer tokens in place of a write key', async () => {
    const token = await testToken({ roles: ['admin'] });
    const track = { userId: 'u1', event: 'Report Shared', context: { groupId: 'acme' } };
    for (const [path, body] of [['/v1/track', track], ['/v1/batch', { batch: [{ type: 'track', ...track }] }]] as const) {
      const r = await send('POST', path, { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, JSON.stringify(body));
      expect(r.status).toBe(401);
    }
  });

  it('the admin API takes the admin token or an admin JWT; nothing else (and never a 2xx for the rest)', async () => {
    const failures: string[] = [];
    const bad = [
      ['none', undefined],
      ['malformed', 'Bearer not-a-token'],
      ['forged', `Bearer ${await testToken({ roles: ['admin'], secret: 'an-attacker-secret-that-is-long-enough-0000' })}`],
      ['expired', `Bearer ${await testToken({ roles: ['admin'], expiresIn: -120 })}`],
      ['basic', `Basic ${Buffer.from(`${ADMIN}:`).toString('base64')}`],
    ] as const;
    for (const route of adminRoutes()) {
      const [method, path, body] = adminCall(route);
      const go = (authorization?: string) =>
        send(method, path, { ...(authorization ? { authorization } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body === undefined ? undefined : JSON.stringify(body));
      for (const [what, h] of bad) {
        const r = await go(h);
        if (r.status !== 401) failures.push(`${route} ${what}: expected 401, got ${r.status}`);
      }
      for (const role of TEST_ROLES.filter((r) => r !== 'admin')) {
        const r = await go(`Bearer ${await testToken({ roles: [role] })}`);
        if (r.status !== 403) failures.push(`${route} ${role}: expected 403, got ${r.status}`);
      }
      for (const [what, h] of [['admin token', `Bearer ${ADMIN}`], ['admin jwt', `Bearer ${await testToken({ roles: ['admin'] })}`]]) {
        const r = await go(h);
        if ([401, 403, 404].includes(r.status) || r.status >= 500) failures.push(`${route} ${what}: expected allowed, got ${r.status} ${r.text.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('hostile ids answer 400/404 and every table survives', async () => {
    const ds = app.get(DataSource);
    const tables = async () => (await ds.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [ingestionData.schema]))[0].n as number;
    const before = await tables();
    expect(await runHostileIds({ send, routes, rules, token: await testToken({ roles: ['admin'] }) })).toEqual([]);
    expect(await tables()).toBe(before);
  });

  it('refuses unknown body fields (mass assignment)', async () => {
    const r = await send('POST', '/v1/admin/sources', { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, JSON.stringify({ name: 'x', tenant: 'other', role: 'admin' }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/property tenant should not exist/);
  });
});
