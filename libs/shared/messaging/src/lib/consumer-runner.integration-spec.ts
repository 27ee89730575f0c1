import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Kafka, Producer } from 'kafkajs';
import { ALL_TOPICS, EventHeader, ManualClock, Topics, createEvent, type CloudEvent } from '@kizuna/shared/contracts';
import { TopicRecorder, startConsumerGroupAtEnd, testKafka, waitFor } from '@kizuna/shared/testing';
import { renderPrometheusMetrics } from '@kizuna/shared/telemetry';
import { ConsumerRunner, DlqHeader, PermanentError } from './consumer-runner';
import { replayDeadLetters } from './dead-letter-replay';
import { EventPublisher } from './event-publisher';
import { ensureTopics } from './topics-admin';

const logger = pino({ level: 'silent' });
const clock = new ManualClock('2026-02-01T00:00:00Z');

function trackEvent(accountId: string, n: number): CloudEvent<'cs.product.track.v1'> {
  return createEvent(
    'test',
    {
      type: 'cs.product.track.v1',
      subject: accountId,
      data: {
        kind: 'track', sourceId: 'test', messageId: `m-${n}`, accountId, userId: 'u1', event: `E${n}`,
        properties: {}, timestamp: '2026-02-01T00:00:00.000Z', receivedAt: '2026-02-01T00:00:00.000Z',
      },
    },
    clock.now(),
  );
}

