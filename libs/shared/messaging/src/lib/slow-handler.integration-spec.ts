import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Admin, Kafka } from 'kafkajs';
import { ALL_TOPICS, ManualClock, Topics } from '@kizuna/shared/contracts';
import { testKafka, waitFor } from '@kizuna/shared/testing';
import { ConsumerRunner, type MessageContext } from './consumer-runner';
import { EventPublisher } from './event-publisher';
import { ensureTopics } from './topics-admin';

const logger = pino({ level: 'silent' });
const clock = new ManualClock('2026-02-01T00:00:00Z');
const HANDLER_MS = 90_000;
const SESSION_TIMEOUT_MS = 30_000;

/**
 * The issue's slow-handler case at full scale, in a file of its own so that the integration project
 * (two workers) runs it beside the other suites: a 90 s handler on the real broker with the
 * services' default session timeout (30 s) and heartbeats every 3 s sent while it works.
 */
describe('ConsumerRunner: a 90 s handler on the real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  let publisher: EventPublisher;
  let runner: ConsumerRunner | undefined;

  beforeAll(async () => {
    kafka = testKafka();
    await ensureTopics(kafka, ALL_TOPICS, { partitions: 3, replication: 1 });
    publisher = new EventPublisher(kafka, 'kizuna/test', clock);
    await publisher.connect();
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await runner?.stop();
    await publisher.disconnect();
    await admin.disconnect();
  });

  const committed = async (group: string, partition: number): Promise<number> => {
    const [topic] = await admin.fetchOffsets({ groupId: group, topics: [Topics.product] });
    return Number(topic?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
  };
  const members = async (group: string) => {
    const [g] = (await admin.describeGroups([group])).groups;
    return { state: g?.state, ids: (g?.members ?? []).map((m) => m.memberId) };
  };

  it('keeps its membership through a 90 s handler (session timeout 30 s, heartbeats every 3 s): no rejoin, the event handled once, its offset committed only afterwards', async () => {
    const account = `acc-slow90-${randomUUID()}`;
    const group = `test-slow90-${randomUUID()}`;
    const calls: MessageContext[] = [];
    const seenDuringWork: { committed: number; members: { state?: string; ids: string[] } }[] = [];
    // Joins counted from the handler's start: a group on topics just created (this file's own) may
    // rejoin a few times before that, while their metadata settles (kafkajs's stale-metadata recovery).
    let joinsAtWork = 0;
    let finishedAt = 0;
    runner = new ConsumerRunner(kafka, publisher, {
      groupId: group, maxAttempts: 3, retryBackoffMs: 10, logger, clock, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 3000,
    });
    await runner
      .on('cs.product.track.v1', async (e, ctx) => {
        if (e.subject !== account) return;
        calls.push(ctx);
        joinsAtWork = runner?.groupJoins ?? 0;
        const started = Date.now();
        // The slow work itself: 90 s, three times the session timeout. What the group looks like
        // is read at its start and again once more than a session timeout has passed in it.
        seenDuringWork.push({ committed: await committed(group, ctx.partition), members: await members(group) });
        await new Promise((resolve) => setTimeout(resolve, HANDLER_MS / 2));
        seenDuringWork.push({ committed: await committed(group, ctx.partition), members: await members(group) });
        await new Promise((resolve) => setTimeout(resolve, HANDLER_MS - (Date.now() - started)));
        finishedAt = Date.now();
      })
      .start();
    await publisher.publish([{ type: 'cs.product.track.v1' as const, subject: account, data: {
      kind: 'track', sourceId: 'test', messageId: `m-${account}`, accountId: account, userId: 'u1', event: 'Slow', properties: {},
      timestamp: '2026-02-01T00:00:00.000Z', receivedAt: '2026-02-01T00:00:00.000Z',
    } }]);
    await waitFor('the 90 s handler finished', () => finishedAt > 0, { timeoutMs: HANDLER_MS + 90_000, intervalMs: 500 });
    const call = calls[0] as MessageContext;
    const offset = Number(call.offset);
    // At least past it: on a shared broker other suites' product events may follow it in the partition.
    await waitFor('the offset committed past the event', async () => (await committed(group, call.partition)) >= offset + 1, { timeoutMs: 30_000 });

    expect(calls).toHaveLength(1);
    expect(joinsAtWork).toBeGreaterThan(0);
    expect(runner.groupJoins).toBe(joinsAtWork);
    // While it worked (at its start and 45 s in, past the session timeout): one stable member, the
    // same one, and nothing committed past the event in hand.
    expect(seenDuringWork).toHaveLength(2);
    const [atStart, midway] = seenDuringWork;
    expect(atStart?.members.ids).toHaveLength(1);
    expect(midway?.members).toEqual({ state: 'Stable', ids: atStart?.members.ids });
    for (const s of seenDuringWork) expect(s.committed).toBeLessThanOrEqual(offset);
    // And afterwards the same member still holds the group.
    expect(await members(group)).toEqual({ state: 'Stable', ids: atStart?.members.ids });
  }, HANDLER_MS + 150_000);
});
