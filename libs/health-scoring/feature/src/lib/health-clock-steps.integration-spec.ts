import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { Topics, createEvent, type CloudEvent, type SteppedClock } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { clockStepsPending, createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { LOCAL_POSTGRES_URL, testKafka, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { ensureDatabase } from '@kizuna/shared/persistence';
import { AccountHealth, healthScoringData } from '@kizuna/health-scoring/data-access';
import { HealthScoringModule } from './health-scoring.module';

/** A simulation's clock, stepped by the test: a fixed instant and a count of closed stages. */
class TestSteppedClock implements SteppedClock {
  steps: number | undefined = 0;
  constructor(private readonly at: Date) {}
  now(): Date {
    return this.at;
  }
  step(): number | undefined {
    return this.steps;
  }
  refresh(): void {
    // nothing to re-read
  }
}

/**
 * HEALTH_SCORE_ON_CLOCK_STEPS: while a simulation steps the clock, events only record facts and the
 * sweep, run once per closed stage, scores every account with facts and emits the changes; so the
 * changes emitted do not depend on how the events were split into consumer runs.
 */
describe('health-scoring on a stepped clock', () => {
  const clock = new TestSteppedClock(new Date('2026-03-10T12:00:00Z'));
  const kafka = testKafka();
  const accountIds = new Set<string>();
  let app: NestFastifyApplication;
  let producer: Producer;
  let health: TopicRecorder;
  let seq = 0;
  const saved = process.env['HEALTH_SCORE_ON_CLOCK_STEPS'];

  beforeAll(async () => {
    process.env['HEALTH_SCORE_ON_CLOCK_STEPS'] = 'true';
    // A database of its own: this sweep scores every account with facts, which must not touch the
    // accounts of the health-scoring suites running beside it.
    const db = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
    db.pathname = `${db.pathname}_clock_steps`;
    await ensureDatabase(db.toString());
    const config = loadConfig(ServiceConfig, {
      ...process.env, DATABASE_URL: db.toString(), KAFKA_GROUP_PREFIX: `it-steps-${randomUUID().slice(0, 8)}`, KAFKA_RETRY_BACKOFF_MS: '10', OUTBOX_RETAIN_MS: '3600000',
    });
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'health-scoring', defaultPort: 0, data: healthScoringData, feature: HealthScoringModule }, config, logger, clock);
    app = await createServiceApp({ name: 'health-scoring', module: root, config, logger, defaultPort: 0 });
    await app.init();
    producer = kafka.producer();
    await producer.connect();
    health = await new TopicRecorder(kafka, [Topics.health], (m) => m.key !== null && accountIds.has(m.key)).start();
  });

  afterAll(async () => {
    await health?.stop();
    await producer?.disconnect();
    await app?.close();
    if (saved === undefined) delete process.env['HEALTH_SCORE_ON_CLOCK_STEPS'];
    else process.env['HEALTH_SCORE_ON_CLOCK_STEPS'] = saved;
  });

  const track = (accountId: string, user: string, name: string): CloudEvent =>
    createEvent('kizuna/ingestion', {
      type: 'cs.product.track.v1', subject: accountId,
      data: { kind: 'track', sourceId: 'test', messageId: `m-${++seq}`, accountId, userId: user, event: name, properties: {}, timestamp: clock.now().toISOString(), receivedAt: clock.now().toISOString() },
    }, clock.now());
  const applied = (accountId: string, n: number) =>
    waitFor(`${n} events applied for ${accountId}`, async () => {
      const [r] = await app.get(DataSource).query('SELECT count(*)::int AS n FROM health_scoring.inbox WHERE account_id = $1', [accountId]);
      return r.n >= n ? true : undefined;
    });
  /**
   * This instance's health events for the account: the other health-scoring suites on the shared
   * broker read the same product events (their groups run at the same time) and emit their own.
   */
  const changes = async (accountId: string) => {
    const own: { event_id: string }[] = await app.get(DataSource).query('SELECT event_id FROM health_scoring.outbox WHERE message_key = $1', [accountId]);
    const ids = new Set(own.map((r) => r.event_id));
    return health.messages.filter((m) => m.key === accountId && ids.has((JSON.parse(m.value ?? '{}') as { id?: string }).id ?? ''));
  };

  it('records facts without scoring until a stage closes; then scores every account with facts once, and emits', async () => {
    const a = `acc-${randomUUID()}`;
    const b = `acc-${randomUUID()}`;
    accountIds.add(a).add(b);
    // Two runs of events for a, one for b: nothing is scored or emitted while the stage is open.
    await producer.send({ topic: Topics.product, messages: [track(a, 'u1', 'Report Shared')].map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });
    await applied(a, 1);
    await producer.send({ topic: Topics.product, messages: [track(a, 'u2', 'Dashboard Viewed'), track(b, 'u9', 'Report Shared')].map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });
    await applied(a, 2);
    await applied(b, 1);
    expect(await app.get(DataSource).getRepository(AccountHealth).countBy([{ accountId: a }, { accountId: b }])).toBe(0);
    expect(await changes(a)).toHaveLength(0);

    clock.steps = 1; // the player closes the stage
    await waitFor('the stage scored', async () => ((await changes(a)).length > 0 && (await changes(b)).length > 0 && clockStepsPending() === 0 ? true : undefined));
    const [first] = (await changes(a)).map((m) => JSON.parse(m.value ?? '{}') as CloudEvent<'cs.health.score.changed.v1'>);
    expect(first?.data).toMatchObject({ previousScore: null, band: expect.any(String) });
    expect(await changes(a)).toHaveLength(1); // one change for both runs of events
    const stored = await app.get(DataSource).getRepository(AccountHealth).findOneByOrFail({ accountId: a });
    expect(stored.lastEventId).toBe('sweep');

    // The next stage without new events: the scores stand, nothing more is emitted.
    clock.steps = 2;
    await waitFor('the second stage closed', async () => (clockStepsPending() === 0 ? true : undefined));
    expect(await changes(a)).toHaveLength(1);
  });
});
