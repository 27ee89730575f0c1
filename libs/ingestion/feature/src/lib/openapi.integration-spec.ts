import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule } from './ingestion.module';
import { ingestionHttpOptions } from './openapi';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** docs/api/ingestion.openapi.yaml describes exactly the routes the service registers, and is served at /docs. */
describe('ingestion OpenAPI description', () => {
  let app: NestFastifyApplication;
  const routes = new Set<string>();
  const spec = ingestionHttpOptions().openApi as { openapi: string; paths: Record<string, Record<string, unknown>> };

  beforeAll(async () => {
    const config = loadConfig(ServiceConfig, process.env);
    const logger = pino({ level: 'silent' });
    const root = serviceRootModule({ name: 'ingestion', defaultPort: 0, data: ingestionData, feature: IngestionModule }, config, logger);
    app = await createServiceApp({ name: 'ingestion', module: root, config, logger, defaultPort: 0, ...ingestionHttpOptions() });
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
