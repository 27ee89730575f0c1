import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { Producer } from 'kafkajs';
import { ALL_TOPICS, Topics, createEvent, topicOf, type CloudEvent, type EventType, type PayloadOf, type SteppedClock } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { clockStepsPending, createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { LOCAL_POSTGRES_URL, startConsumerGroupAtEnd, testKafka, testToken, TopicRecorder, waitFor } from '@kizuna/shared/testing';
import { ensureDatabase } from '@kizuna/shared/persistence';
import { escalationRoutingData } from '@kizuna/escalation-routing/data-access';
import { EscalationRoutingModule } from './escalation-routing.module';
import { ROUTING_DEFERRED } from './escalation-engine.service';

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
 * ESCALATION_ROUTE_ON_CLOCK_STEPS: while a simulation steps the clock, escalations open unassigned
 * and are routed when the stage closes, in one order (opened, account, reason), whichever partition's
 * consumer opened them first.
 */
describe('escalation-routing on a stepped clock', () => {
  // A Tuesday, 10:00 UTC (19:00 in Tokyo, after the team's business hours)
  const clock = new TestSteppedClock(new Date('2026-05-19T10:00:00Z'));
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  const accountIds = new Set<string>();
  let app: NestFastifyApplication;
  let producer: Producer;
  let recorder: TopicRecorder;
  const saved = process.env['ESCALATION_ROUTE_ON_CLOCK_STEPS'];

  beforeAll(async () => {
    process.env['ESCALATION_ROUTE_ON_CLOCK_STEPS'] = 'true';
    // A database of its own: the routing at step close routes every waiting escalation it holds.
    const db = new URL(process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL);
    db.pathname = `${db.pathname}_escalation_steps`;
    await ensureDatabase(db.toString());
    const config = loadConfig(ServiceConfig, { ...process.env, DATABASE_URL: db.toString(), KAFKA_GROUP_PREFIX: `it-steps-${run}`, KAFKA_RETRY_BACKOFF_MS: '10', OUTBOX_RETAIN_MS: '3600000' });
    await startConsumerGroupAtEnd(kafka, `it-steps-${run}.escalation-routing`, ALL_TOPICS, config.KAFKA_TOPIC_PARTITIONS);
    const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
    const root = serviceRootModule({ name: 'escalation-routing', defaultPort: 0, data: escalationRoutingData, feature: EscalationRoutingModule }, config, logger, clock);
    app = await createServiceApp({ name: 'escalation-routing', module: root, config, logger, defaultPort: 0 });
    await app.init();
    producer = kafka.producer();
    await producer.connect();
    recorder = await new TopicRecorder(kafka, [Topics.escalation], (m) => m.key !== null && accountIds.has(m.key)).start();
  });

  afterAll(async () => {
    await recorder?.stop();
    await producer?.disconnect();
    await app?.close();
    if (saved === undefined) delete process.env['ESCALATION_ROUTE_ON_CLOCK_STEPS'];
    else process.env['ESCALATION_ROUTE_ON_CLOCK_STEPS'] = saved;
  });

  const api = async (method: 'PUT' | 'GET', url: string, body?: unknown) => {
    const r = await app.inject({
      method, url,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), authorization: `Bearer ${await testToken({ sub: 'test-admin', roles: ['admin'] })}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : undefined };
  };
  function event<T extends EventType>(type: T, accountId: string, data: PayloadOf<T>): CloudEvent<T> {
    return createEvent('kizuna/test', { type, subject: accountId, data }, clock.now());
  }
  const at = (ms: number) => new Date(clock.now().getTime() - ms).toISOString();
  const flaggedTicket = (acc: string, ref: string) =>
    event('cs.support.ticket.updated.v1', acc, {
      sourceId: 'src', ticketId: ref, accountId: acc, channel: 'email' as never, category: 'integration', tags: ['integration'], priority: 'normal',
      subject: `Our integration stopped ${ref}`, status: 'open', reopenedCount: 0, needsCs: true, createdAt: at(3_600_000), updatedAt: at(3_600_000),
    });
  const rows = (accs: string[]) =>
    app.get(DataSource).query(
      `SELECT e.account_id, e.state, e.assignee_csm_id, e.opened_at, e.ack_due_at, e.routing_why FROM escalation_routing.escalation e WHERE e.account_id = ANY($1) ORDER BY e.account_id`,
      [accs],
    ) as Promise<{ account_id: string; state: string; assignee_csm_id: string | null; opened_at: Date; ack_due_at: Date; routing_why: string }[]>;

  /** This instance's events (other escalation-routing suites on the shared broker read the same tickets and emit their own). */
  const ownEvents = async () => {
    const ids = new Set(((await app.get(DataSource).query('SELECT event_id FROM escalation_routing.outbox WHERE message_key = ANY($1)', [[...accountIds]])) as { event_id: string }[]).map((r) => r.event_id));
    return recorder.messages.map((m) => JSON.parse(m.value ?? '{}') as { id: string; type: string; subject: string }).filter((e) => ids.has(e.id));
  };

  it('opens escalations unassigned while stepping and routes them at the step close, in (opened, account) order', async () => {
    const region = `steps-${run}`;
    const hours = { timeZone: 'Asia/Tokyo', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
    for (const name of ['ada', 'bo']) {
      expect((await api('PUT', `/v1/csms/${name}-${run}`, {
        name, email: `${name}-${run}@example.com`, capacity: 1000, active: true, region, teamId: `team-${run}`,
        notificationChannels: [{ type: 'email', target: `${name}-${run}@example.com` }],
      })).status).toBe(200);
    }
    expect((await api('PUT', `/v1/teams/team-${run}`, { name: `Steps ${run}`, region, businessHours: hours })).status).toBe(200);

    // Two accounts of the region, no owner: the region team's least loaded member takes each. The later
    // account (by id) is consumed first, on another partition.
    const [first, second] = [`acc-a-${run}`, `acc-b-${run}`];
    for (const a of [first, second]) accountIds.add(a);
    const traits = (acc: string) => ({ name: acc, region });
    for (const acc of [second, first]) {
      const e = event('cs.directory.account.updated.v1', acc, { sourceId: 'src', messageId: `g-${acc}`, accountId: acc, traits: traits(acc), rawTraits: traits(acc), timestamp: at(86_400_000) });
      await producer.send({ topic: topicOf(e.type), messages: [{ key: acc, value: JSON.stringify(e) }] });
    }
    for (const acc of [second, first]) {
      const e = flaggedTicket(acc, `t-${acc}`);
      await producer.send({ topic: topicOf(e.type), messages: [{ key: acc, value: JSON.stringify(e) }] });
      // One at a time: the second account's escalation opens before the first's.
      await waitFor(`the escalation of ${acc} opened`, async () => ((await rows([acc])).length === 1 ? true : undefined));
    }

    const waiting = await rows([first, second]);
    expect(waiting.map((r) => [r.state, r.assignee_csm_id, r.routing_why])).toEqual([['open', null, ROUTING_DEFERRED], ['open', null, ROUTING_DEFERRED]]);
    const opened = await waitFor('both opened events', async () => {
      const got = await ownEvents();
      return got.filter((e) => e.type === 'cs.escalation.opened.v1').length === 2 ? got : undefined;
    });
    expect(opened.some((e) => e.type === 'cs.escalation.assigned.v1')).toBe(false);

    // The player closes the stage: the routing task runs once, the step is no longer owed.
    const [{ seq: before }] = await app.get(DataSource).query(`SELECT coalesce(max(seq), 0)::text AS seq FROM escalation_routing.escalation_audit`);
    clock.steps = 1;
    const assigned = await waitFor('both routed at the step close', async () => {
      const r = await rows([first, second]);
      return r.every((x) => x.state === 'assigned') && clockStepsPending() === 0 ? r : undefined;
    });
    for (const r of assigned) {
      expect(r.routing_why).toContain('region-team');
      expect([`ada-${run}`, `bo-${run}`]).toContain(r.assignee_csm_id);
      // One business day (normal priority) from the opening in the team's hours, as if routed then:
      // Wednesday 09:00 to 17:00 in Tokyo (the service's default hours, UTC, would give 10:00 UTC).
      expect(r.ack_due_at.toISOString()).toBe('2026-05-20T08:00:00.000Z');
    }
    const audit: { account_id: string; action: string }[] = await app.get(DataSource).query(
      `SELECT e.account_id, a.action FROM escalation_routing.escalation_audit a JOIN escalation_routing.escalation e ON e.id = a.escalation_id
        WHERE e.account_id = ANY($1) ORDER BY a.seq`,
      [[first, second]],
    );
    expect(audit.map((a) => `${a.account_id} ${a.action}`)).toEqual([
      `${second} opened`, `${second} routing-deferred`, `${first} opened`, `${first} routing-deferred`, `${first} assigned`, `${second} assigned`,
    ]);
    // Every escalation routed at that close (other suites' tickets reach this instance too; all opened at
    // the same instant of the stepped clock) was routed in account order.
    const routed: { account_id: string; assignee: string }[] = await app.get(DataSource).query(
      `SELECT e.account_id, a.detail->>'csmId' AS assignee FROM escalation_routing.escalation_audit a JOIN escalation_routing.escalation e ON e.id = a.escalation_id
        WHERE a.action = 'assigned' AND a.seq > $1 ORDER BY a.seq`,
      [before],
    );
    const inAccountOrder: { a: string }[] = await app.get(DataSource).query(`SELECT a FROM unnest($1::text[]) AS a ORDER BY a`, [routed.map((r) => r.account_id)]);
    expect(routed.map((r) => r.account_id)).toEqual(inAccountOrder.map((r) => r.a));
    // Alone at that close, ties (no load, never assigned) go by CSM id: ada takes the first, then bo
    // (now the less loaded) the second.
    if (routed.length === 2) expect(routed.map((r) => r.assignee)).toEqual([`ada-${run}`, `bo-${run}`]);
    await waitFor('the assigned events', async () => ((await ownEvents()).filter((e) => e.type === 'cs.escalation.assigned.v1').length === 2 ? true : undefined));
  });
});
