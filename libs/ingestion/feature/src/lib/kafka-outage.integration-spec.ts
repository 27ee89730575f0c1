import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Topics } from '@kizuna/shared/contracts';
import { KafkaNetworkSwitch, TopicRecorder, testKafka, waitFor } from '@kizuna/shared/testing';
import { ingestEventId } from '@kizuna/ingestion/domain';
import { createIngestionTestApp } from './ingestion-test-app.test-helper';
import { SourceRegistry } from './source-registry.service';

/**
 * Kafka unavailable (the service's connections cut, the broker still up for everyone else):
 * ingestion answers 503 with Retry-After, never 200, reports not ready, and recovers by itself.
 */
describe('ingestion when Kafka is unavailable', () => {
  const network = new KafkaNetworkSwitch();
  let app: NestFastifyApplication;
  let auth = '';
  let sourceId = '';

  beforeAll(async () => {
    app = await createIngestionTestApp({ kafkaSocketFactory: network.socketFactory, env: { INGESTION_KAFKA_ACK_TIMEOUT_MS: '1500' } });
    await app.init();
    const issued = await app.get(SourceRegistry).create(`outage-${randomUUID().slice(0, 8)}`);
    sourceId = issued.source.id;
    auth = `Basic ${Buffer.from(`${issued.writeKey}:`).toString('base64')}`;
  });

  afterAll(async () => {
    network.restore();
    await app?.close();
  });

  const track = (account: string, messageId: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ userId: 'u1', event: 'During Outage', messageId, context: { groupId: account } }),
    });

  it('answers 503 with Retry-After while Kafka is unreachable, and 200 again once it is back', async () => {
    const account = `acc-${randomUUID()}`;
    expect((await track(account, `before-${account}`)).statusCode).toBe(200);

    network.cut();
    const refused = await track(account, `during-${account}`);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body).message).toMatch(/nothing was stored, retry later/);
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(JSON.parse(ready.body).checks.kafka.ok).toBe(false);

    network.restore();
    // The SDK retries the same message: accepted once Kafka is back, without restarting anything.
    await waitFor('ingestion accepting again', async () => (await track(account, `during-${account}`)).statusCode === 200, {
      timeoutMs: 45_000,
      intervalMs: 500,
    });
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);

    const recorder = await new TopicRecorder(testKafka(), [Topics.product], (m) => m.key === account).start();
    try {
      const ids = await waitFor('both messages on Kafka', () => {
        const got = new Set(recorder.messages.map((m) => (JSON.parse(m.value ?? '{}') as { id: string }).id));
        return got.has(ingestEventId(sourceId, `before-${account}`)) && got.has(ingestEventId(sourceId, `during-${account}`)) ? got : undefined;
      });
      expect(ids.size).toBe(2); // a re-publication carries the same event id: consumers count it once
    } finally {
      await recorder.stop();
    }
  });
});
