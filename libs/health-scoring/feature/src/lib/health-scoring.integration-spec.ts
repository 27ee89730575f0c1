import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { HealthBand, ManualClock, Topics, createEvent, type CloudEvent } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { TopicRecorder, testKafka, waitFor } from '@kizuna/shared/testing';
import { AccountHealth, healthScoringData } from '@kizuna/health-scoring/data-access';
import { HealthScoringModule } from './health-scoring.module';

/** health-scoring in-process against the real broker and Postgres, with a manual clock. */
describe('health-scoring service', () => {
  const clock = new ManualClock('2026-03-10T12:00:00Z');
  const kafka = testKafka();
  let app: INestApplication;
  let producer: Producer;
  let health: TopicRecorder;
  const accountIds = new Set<string>();

  beforeAll(async () => {
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: `it-${randomUUID().slice(0, 8)}`, KAFKA_RETRY_BACKOFF_MS: '10' });
    const logger = pino({ level: 'silent' });
    const root = serviceRootModule(
      { name: 'health-scoring', defaultPort: 0, data: healthScoringData, feature: HealthScoringModule },
      config,
      logger,
      clock,
    );
    app = await createServiceApp({ name: 'health-scoring', module: root, config, logger, defaultPort: 0 });
    await app.init();
    producer = kafka.producer();
    await producer.connect();
    health = await new TopicRecorder(kafka, [Topics.health], (m) => m.key !== null && accountIds.has(m.key)).start();
  });

  afterAll(async () => {
    await health.stop();
    await producer.disconnect();
    await app.close();
  });

  function track(accountId: string, n: number, timestamp = clock.now().toISOString()): CloudEvent<'cs.product.track.v1'> {
    return createEvent(
      'kizuna/ingestion',
      {
        type: 'cs.product.track.v1',
        subject: accountId,
        data: {
          kind: 'track', sourceId: 'test', messageId: `m-${n}`, accountId, userId: 'u1', event: 'Report Shared',
          properties: {}, timestamp, receivedAt: timestamp,
        },
      },
      clock.now(),
    );
  }

  const send = (events: CloudEvent[]) =>
    producer.send({ topic: Topics.product, messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });

  const healthOf = (accountId: string) => app.get(DataSource).getRepository(AccountHealth).findOneBy({ accountId });

  it('scores an account from its product events and emits the change on cs.health.v1', async () => {
    const accountId = `acc-${randomUUID()}`;
    accountIds.add(accountId);
    await send([track(accountId, 1), track(accountId, 2)]);
    const second = await waitFor('two health changes', () => {
      const mine = health.messages.filter((m) => m.key === accountId);
      return mine.length >= 2 ? mine : undefined;
    });
    const [first, next] = second.map((m) => JSON.parse(m.value ?? '{}') as CloudEvent<'cs.health.score.changed.v1'>);
    expect(first?.data).toMatchObject({ previousScore: null, previousBand: null, band: HealthBand.Danger, scorecardVersion: 0 });
    expect(next?.data.previousScore).toBe(first?.data.score);
    expect(next?.data.score).toBeGreaterThan(first?.data.score ?? 0);
    expect(next?.data.topMovers[0]).toMatchObject({ component: 'engagement', measure: 'events_7d' });
    expect(next?.subject).toBe(accountId);
    expect((await healthOf(accountId))?.score).toBe(next?.data.score);
  });

  it('counts a redelivered event once', async () => {
    const accountId = `acc-${randomUUID()}`;
    accountIds.add(accountId);
    const e = track(accountId, 1);
    await send([e, e, e]);
    const marker = track(accountId, 2);
    await send([marker]);
    await waitFor('the marker event applied', async () => (await healthOf(accountId))?.lastEventId === marker.id);
    const rows = await app.get(DataSource).query(
      'SELECT sum(events)::int AS n FROM health_scoring.account_daily_activity WHERE account_id = $1',
      [accountId],
    );
    expect(rows[0].n).toBe(2);
  });

  it('uses the injected clock: activity older than 7 days does not count', async () => {
    const accountId = `acc-${randomUUID()}`;
    accountIds.add(accountId);
    const old = track(accountId, 1, '2026-02-01T00:00:00.000Z');
    await send([old]);
    await waitFor('the old event applied', async () => (await healthOf(accountId))?.lastEventId === old.id);
    expect((await healthOf(accountId))?.score).toBe(0);
  });
});
