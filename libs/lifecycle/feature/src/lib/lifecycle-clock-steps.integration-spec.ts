import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { ALL_TOPICS, Topics, createEvent, topicOf, type CloudEvent, type SteppedClock } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { clockStepsPending, createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { LOCAL_POSTGRES_URL, startConsumerGroupAtEnd, testKafka, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { ensureDatabase } from '@kizuna/shared/persistence';
import { lifecycleData } from '@kizuna/lifecycle/data-access';
import { LifecycleModule } from './lifecycle.module';

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
 * LIFECYCLE_EVALUATE_ON_CLOCK_STEPS: while a simulation steps the clock, events only log their
 * signals; the tick at the next close rebuilds each account from its log, so what is emitted does not
 * depend on the order the consumer read the topics and partitions in.
 */
describe('lifecycle on a stepped clock', () => {
  const clock = new TestSteppedClock(new Date('2026-03-20T00:00:00Z'));
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  const accountIds = new Set<string>();
  let app: NestFastifyApplication;
  let producer: Producer;
  let recorder: TopicRecorder;
  const saved = process.env['LIFECYCLE_EVALUATE_ON_CLOCK_STEPS'];

  beforeAll(async () => {
    process.env['LIFECYCLE_EVALUATE_ON_CLOCK_STEPS'] = 'true';
    // A database of its own: the tick rebuilds every account marked in it, other suites' too.
    const db = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
    db.pathname = `${db.pathname}_lifecycle_steps`;
    await ensureDatabase(db.toString());
    const config = loadConfig(ServiceConfig, { ...process.env, DATABASE_URL: db.toString(), KAFKA_GROUP_PREFIX: `it-steps-${run}`, KAFKA_RETRY_BACKOFF_MS: '10' });
    await startConsumerGroupAtEnd(kafka, `it-steps-${run}.lifecycle`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'lifecycle', defaultPort: 0, data: lifecycleData, feature: LifecycleModule }, config, logger, clock);
    app = await createServiceApp({ name: 'lifecycle', module: root, config, logger, defaultPort: 0 });
    await app.init();
    producer = kafka.producer();
    await producer.connect();
    recorder = await new TopicRecorder(kafka, [Topics.lifecycle], (m) => m.key !== null && accountIds.has(m.key)).start();
  });

  afterAll(async () => {
    await recorder?.stop();
    await producer?.disconnect();
    await app?.close();
    if (saved === undefined) delete process.env['LIFECYCLE_EVALUATE_ON_CLOCK_STEPS'];
    else process.env['LIFECYCLE_EVALUATE_ON_CLOCK_STEPS'] = saved;
  });

  const ds = () => app.get(DataSource);
  let seq = 0;
  /** A new SMB account (a month-old contract) and six weeks of its usage, some days skipped. */
  const history = (accountId: string): CloudEvent[] => {
    const events: CloudEvent[] = [];
    const traits = { name: accountId, plan: 'pro', arr: 12_000, seatsPurchased: 5, contractStart: '2026-02-01T00:00:00.000Z', renewalDate: '2027-02-01T00:00:00.000Z' };
    events.push(createEvent('kizuna/test', {
      type: 'cs.directory.account.updated.v1', subject: accountId,
      data: { sourceId: 'src', messageId: `g-${++seq}`, accountId, traits, rawTraits: traits, timestamp: '2026-02-01T09:00:00.000Z' },
    }, clock.now()) as CloudEvent);
    for (let day = 0; day < 42; day++) {
      if (day % 5 === 3 || (day > 20 && day < 30)) continue;
      const at = new Date(Date.parse('2026-02-01T10:00:00Z') + day * 86_400_000).toISOString();
      const event = day === 2 ? 'Integration Connected' : day === 6 ? 'Report Created' : 'Dashboard Viewed';
      events.push(createEvent('kizuna/test', {
        type: 'cs.product.track.v1', subject: accountId,
        data: { kind: 'track', sourceId: 'src', messageId: `p-${++seq}`, accountId, userId: `u-${day % 3}`, event, properties: {}, timestamp: at, receivedAt: at },
      }, clock.now()) as CloudEvent);
    }
    return events;
  };
  const send = async (events: CloudEvent[]) => {
    for (const e of events) await producer.send({ topic: topicOf(e.type), messages: [{ key: e.subject, value: JSON.stringify(e) }] });
  };
  const applied = (accountId: string, n: number) =>
    waitFor(`${n} events applied for ${accountId}`, async () => {
      const [r] = await ds().query('SELECT count(*)::int AS n FROM lifecycle.inbox WHERE account_id = $1', [accountId]);
      return r.n >= n ? true : undefined;
    });
  const transitions = async (accountId: string): Promise<string[]> =>
    (await ds().query(`SELECT kind, coalesce(dimension, '') AS dimension, coalesce(from_value, '') AS "from", coalesce(to_value, '') AS "to", at FROM lifecycle.lifecycle_transition
       WHERE account_id = $1 ORDER BY at, kind, dimension, to_value`, [accountId])).map((t: { kind: string; dimension: string; from: string; to: string; at: Date }) =>
      `${t.at.toISOString()} ${t.kind} ${t.dimension} ${t.from} -> ${t.to}`);
  /** This instance's events for the account (other lifecycle suites on the shared broker read the same input and emit their own). */
  const own = async (accountId: string) => {
    const ids = new Set(((await ds().query('SELECT event_id FROM lifecycle.outbox WHERE message_key = $1', [accountId])) as { event_id: string }[]).map((r) => r.event_id));
    return recorder.messages.filter((m) => m.key === accountId && ids.has((JSON.parse(m.value ?? '{}') as { id?: string }).id ?? ''));
  };
  const pending = async (accountId: string) => ((await ds().query('SELECT pending_step FROM lifecycle.account_lifecycle WHERE account_id = $1', [accountId]))[0]?.pending_step ?? null) as number | null;

  it('logs signals while a stage plays and rebuilds each account at the close, whatever order they came in', async () => {
    const [a, b] = [`acc-a-${run}`, `acc-b-${run}`];
    for (const x of [a, b]) accountIds.add(x);
    const ha = history(a);
    // The same facts for b, in reverse order and one at a time: applied as they came, they would take
    // another path (out-of-order signals rebuild the account after each one).
    const hb = history(b).reverse();
    await send(ha);
    await send(hb);
    await applied(a, ha.length);
    await applied(b, hb.length);

    // Nothing applied yet: only logged, both accounts marked for the next close.
    expect(await transitions(a)).toEqual([]);
    expect([await pending(a), await pending(b)]).toEqual([0, 0]);
    expect([...(await own(a)), ...(await own(b))]).toEqual([]);

    clock.steps = 1;
    await waitFor('both rebuilt at the close', async () => (clockStepsPending() === 0 && (await pending(a)) === null && (await pending(b)) === null ? true : undefined));
    const ta = await transitions(a);
    expect(ta.length).toBeGreaterThan(0);
    expect(ta.some((t) => t.includes('phase') && t.includes('-> onboarding'))).toBe(true);
    expect(await transitions(b)).toEqual(ta);
    const emitted = async (acc: string) => (await own(acc)).map((m) => (JSON.parse(m.value ?? '{}') as { type: string }).type).sort();
    await waitFor('the changes emitted', async () => ((await emitted(a)).length === ta.length && (await emitted(b)).length === ta.length ? true : undefined));
    expect(await emitted(b)).toEqual(await emitted(a));
  });

  it('leaves the signals of a stage for the close after it', async () => {
    const c = `acc-c-${run}`;
    accountIds.add(c);
    const hc = history(c);
    await send(hc);
    await applied(c, hc.length);
    // Logged in stage 1 (one close so far): that close has passed, the next one applies them.
    expect(await pending(c)).toBe(1);
    expect(await transitions(c)).toEqual([]);
    clock.steps = 2;
    await waitFor('rebuilt at the next close', async () => (clockStepsPending() === 0 && (await pending(c)) === null ? true : undefined));
    expect((await transitions(c)).length).toBeGreaterThan(0);
  });
});
