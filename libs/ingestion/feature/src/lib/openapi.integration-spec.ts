import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';
import { ingestionOpenApi } from './openapi';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** docs/api/ingestion.openapi.yaml describes exactly the routes the service registers, and is served at /docs. */
describe('ingestion OpenAPI description', () => {
  let app: NestFastifyApplication;
  const routes = new Set<string>();
  const spec = ingestionOpenApi() as { openapi: string; paths: Record<string, Record<string, unknown>> };

  beforeAll(async () => {
    app = await createIngestionTestApp();
    app.getHttpAdapter().getInstance().addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) routes.add(`${String(m).toLowerCase()} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  const documented = () =>
    new Set(Object.entries(spec.paths).flatMap(([path, ops]) => METHODS.filter((m) => m in ops).map((m) => `${m} ${path}`)));

  it('documents every API route, and nothing that does not exist', () => {
    const api = [...routes].filter((r) => !r.startsWith('head ') && !r.includes('/docs') && r !== 'post /v1/{type}');
    const expectedFromSingle = ['track', 'identify', 'group', 'page', 'screen', 'alias'].map((t) => `post /v1/${t}`);
    const actual = new Set([...api, ...expectedFromSingle]);
    expect([...documented()].sort()).toEqual([...actual].sort());
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
