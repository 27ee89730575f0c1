import { randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { ManualClock, Topics, type CloudEvent } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { ConsumerRunner, EventPublisher, OnEvent, type MessageContext } from '@kizuna/shared/messaging';
import { INBOX_OUTBOX_ENTITIES, createDataSource, processOnce, runServiceMigrations, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { startConsumerGroupAtEnd, testKafka, waitFor } from '@kizuna/shared/testing';
import { serviceRootModule } from './bootstrap-service';
import { createServiceApp } from './run-service';

const clock = new ManualClock('2026-04-01T00:00:00Z');
const schema = `test_shutdown_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const spec: ServiceDataSpec = { schema, entities: INBOX_OUTBOX_ENTITIES, migrations: [] };
const account = `acc-${randomUUID()}`;
/** What the handler saw, in order (module-level: the Nest provider below records here). */
const trail: string[] = [];

@Injectable()
class SlowWork {
  constructor(private readonly ds: DataSource) {}

  @OnEvent('cs.product.track.v1')
  async onTrack(e: CloudEvent<'cs.product.track.v1'>, ctx: MessageContext): Promise<void> {
    if (e.subject !== account) return;
    trail.push(`started ${e.data.event}`);
    // The slow work itself (a simulated 3 s effect), not a synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await processOnce(this.ds, ctx.group, e, (m) => m.query(`INSERT INTO "${schema}".work (event_id, name) VALUES ($1, $2)`, [e.id, e.data.event]));
    trail.push(`finished ${e.data.event}`);
  }
}

@Module({ providers: [SlowWork] })
class SlowWorkModule {}

/**
 * Graceful shutdown (what SIGTERM runs: `app.close()`, see runService): the event in flight finishes
 * and is committed, the consumer stops before the database closes, nothing after the unfinished
 * work is committed, and a restarted instance carries on from there.
 */
describe('graceful shutdown of a service', () => {
  const prefix = `shutdown-${randomUUID().slice(0, 8)}`;
  const group = `${prefix}.slow-work`;
  const kafka = testKafka();
  let setup: DataSource;
  let publisher: EventPublisher;

  beforeAll(async () => {
    setup = createDataSource(spec, { url: process.env['DATABASE_URL'] ?? '', poolSize: 2 });
    await setup.initialize();
    await runServiceMigrations(setup, schema);
    await setup.synchronize(); // a throw-away schema for this test only
    await setup.query(`CREATE TABLE "${schema}".work (event_id text PRIMARY KEY, name text NOT NULL)`);
    await startConsumerGroupAtEnd(kafka, group, [Topics.product], 3);
    publisher = new EventPublisher(kafka, 'kizuna/test', clock);
    await publisher.connect();
  });

  afterAll(async () => {
    await publisher.disconnect();
    await setup.query(`DROP SCHEMA "${schema}" CASCADE`);
    await setup.destroy();
  });

  async function createApp(): Promise<NestFastifyApplication> {
    const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_GROUP_PREFIX: prefix, KAFKA_TOPIC_PARTITIONS: '3', DATABASE_POOL_SIZE: '4' });
    const logger = pino({ level: 'silent' });
    return createServiceApp({
      name: 'slow-work', config, logger, defaultPort: 0,
      module: serviceRootModule({ name: 'slow-work', defaultPort: 0, data: spec, feature: SlowWorkModule }, config, logger, clock),
    });
  }

  async function startApp(order: string[]): Promise<NestFastifyApplication> {
    const app = await createApp();
    await app.init();
    // Record the order in which the consumer and the database go away.
    const runner = app.get(ConsumerRunner);
    const stop = runner.stop.bind(runner);
    runner.stop = async () => {
      await stop();
      order.push('consumer stopped');
    };
    const ds = app.get(DataSource);
    const destroy = ds.destroy.bind(ds);
    ds.destroy = async () => {
      order.push('database closing');
      return destroy();
    };
    return app;
  }

  async function committed(): Promise<Map<number, number>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [Topics.product] });
      return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  const track = (n: number) => ({
    type: 'cs.product.track.v1' as const,
    subject: account,
    data: {
      kind: 'track' as const, sourceId: 'test', messageId: `m-${n}`, accountId: account, userId: 'u1', event: `E${n}`,
      properties: {}, timestamp: '2026-04-01T00:00:00.000Z', receivedAt: '2026-04-01T00:00:00.000Z',
    },
  });

  it('refuses to start while its outbox holds events for the topics of another KAFKA_TOPIC_PREFIX, and names them', async () => {
    const elsewhere = `elsewhere.${Topics.health}`;
    await setup.query(`INSERT INTO "${schema}".outbox (event_id, topic, message_key, envelope) VALUES ($1, $2, $3, '{}'), ($4, $2, $3, '{}')`, [
      randomUUID(), elsewhere, account, randomUUID(),
    ]);
    const app = await createApp();
    try {
      const failed = await app.init().then(() => undefined, (e: unknown) => e as Error);
      expect(failed?.message).toContain(`the outbox holds 2 unpublished event(s) for topics outside this installation's namespace`);
      expect(failed?.message).toContain(`${elsewhere} (2)`);
    } finally {
      await app.close();
      await setup.query(`DELETE FROM "${schema}".outbox WHERE topic = $1`, [elsewhere]);
    }
  });

  it('finishes the work in flight, stops consuming before the database closes, commits nothing past unfinished work; a restart carries on', async () => {
    const order: string[] = [];
    const app = await startApp(order);
    const before = await committed();
    const sent = await publisher.publish([track(1), track(2), track(3)]);
    await waitFor('the first event in flight', () => trail.includes('started E1'));
    await app.close(); // SIGTERM
    expect(trail).toEqual(['started E1', 'finished E1']);
    expect(order).toEqual(['consumer stopped', 'database closing']);
    const rows = await setup.query(`SELECT name FROM "${schema}".work ORDER BY name`);
    expect(rows).toEqual([{ name: 'E1' }]);
    // One partition moved by exactly one event: E1 is committed, E2 and E3 (never started) are not.
    const after = await committed();
    const moved = [...after].map(([p, o]) => o - Math.max(0, before.get(p) ?? 0)).filter((d) => d !== 0);
    expect(moved).toEqual([1]);

    const restarted = await startApp([]);
    try {
      await waitFor('the restarted instance handled the rest', () => trail.includes('finished E3'), { timeoutMs: 60_000 });
      expect(trail).toEqual(['started E1', 'finished E1', 'started E2', 'finished E2', 'started E3', 'finished E3']);
      expect(await setup.query(`SELECT count(*)::int AS n FROM "${schema}".inbox WHERE event_id = ANY($1)`, [sent.map((e) => e.id)])).toEqual([{ n: 3 }]);
    } finally {
      await restarted.close();
    }
  });
});
