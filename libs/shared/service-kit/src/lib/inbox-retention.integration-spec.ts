import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { ManualClock, createEvent } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { INBOX_OUTBOX_ENTITIES, InboxEntry, claimInbox } from '@kizuna/shared/persistence';
import { LOCAL_POSTGRES_URL, waitFor } from '@kizuna/shared/testing';
import { InboxRetention } from './inbox-retention.service';

const DAY_MS = 86_400_000;
const logger = pino({ level: 'silent' });

/** The inbox cleanup on real Postgres, its "now" from the injected clock. */
describe('inbox retention', () => {
  const schema = `it_inbox_retention_${randomUUID().slice(0, 8)}`;
  const clock = new ManualClock('2026-06-01T12:00:00.000Z');
  let ds: DataSource;
  let table: string;

  beforeAll(async () => {
    const url = process.env['DATABASE_URL'] ?? LOCAL_POSTGRES_URL;
    const admin = new DataSource({ type: 'postgres', url });
    await admin.initialize();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.destroy();
    ds = new DataSource({ type: 'postgres', url, schema, entities: INBOX_OUTBOX_ENTITIES, synchronize: true, logging: false });
    await ds.initialize();
    table = ds.getMetadata(InboxEntry).tablePath;
  });

  afterAll(async () => {
    await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds.destroy();
  });

  const config = (over: Record<string, string> = {}) => loadConfig(ServiceConfig, { ...process.env, INBOX_RETENTION_DAYS: '30', INBOX_CLEANUP_BATCH: '4', ...over });
  /** `n` inbox rows of `consumer` received `daysAgo` days before the clock's now. */
  const received = async (consumer: string, n: number, daysAgo: number): Promise<string[]> => {
    const ids = Array.from({ length: n }, () => randomUUID());
    await ds.query(
      `INSERT INTO ${table} (consumer, event_id, event_type, account_id, received_at) SELECT $1, id, 'cs.product.track.v1', 'acc-1', $3 FROM unnest($2::text[]) AS id`,
      [consumer, ids, new Date(clock.now().getTime() - daysAgo * DAY_MS)],
    );
    return ids;
  };
  const left = async (consumer: string) => (await ds.query<{ event_id: string }[]>(`SELECT event_id FROM ${table} WHERE consumer = $1`, [consumer])).map((r) => r.event_id).sort();

  it('deletes the rows older than INBOX_RETENTION_DAYS by the injected clock, in batches, and keeps the rest', async () => {
    const consumer = `c-${randomUUID()}`;
    await received(consumer, 7, 40);
    await received(consumer, 3, 30.01);
    const young = await received(consumer, 5, 29);
    const fresh = await received(consumer, 2, 0.5);
    const retention = new InboxRetention(ds, clock, config(), logger);

    // 10 rows past 30 days, 4 per statement: 4 + 4 + 2.
    expect(await retention.runOnce()).toEqual({ deleted: 10, batches: 3 });
    expect(await left(consumer)).toEqual([...young, ...fresh].sort());
    // A redelivered event still inside the retention is recognised by its row.
    const event = createEvent('test', { type: 'cs.product.track.v1', subject: 'acc-1', data: {} as never }, clock.now());
    const youngEvent = { ...event, id: young[0] as string };
    expect(await ds.transaction((m) => claimInbox(m, consumer, youngEvent))).toBe(false);

    // Two days later the 29-day-old rows are past the retention too.
    clock.advance(2 * DAY_MS);
    expect(await retention.runOnce()).toEqual({ deleted: 5, batches: 2 });
    expect(await left(consumer)).toEqual([...fresh].sort());
    expect(await retention.runOnce()).toEqual({ deleted: 0, batches: 1 });
  });

  it('runs by itself every INBOX_CLEANUP_INTERVAL_MS once the application has started', async () => {
    const consumer = `c-${randomUUID()}`;
    await received(consumer, 9, 45);
    const keep = await received(consumer, 3, 10);
    const retention = new InboxRetention(ds, clock, config({ INBOX_CLEANUP_INTERVAL_MS: '1000' }), logger);
    retention.onApplicationBootstrap();
    try {
      await waitFor('the periodic cleanup deleted the old rows', async () => (await left(consumer)).length === 3, { timeoutMs: 30_000 });
      expect(await left(consumer)).toEqual([...keep].sort());
    } finally {
      await retention.onModuleDestroy();
    }
  });
});
