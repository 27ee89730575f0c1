import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';
import { SourceRegistry } from './source-registry.service';

/** Per write key request limits: beyond INGESTION_RATE_LIMIT_PER_MINUTE, 429 with Retry-After. */
describe('ingestion rate limit per write key', () => {
  let app: NestFastifyApplication;
  const before = process.env['INGESTION_RATE_LIMIT_PER_MINUTE'];
  const keys: string[] = [];

  beforeAll(async () => {
    app = await createIngestionTestApp({ env: { INGESTION_RATE_LIMIT_PER_MINUTE: '3' } });
    await app.init();
    for (const name of ['a', 'b']) keys.push((await app.get(SourceRegistry).create(`limit-${name}-${randomUUID().slice(0, 8)}`)).writeKey);
  });

  afterAll(async () => {
    if (before === undefined) delete process.env['INGESTION_RATE_LIMIT_PER_MINUTE'];
    else process.env['INGESTION_RATE_LIMIT_PER_MINUTE'] = before;
    await app?.close();
  });

  const track = (writeKey: string, n: number) =>
    app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ userId: 'u1', event: 'Limited', messageId: `m-${n}-${randomUUID()}`, context: { groupId: 'acc-limit' } }),
    });

  it('answers 429 with Retry-After past the limit, for that write key only', async () => {
    const [a, b] = keys as [string, string];
    for (let i = 0; i < 3; i++) expect((await track(a, i)).statusCode).toBe(200);
    const over = await track(a, 3);
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(over.body).message).toMatch(/over its limit of 3 requests per minute/);
    expect((await track(b, 0)).statusCode).toBe(200);
  });
});
