import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { documentedRoutes, recordRoutes } from '@kizuna/shared/testing';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';
import { ingestionOpenApi } from './openapi';

/** docs/api/ingestion.openapi.yaml describes exactly the routes the service registers, and is served at /docs. */
describe('ingestion OpenAPI description', () => {
  let app: NestFastifyApplication;
  let routes = new Set<string>();
  const spec = ingestionOpenApi() as { openapi: string; paths: Record<string, Record<string, unknown>> };

  beforeAll(async () => {
    app = await createIngestionTestApp();
    routes = recordRoutes(app.getHttpAdapter().getInstance());
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('documents every API route, and nothing that does not exist', () => {
    const api = [...routes].filter((r) => r !== 'post /v1/{type}');
    const expectedFromSingle = ['track', 'identify', 'group', 'page', 'screen', 'alias'].map((t) => `post /v1/${t}`);
    const actual = new Set([...api, ...expectedFromSingle]);
    expect([...documentedRoutes(spec)].sort()).toEqual([...actual].sort());
  });

  it('serves the description and its UI at /docs', async () => {
    const json = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(json.statusCode).toBe(200);
    expect(JSON.parse(json.body)).toMatchObject({ openapi: spec.openapi, info: { title: 'Kizuna ingestion API' } });
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });
});