describe('ConsumerRunner against a real broker', () => {
  let kafka: Kafka;
  let publisher: EventPublisher;
  let rawProducer: Producer;
  const runners: ConsumerRunner[] = [];
  const recorders: TopicRecorder[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    await ensureTopics(kafka, ALL_TOPICS, { partitions: 3, replication: 1 });
    publisher = new EventPublisher(kafka, 'kizuna/test', clock);
    await publisher.connect();
    rawProducer = kafka.producer();
    await rawProducer.connect();
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await Promise.all(recorders.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await publisher.disconnect();
    await rawProducer.disconnect();
  });

  function runner(groupId: string, maxAttempts = 3, extra: Partial<ConstructorParameters<typeof ConsumerRunner>[2]> = {}): ConsumerRunner {
    const r = new ConsumerRunner(kafka, publisher, { groupId, maxAttempts, retryBackoffMs: 10, logger, clock, ...extra });
    runners.push(r);
    return r;
  }

  async function committedOffsets(groupId: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId, topics: [Topics.product] });
      return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  it('hands each event to its handler, in order per account, and commits after the effect', async () => {
    const account = `acc-${randomUUID()}`;
    const seen: string[] = [];
    const group = `test-ok-${randomUUID()}`;
    await runner(group)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject === account) seen.push(e.data.event ?? '');
      })
      .start();
    await publisher.publish([1, 2, 3].map((n) => ({ type: 'cs.product.track.v1' as const, subject: account, data: trackEvent(account, n).data })));
    await waitFor('three events handled', () => seen.length === 3);
    expect(seen).toEqual(['E1', 'E2', 'E3']);
    await waitFor('offsets committed', async () => (await committedOffsets(group)) >= 3);
  });

  it('with keyConcurrency, handles the accounts of a partition side by side, each in its order, and commits when all are done', async () => {
    const [a, b] = [`acc-a-${randomUUID()}`, `acc-b-${randomUUID()}`];
    const seen: string[] = [];
    let bHandled!: () => void;
    const bDone = new Promise<void>((resolve) => (bHandled = resolve));
    const group = `test-keys-${randomUUID()}`;
    await runner(group, 3, { keyConcurrency: 2 })
      .on('cs.product.track.v1', async (e) => {
        if (e.subject === a && e.data.event === 'E1') await bDone; // one at a time, this never ends: b comes after a's events
        if (e.subject === a || e.subject === b) seen.push(`${e.subject === a ? 'a' : 'b'}:${e.data.event}`);
        if (e.subject === b) bHandled();
      })
      .start();
    const record = (e: CloudEvent) => ({ key: e.subject, value: JSON.stringify(e), partition: 0, headers: { [EventHeader.type]: e.type } });
    const [sent] = await rawProducer.send({ topic: Topics.product, messages: [record(trackEvent(a, 1)), record(trackEvent(a, 2)), record(trackEvent(b, 1))] });
    await waitFor('both accounts handled', () => seen.length === 3);
    expect(seen).toEqual(['b:E1', 'a:E1', 'a:E2']);
    const last = Number(sent?.baseOffset ?? 0) + 2;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor('the three committed', async () => {
        const [t] = await admin.fetchOffsets({ groupId: group, topics: [Topics.product] });
        return Number(t?.partitions.find((p) => p.partition === 0)?.offset ?? -1) > last;
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('with groupMembers, fetches for one member\'s partitions while a batch of another member\'s is in progress', async () => {
    const account = (p: number) => `acc-p${p}-${randomUUID()}`;
    const [a0, a1, a2] = [account(0), account(1), account(2)];
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let blocked = false;
    const group = `test-members-${randomUUID()}`;
    await startConsumerGroupAtEnd(kafka, group, [Topics.product]);
    await runner(group, 3, { groupMembers: 2, partitionsConsumedConcurrently: 3 })
      .on('cs.product.track.v1', async (e) => {
        if (![a0, a1, a2].includes(e.subject)) return;
        if (e.subject === a0) {
          blocked = true;
          await gate;
        }
        seen.push(e.subject);
      })
      .start();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor('two members sharing the partitions', async () => {
        const { groups: [g] } = await admin.describeGroups([group]);
        return g?.state === 'Stable' && g.members.length === 2;
      });
    } finally {
      await admin.disconnect();
    }
    const record = (e: CloudEvent, partition: number) => ({ key: e.subject, value: JSON.stringify(e), partition, headers: { [EventHeader.type]: e.type } });
    await rawProducer.send({ topic: Topics.product, messages: [record(trackEvent(a0, 1), 0)] });
    await waitFor('partition 0\'s event in progress', () => blocked);
    await rawProducer.send({ topic: Topics.product, messages: [record(trackEvent(a1, 1), 1), record(trackEvent(a2, 1), 2)] });
    // One member holds partition 0 and its fetches wait for that batch; the other member's partition goes on.
    // With one member (or none of its partitions fetched again), nothing would be handled before the release.
    await waitFor('an event of the other member\'s partition handled while partition 0 is held', () => seen.length >= 1);
    expect(seen).not.toContain(a0);
    release();
    await waitFor('all three handled', () => seen.length === 3);
  });

  it('retries a failing handler with backoff until it succeeds', async () => {
    const account = `acc-${randomUUID()}`;
    let calls = 0;
    const attempts: number[] = [];
    await runner(`test-retry-${randomUUID()}`, 5)
      .on('cs.product.track.v1', async (e, ctx) => {
        if (e.subject !== account) return;
        calls++;
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error('transient');
      })
      .start();
    await publisher.publish([{ type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 1).data }]);
    await waitFor('the third attempt', () => calls === 3);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('dead-letters a message that keeps failing, with the original payload and the reason, and keeps the partition flowing', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-dlq-${randomUUID()}`;
    const handled: string[] = [];
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    recorders.push(dlq);
    await runner(group, 3)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject !== account) return;
        if (e.data.event === 'E1') throw new Error('boom');
        handled.push(e.data.event ?? '');
      })
      .start();
    const [first] = await publisher.publish([
      { type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 1).data },
      { type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 2).data },
    ]);
    await waitFor('the next message handled after the poison one', () => handled.includes('E2'));
    const dead = await waitFor('the dead letter', () => dlq.messages.find((m) => m.headers[DlqHeader.group] === group));
    expect(JSON.parse(dead.value ?? '{}')).toMatchObject({ id: first?.id, type: 'cs.product.track.v1' });
    expect(dead.headers).toMatchObject({
      [DlqHeader.reason]: 'handler-failed',
      [DlqHeader.error]: 'Error: boom',
      [DlqHeader.attempts]: '3',
      [DlqHeader.topic]: Topics.product,
    });
    expect(dead.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('dead-letters a PermanentError at once', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-perm-${randomUUID()}`;
    let calls = 0;
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    recorders.push(dlq);
    await runner(group, 5)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject !== account) return;
        calls++;
        throw new PermanentError('cannot ever work');
      })
      .start();
    await publisher.publish([{ type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 1).data }]);
    const dead = await waitFor('the dead letter', () => dlq.messages.find((m) => m.headers[DlqHeader.group] === group));
    expect(dead.headers[DlqHeader.reason]).toBe('permanent-error');
    expect(dead.headers[DlqHeader.attempts]).toBe('1');
    expect(calls).toBe(1);
  });

  it('dead-letters a malformed message with the validation reason and handles the next one', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-malformed-${randomUUID()}`;
    const handled: string[] = [];
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    recorders.push(dlq);
    await runner(group)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject === account) handled.push(e.data.event ?? '');
      })
      .start();
    await rawProducer.send({ topic: Topics.product, messages: [{ key: account, value: '{"not":"an envelope"}' }] });
    await publisher.publish([{ type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 7).data }]);
    await waitFor('the valid message after the malformed one', () => handled.includes('E7'));
    const dead = await waitFor('the dead letter', () => dlq.messages.find((m) => m.headers[DlqHeader.group] === group));
    expect(dead.value).toBe('{"not":"an envelope"}');
    expect(dead.headers[DlqHeader.reason]).toBe('invalid-message');
    expect(dead.headers[DlqHeader.error]).toMatch(/specversion: must be "1.0"/);
  });
  it('hands runs of events to a batch handler, and after a failed run retries its events one by one so only the poison one is dead-lettered', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-batch-${randomUUID()}`;
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    recorders.push(dlq);
    // Published before the consumer starts: the 20 events arrive in one fetch.
    await publisher.publish(
      Array.from({ length: 20 }, (_, i) => ({ type: 'cs.product.track.v1' as const, subject: account, data: trackEvent(account, i + 1).data })),
    );
    const handled: string[] = [];
    const runSizes: number[] = [];
    await runner(group, 2)
      .onBatch(['cs.product.track.v1'], async (items) => {
        const mine = items.filter((i) => i.event.subject === account);
        if (mine.length === 0) return;
        runSizes.push(mine.length);
        // Like a transaction: all or nothing.
        if (mine.some((i) => i.event.data.event === 'E7')) throw new Error('poison');
        handled.push(...mine.map((i) => i.event.data.event ?? ''));
      })
      .start();
    await waitFor('the 19 good events handled', () => handled.length >= 19);
    await waitFor('the poison event dead-lettered', () => dlq.messages.length === 1);
    expect([...handled].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `E${i + 1}`).filter((e) => e !== 'E7').sort());
    expect(handled).toHaveLength(19);
    expect(Math.max(...runSizes)).toBeGreaterThan(1);
    expect(dlq.messages[0]?.headers[DlqHeader.attempts]).toBe('2');
    await waitFor('offsets committed past all 20', async () => (await committedOffsets(group)) >= 20);
  });
  it('passes over, unparsed, what a prefilter does not want and types it has no handler for, and commits past them', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-prefilter-${randomUUID()}`;
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    recorders.push(dlq);
    // Published before the consumer starts (one fetch): 20 events with their headers; then a value that is
    // not JSON under the header of a type this runner does not handle (passed over, never parsed, so not
    // dead-lettered), and the same value without headers (parsed, so dead-lettered as always).
    await publisher.publish(
      Array.from({ length: 20 }, (_, i) => ({ type: 'cs.product.track.v1' as const, subject: account, data: trackEvent(account, i + 1).data })),
    );
    await rawProducer.send({
      topic: Topics.product,
      messages: [
        { key: account, value: 'not json: page', headers: { [EventHeader.type]: 'cs.product.page.v1' } },
        { key: account, value: 'not json: bare' },
      ],
    });
    const asked: string[] = [];
    const handled: string[] = [];
    await runner(group)
      .onBatch(
        ['cs.product.track.v1'],
        async (items) => {
          handled.push(...items.filter((i) => i.event.subject === account).map((i) => i.event.data.event ?? ''));
        },
        {
          prefilter: (header) => {
            const name = header(EventHeader.productEvent);
            if (name !== undefined) asked.push(name);
            return name === undefined || ['E3', 'E10', 'E17'].includes(name);
          },
        },
      )
      .start();
    await waitFor('the wanted events handled', () => handled.length >= 3);
    expect(handled).toEqual(['E3', 'E10', 'E17']);
    expect(asked.filter((n) => /^E\d+$/.test(n))).toEqual(expect.arrayContaining(['E1', 'E20']));
    // This runner's dead letters: other suites' services (same broker, reading from the beginning) parse
    // these two messages as well and dead-letter them under their own groups.
    const mine = () => dlq.messages.filter((m) => m.headers[DlqHeader.group] === group);
    await waitFor('this runner\'s dead letter', () => mine().length >= 1);
    expect(mine().map((m) => m.value)).toEqual(['not json: bare']);
  });

  it('shows its lag on the metrics endpoint while a handler is slow, and none once it has caught up', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-lag-${randomUUID()}`;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    await runner(group)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject !== account) return;
        started++;
        await gate;
      })
      .start();
    await publisher.publish(
      Array.from({ length: 10 }, (_, i) => ({ type: 'cs.product.track.v1' as const, subject: account, data: trackEvent(account, i + 1).data })),
    );
    const lagOf = async () =>
      (await renderPrometheusMetrics())
        .split('\n')
        .filter((l) => l.startsWith('kizuna_consumer_lag{') && l.includes(`group="${group}"`))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    await waitFor('the slow handler holding the first event', () => started === 1);
    await waitFor('a lag of at least the 10 waiting events', async () => (await lagOf()) >= 10);
    release();
    await waitFor('the lag back to zero', async () => (await lagOf()) === 0);
    expect(started).toBe(10);
  });
  it('reports how old each message was when it arrived, from its record timestamp', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-age-${randomUUID()}`;
    const seen: string[] = [];
    await startConsumerGroupAtEnd(kafka, group, [Topics.product]);
    await runner(group)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject === account) seen.push(e.data.event ?? '');
      })
      .start();
    // One written two minutes ago (by its producer's clock), one now.
    await rawProducer.send({
      topic: Topics.product,
      messages: [
        { key: account, value: JSON.stringify(trackEvent(account, 1)), timestamp: String(Date.now() - 120_000) },
        { key: account, value: JSON.stringify(trackEvent(account, 2)) },
      ],
    });
    await waitFor('both handled', () => seen.length === 2);
    const bucket = (le: string) =>
      renderPrometheusMetrics().then((text) => {
        const line = text.split('\n').find((l) => l.startsWith('kizuna_consumer_record_age_bucket{') && l.includes(`group="${group}"`) && l.includes(`le="${le}"`));
        return Number(line?.slice(line.lastIndexOf(' ') + 1) ?? NaN);
      });
    // The fresh one within a minute, the old one between one and five minutes.
    expect(await bucket('60')).toBe(1);
    expect(await bucket('300')).toBe(2);
  });

  it('replays dead letters to their topic once the cause is fixed, and never twice', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-replay-${randomUUID()}`;
    let fixed = false;
    const handled: string[] = [];
    const dlq = await new TopicRecorder(kafka, [`${Topics.product}.dlq`], (m) => m.key === account).start();
    recorders.push(dlq);
    await runner(group, 2)
      .on('cs.product.track.v1', async (e) => {
        if (e.subject !== account) return;
        if (!fixed) throw new PermanentError('not yet');
        handled.push(e.data.event ?? '');
      })
      .start();
    await publisher.publish([{ type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 1).data }]);
    await waitFor('dead-lettered', () => dlq.messages.length === 1);

    // This group also dead-lettered the malformed message of an earlier test (it reads the topic from
    // the start): the filters pick ours.
    const filters = { group, reason: 'permanent-error' };
    const listed: (string | null)[] = [];
    const dry = await replayDeadLetters(kafka, `${Topics.product}.dlq`, { ...filters, dryRun: true, onMessage: (d) => listed.push(d.key) });
    expect(listed).toEqual([account]);
    expect(dry.replayed).toBe(1);
    expect(handled).toEqual([]);

    fixed = true;
    expect((await replayDeadLetters(kafka, `${Topics.product}.dlq`, filters)).replayed).toBe(1);
    await waitFor('the replayed event handled', () => handled.length === 1);
    expect(handled).toEqual(['E1']);
    expect((await replayDeadLetters(kafka, `${Topics.product}.dlq`, filters)).replayed).toBe(0);
  });
  it('consumes a lane in a group of its own: a stuck product stream does not hold back tickets', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-lane-${randomUUID()}`;
    // An event before the service's group was moved to the end of both topics: only a lane started from
    // the beginning (not where the service's group is) would see it. The lane's group has never committed.
    await publisher.publish([{ type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 0).data }]);
    await startConsumerGroupAtEnd(kafka, group, [Topics.product, Topics.support], 3);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const products: string[] = [];
    const tickets: string[] = [];
    const r = runner(group)
      .onBatch(['cs.product.track.v1'], async (items) => {
        for (const { event } of items) {
          if (event.subject !== account) continue;
          products.push(event.data.event ?? '');
          await gate;
        }
      })
      .on('cs.support.ticket.updated.v1', async (e) => {
        if (e.subject === account) tickets.push(e.data.ticketId);
      })
      .inLane(['cs.product.track.v1'], 'product');
    expect(r.groups()).toEqual([
      { groupId: group, topics: [Topics.support] },
      { groupId: `${group}.product`, topics: [Topics.product], lane: 'product' },
    ]);
    expect(() => runner(`${group}-x`).inLane(['cs.product.track.v1'], 'a').inLane(['cs.product.page.v1'], 'b')).toThrow(`topic ${Topics.product} is in lane a already, not b`);
    await r.start();

    await publisher.publish([1, 2].map((n) => ({ type: 'cs.product.track.v1' as const, subject: account, data: trackEvent(account, n).data })));
    await waitFor('the product handler stuck on the first event', () => products.length === 1);
    const at = '2026-02-01T00:00:00.000Z';
    await publisher.publish([{
      type: 'cs.support.ticket.updated.v1', subject: account,
      data: { sourceId: 'test', ticketId: 't-1', accountId: account, channel: 'email' as never, tags: [], priority: 'normal', status: 'open', reopenedCount: 0, needsCs: false, createdAt: at, updatedAt: at },
    }]);
    await waitFor('the ticket handled while the product lane is stuck', () => tickets.length === 1);
    expect(products).toEqual(['E1']);
    const lag = await r.lag();
    expect(lag.filter((l) => l.topic === Topics.product).every((l) => l.group === `${group}.product`)).toBe(true);
    expect(lag.filter((l) => l.topic === Topics.support).every((l) => l.group === group)).toBe(true);
    expect(lag.filter((l) => l.topic === Topics.product).reduce((sum, l) => sum + l.lag, 0)).toBeGreaterThan(0);

    release();
    await waitFor('both product events handled', () => products.length === 2);
    // The lane started where the service's group was: the event published before the start was never read.
    expect(products).toEqual(['E1', 'E2']);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor('the lane committed', async () => {
        const [t] = await admin.fetchOffsets({ groupId: `${group}.product`, topics: [Topics.product] });
        return (t?.partitions ?? []).some((p) => Number(p.offset) >= 0);
      });
      // The service's group no longer moves on the lane's topic.
      const [main] = await admin.fetchOffsets({ groupId: group, topics: [Topics.product] });
      const [lane] = await admin.fetchOffsets({ groupId: `${group}.product`, topics: [Topics.product] });
      const sum = (t: typeof main) => (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      expect(sum(lane)).toBeGreaterThanOrEqual(sum(main) + 2);
    } finally {
      await admin.disconnect();
    }
  });
  it('a lane yields to the service group: its events wait while a ticket is in progress, then go on', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-yield-${randomUUID()}`;
    await startConsumerGroupAtEnd(kafka, group, [Topics.product, Topics.support], 3);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const order: string[] = [];
    // laneYieldMs far beyond the test: the lane goes on only because the ticket finished.
    const r = runner(group, 3, { laneYieldMs: 600_000 })
      .onBatch(['cs.product.track.v1'], async (items) => {
        for (const { event } of items) if (event.subject === account) order.push(`product ${event.data.event}`);
      })
      .on('cs.support.ticket.updated.v1', async (e) => {
        if (e.subject !== account) return;
        order.push('ticket started');
        await gate;
        order.push('ticket done');
      })
      .inLane(['cs.product.track.v1'], 'product');
    await r.start();
    const at = '2026-02-01T00:00:00.000Z';
    await publisher.publish([{
      type: 'cs.support.ticket.updated.v1', subject: account,
      data: { sourceId: 'test', ticketId: 't-1', accountId: account, channel: 'email' as never, tags: [], priority: 'normal', status: 'open', reopenedCount: 0, needsCs: false, createdAt: at, updatedAt: at },
    }]);
    await waitFor('the ticket in progress', () => order.includes('ticket started'));
    await publisher.publish([{ type: 'cs.product.track.v1', subject: account, data: trackEvent(account, 1).data }]);
    await waitFor('the lane waiting for the ticket', () => r.lanesYielding > 0);
    expect(order).toEqual(['ticket started']);
    release();
    await waitFor('the product event handled', () => order.includes('product E1'));
    expect(order).toEqual(['ticket started', 'ticket done', 'product E1']);
    expect(r.lanesYielding).toBe(0);
  });
  it('keeps its group membership through a handler slower than the session timeout (no rebalance)', async () => {
    const account = `acc-${randomUUID()}`;
    const group = `test-slow-${randomUUID()}`;
    const done: string[] = [];
    // Joins counted from the first slow event on: a group on topics just created may rejoin a few
    // times at its start while their metadata settles (kafkajs's stale-metadata recovery).
    let joinsAtWork: number | undefined;
    const r = runner(group, 1, { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 });
    await r
      .on('cs.product.track.v1', async (e) => {
        if (e.subject !== account) return;
        joinsAtWork ??= r.groupJoins;
        // The simulated slow work itself (twice the session timeout), not a synchronisation.
        await new Promise((resolve) => setTimeout(resolve, 12_000));
        done.push(e.data.event ?? '');
      })
      .start();
    await publisher.publish([1, 2].map((n) => ({ type: 'cs.product.track.v1' as const, subject: account, data: trackEvent(account, n).data })));
    await waitFor('both slow events handled', () => done.length === 2, { timeoutMs: 60_000 });
    expect(done).toEqual(['E1', 'E2']);
    expect(r.groupJoins).toBe(joinsAtWork);
  });
});
