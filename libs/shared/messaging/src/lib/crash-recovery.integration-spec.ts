import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { ALL_TOPICS, ManualClock, Topics, createEvent, type CloudEvent } from '@kizuna/shared/contracts';
import { INBOX_OUTBOX_ENTITIES, createDataSource, enqueueOutbox, processOnce, runServiceMigrations } from '@kizuna/shared/persistence';
import { KafkaNetworkSwitch, TopicRecorder, startConsumerGroupAtEnd, testKafka, waitFor } from '@kizuna/shared/testing';
import { ConsumerRunner, DlqHeader, type EventHandler } from './consumer-runner';
import { EventPublisher, type OutgoingMessage } from './event-publisher';
import { createKafka } from './kafka-client';
import { OutboxRelay } from './outbox-relay';
import { ensureTopics } from './topics-admin';

const logger = pino({ level: 'silent' });
const clock = new ManualClock('2026-03-01T00:00:00Z');
const schema = `test_crash_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const brokers = () => (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** A gate a test opens: stands for a process that never gets further (killed) until the test cleans up. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/**
 * Crashes at the worst moments, against the real broker and Postgres: a consumer dying between its
 * effect and its offset commit, an outbox relay dying after the publish and before marking the row
 * sent (or before publishing), a poison message, Kafka going away under a running consumer, and a
 * rolling restart of one consumer group.
 */
describe('crash recovery: inbox, outbox and consumer groups under failures', () => {
  let ds: DataSource;
  let kafka: Kafka;
  let publisher: EventPublisher;
  const runners: ConsumerRunner[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    ds = createDataSource({ schema, entities: INBOX_OUTBOX_ENTITIES, migrations: [] }, { url: process.env['DATABASE_URL'] ?? '', poolSize: 6 });
    await ds.initialize();
    await runServiceMigrations(ds, schema);
    await ds.synchronize(); // a throw-away schema for this suite only
    await ds.query(`CREATE TABLE "${schema}".effect (event_id text NOT NULL, applied_by text NOT NULL)`);
    kafka = testKafka();
    await ensureTopics(kafka, ALL_TOPICS, { partitions: 3, replication: 1 });
    publisher = new EventPublisher(kafka, 'kizuna/test', clock);
    await publisher.connect();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await publisher.disconnect();
    await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds.destroy();
  });

  function runner(group: string, k: Kafka = kafka, extra: Partial<ConstructorParameters<typeof ConsumerRunner>[2]> = {}): ConsumerRunner {
    const r = new ConsumerRunner(k, publisher, { groupId: group, maxAttempts: 5, retryBackoffMs: 200, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10000, logger, clock, ...extra });
    runners.push(r);
    return r;
  }

  const track = (accountId: string, n: number, event = `E${n}`) => ({
    type: 'cs.product.track.v1' as const,
    subject: accountId,
    data: {
      kind: 'track' as const, sourceId: 'test', messageId: `m-${n}`, accountId, userId: 'u1', event,
      properties: {}, timestamp: '2026-03-01T00:00:00.000Z', receivedAt: '2026-03-01T00:00:00.000Z',
    },
  });

  /** The effect of an event: one row per application (so applying it twice shows). */
  const applyOnce = (group: string, e: CloudEvent, by: string) =>
    processOnce(ds, group, e, (m) => m.query(`INSERT INTO "${schema}".effect (event_id, applied_by) VALUES ($1, $2)`, [e.id, by]));
  const effects = async (id: string) => (await ds.query(`SELECT applied_by FROM "${schema}".effect WHERE event_id = $1`, [id])).map((r: { applied_by: string }) => r.applied_by);

  async function committed(group: string, topic: string): Promise<Map<number, number>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  it('a consumer killed after its effect and before its offset commit: the redelivery hits the inbox, the effect stays single, the offset advances', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-crash-commit-${randomUUID()}`;
    await startConsumerGroupAtEnd(kafka, group, [Topics.product], 3);
    const network = new KafkaNetworkSwitch();
    const victimKafka = createKafka({ clientId: `victim-${randomUUID().slice(0, 8)}`, brokers: brokers(), logger, socketFactory: network.socketFactory });
    const dead = gate();
    const effectCommitted = gate();
    const seen: { by: string; id: string; applied: boolean; partition: number; offset: string }[] = [];
    const handler = (by: string): EventHandler<'cs.product.track.v1'> => async (e, ctx) => {
      if (e.subject !== account) return;
      const applied = await applyOnce(ctx.group, e, by);
      seen.push({ by, id: e.id, applied, partition: ctx.partition, offset: ctx.offset });
      if (by === 'victim') {
        effectCommitted.open();
        await dead.wait; // the process dies here: effect committed, offset not
      }
    };
    const victim = runner(group, victimKafka).on('cs.product.track.v1', handler('victim'));
    cleanups.push(async () => {
      dead.open();
      network.restore();
    });
    await victim.start();
    const [first, second] = await publisher.publish([track(account, 1), track(account, 2)]);
    await effectCommitted.wait;
    // SIGKILL as the broker sees it: no offset commit, no heartbeat, no leave-group.
    network.cut();

    const successor = runner(group).on('cs.product.track.v1', handler('successor'));
    await successor.start();
    await waitFor('the successor took over the partition and handled both events', () => seen.filter((s) => s.by === 'successor').length === 2, { timeoutMs: 60_000 });
    expect(seen.map(({ by, id, applied }) => ({ by, id, applied }))).toEqual([
      { by: 'victim', id: first?.id, applied: true },
      { by: 'successor', id: first?.id, applied: false }, // redelivered: the inbox knew it
      { by: 'successor', id: second?.id, applied: true },
    ]);
    expect(await effects(first?.id ?? '')).toEqual(['victim']);
    expect(await effects(second?.id ?? '')).toEqual(['successor']);
    const last = seen[seen.length - 1];
    let seenOffsets = '';
    // At or past: other suites' events on the shared broker may follow ours on that partition.
    await waitFor(
      `the offset of partition ${last?.partition} committed past both events (>= ${Number(last?.offset) + 1})`,
      async () => {
        const offsets = await committed(group, Topics.product);
        seenOffsets = JSON.stringify([...offsets]);
        return (offsets.get(last?.partition ?? -1) ?? -1) >= Number(last?.offset) + 1;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; committed: ${seenOffsets}; handled: ${JSON.stringify(seen)}`);
    });
  });

  describe('outbox relay', () => {
    /** A publisher whose process "dies" at the chosen point: its Postgres session is terminated (the relay's transaction is rolled back by the server) and it never returns. */
    class DyingPublisher extends EventPublisher {
      readonly dead = gate();
      died = false;
      constructor(
        k: Kafka,
        private readonly when: 'before-publish' | 'after-publish',
        private readonly applicationName: string,
      ) {
        super(k, 'kizuna/test', clock);
      }

      override async send(messages: OutgoingMessage[]): Promise<void> {
        if (this.when === 'after-publish') await super.send(messages);
        this.died = true;
        await ds.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [this.applicationName]);
        await this.dead.wait;
        throw new Error('the relay process was killed');
      }
    }

    async function relayWith(publisherOf: (appName: string) => EventPublisher): Promise<{ relay: OutboxRelay; pub: EventPublisher }> {
      const appName = `kizuna-test-relay-${randomUUID().slice(0, 8)}`;
      const relayDs = createDataSource({ schema, entities: INBOX_OUTBOX_ENTITIES, migrations: [] }, { url: process.env['DATABASE_URL'] ?? '', poolSize: 1, applicationName: appName });
      await relayDs.initialize();
      const pub = publisherOf(appName);
      await pub.connect();
      const relay = new OutboxRelay(relayDs, pub, logger, { idleMs: 50 });
      cleanups.push(async () => {
        if (pub instanceof DyingPublisher) pub.dead.open();
        await relay.stop();
        await pub.disconnect();
        await relayDs.destroy().catch(() => undefined);
      });
      return { relay, pub };
    }

    function healthEvent(accountId: string): CloudEvent<'cs.health.score.changed.v1'> {
      return createEvent(
        'kizuna/test',
        {
          type: 'cs.health.score.changed.v1',
          subject: accountId,
          data: {
            score: 40, band: 'caution' as never, previousScore: null, previousBand: null, scorecardId: 'x', scorecardVersion: 1,
            topMovers: [], computedAt: clock.now().toISOString(),
          },
        },
        clock.now(),
      );
    }

    async function scenario(when: 'before-publish' | 'after-publish') {
      const account = `acc-${randomUUID()}`;
      const group = `test-outbox-${when}-${randomUUID()}`;
      const recorder = await new TopicRecorder(kafka, [Topics.health], (m) => m.key === account).start();
      cleanups.push(() => recorder.stop());
      await startConsumerGroupAtEnd(kafka, group, [Topics.health], 3);
      await runner(group)
        .on('cs.health.score.changed.v1', async (e, ctx) => {
          if (e.subject === account) await applyOnce(ctx.group, e, 'downstream');
        })
        .start();
      const event = healthEvent(account);
      await ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event }]));

      const first = await relayWith((app) => new DyingPublisher(kafka, when, app));
      first.relay.start();
      await waitFor('the relay killed', () => (first.pub as DyingPublisher).died);
      // The restarted relay (a new process: its own pool and producer).
      const second = await relayWith(() => new EventPublisher(kafka, 'kizuna/test', clock));
      second.relay.start();
      await waitFor('the event applied downstream', async () => (await effects(event.id)).length === 1);
      await waitFor('the outbox row published and deleted', async () => (await second.relay.backlog()) === 0);
      return { event, recorder };
    }

    it('killed after publishing and before deleting (or marking) the row: the restarted relay publishes again, downstream applies it once', async () => {
      const { event, recorder } = await scenario('after-publish');
      await waitFor('both publications on Kafka', () => recorder.messages.length === 2);
      expect(recorder.messages.map((m) => (JSON.parse(m.value ?? '{}') as { id: string }).id)).toEqual([event.id, event.id]);
      expect(await effects(event.id)).toEqual(['downstream']);
    });

    it('killed before publishing: the restarted relay publishes the row, once', async () => {
      const { event, recorder } = await scenario('before-publish');
      await waitFor('the publication on Kafka', () => recorder.messages.length === 1);
      expect((JSON.parse(recorder.messages[0]?.value ?? '{}') as { id: string }).id).toBe(event.id);
      expect(await effects(event.id)).toEqual(['downstream']);
    });
  });

  it('a poison message reaches <topic>.dlq after 5 attempts with the original payload, the error and the attempts; the partition lag is back to 0 within 60 s', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-poison-${randomUUID()}`;
    await startConsumerGroupAtEnd(kafka, group, [Topics.product], 3);
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    cleanups.push(() => dlq.stop());
    const original = await new TopicRecorder(kafka, [Topics.product], (m) => m.key === account).start();
    cleanups.push(() => original.stop());
    const attempts: number[] = [];
    const handled: string[] = [];
    // The service defaults: KAFKA_MAX_ATTEMPTS 5, KAFKA_RETRY_BACKOFF_MS 200.
    const r = runner(group).on('cs.product.track.v1', async (e, ctx) => {
      if (e.subject !== account) return;
      if (e.data.event === 'Poison') {
        attempts.push(ctx.attempt);
        throw new Error('cannot apply this event');
      }
      handled.push(e.data.event ?? '');
    });
    await r.start();
    const started = Date.now();
    const [poison] = await publisher.publish([track(account, 1, 'Poison'), ...[2, 3, 4, 5].map((n) => track(account, n))]);
    const dead = await waitFor('the dead letter', () => dlq.messages.find((m) => m.headers[DlqHeader.group] === group), { timeoutMs: 60_000 });
    const sent = await waitFor('the original message', () => original.messages.find((m) => m.value?.includes(poison?.id ?? '?')));
    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(dead.value).toBe(sent.value);
    expect(dead.headers).toMatchObject({
      [DlqHeader.reason]: 'handler-failed',
      [DlqHeader.error]: 'Error: cannot apply this event',
      [DlqHeader.attempts]: '5',
      [DlqHeader.topic]: Topics.product,
      [DlqHeader.partition]: String(sent.partition),
      [DlqHeader.offset]: sent.offset,
    });
    await waitFor('the events after the poison one handled', () => handled.length === 4, { timeoutMs: 60_000 });
    await waitFor(
      "the poison partition's lag back to 0",
      async () => (await r.lag()).find((l) => l.topic === Topics.product && l.partition === sent.partition)?.lag === 0,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('Kafka gone under a running consumer: it reconnects by itself and handles what was published meanwhile', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-reconnect-${randomUUID()}`;
    await startConsumerGroupAtEnd(kafka, group, [Topics.product], 3);
    const network = new KafkaNetworkSwitch();
    cleanups.push(async () => network.restore());
    const consumerKafka = createKafka({ clientId: `reconnect-${randomUUID().slice(0, 8)}`, brokers: brokers(), logger, socketFactory: network.socketFactory });
    const handled: string[] = [];
    const r = runner(group, consumerKafka).on('cs.product.track.v1', async (e) => {
      if (e.subject === account) handled.push(e.data.event ?? '');
    });
    await r.start();
    await publisher.publish([track(account, 1)]);
    await waitFor('the first event handled', () => handled.length === 1);

    network.cut();
    await publisher.publish([track(account, 2)]); // the broker is up for everyone else
    await waitFor('the consumer noticed and tried to reconnect', () => network.refusedConnections >= 2, { timeoutMs: 30_000 });
    expect(handled).toEqual(['E1']);
    network.restore();
    await waitFor('the event published during the outage handled, by the same consumer', () => handled.length === 2, { timeoutMs: 60_000 });
    expect(handled).toEqual(['E1', 'E2']);
    expect(r.isRunning()).toBe(true);
  });

  it('a rolling restart of 3 instances of one consumer group settles: every event handled, no rebalance loop afterwards', async () => {
    const group = `test-rolling-${randomUUID()}`;
    const accounts = Array.from({ length: 9 }, () => `acc-${randomUUID()}`);
    const mine = new Set(accounts);
    await startConsumerGroupAtEnd(kafka, group, [Topics.product], 3);
    const handled = new Map<string, number>();
    const instance = () =>
      runner(group).on('cs.product.track.v1', async (e) => {
        if (mine.has(e.subject)) handled.set(e.id, (handled.get(e.id) ?? 0) + 1);
      });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const stable = (members: number) =>
      waitFor(`the group stable with ${members} members`, async () => {
        const [g] = (await admin.describeGroups([group])).groups;
        return g?.state === 'Stable' && g.members.length === members;
      }, { timeoutMs: 60_000, intervalMs: 250 });
    let n = 0;
    const burst = async () => {
      const events = accounts.map((a) => track(a, ++n));
      const sent = await publisher.publish(events);
      return sent.map((e) => e.id);
    };
    const allHandled = (ids: string[]) => waitFor(`${ids.length} events handled`, () => ids.every((id) => handled.has(id)), { timeoutMs: 60_000 });

    let live = [instance(), instance(), instance()];
    for (const r of live) await r.start();
    await stable(3);
    await allHandled(await burst());
    for (let i = 0; i < 3; i++) {
      // Replace one instance at a time (graceful stop: it leaves the group), as a deployment does.
      const old = live[i] as ConsumerRunner;
      await old.stop();
      const next = instance();
      await next.start();
      live = live.map((r) => (r === old ? next : r));
      await stable(3);
      await allHandled(await burst());
    }
    const joinsAfterRestart = live.map((r) => r.groupJoins);
    // Steady work after the restart: nobody joins again.
    for (let k = 0; k < 3; k++) await allHandled(await burst());
    await stable(3);
    expect(live.map((r) => r.groupJoins)).toEqual(joinsAfterRestart);
    // Each instance joined once per membership change it lived through (at most 1 + 2 per later replacement).
    expect(joinsAfterRestart.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(9 + 3);
    expect([...handled.values()].every((c) => c >= 1)).toBe(true);
    expect(handled.size).toBe(n);
  });
});
