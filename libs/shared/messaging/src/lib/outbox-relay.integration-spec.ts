import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { ALL_TOPICS, EventHeader, ManualClock, Topics } from '@kizuna/shared/contracts';
import {
  INBOX_OUTBOX_ENTITIES, InboxEntry, OUTBOX_EXPAND_TYPE, OutboxEntry, createDataSource, enqueueOutbox, processOnce, runServiceMigrations,
} from '@kizuna/shared/persistence';
import { TopicRecorder, testKafka, waitFor } from '@kizuna/shared/testing';
import { renderPrometheusMetrics } from '@kizuna/shared/telemetry';
import { EventPublisher, MAX_REQUEST_BYTES } from './event-publisher';
import { OutboxRelay, outboxRelayLockName } from './outbox-relay';
import { ensureTopics } from './topics-admin';

const clock = new ManualClock('2026-02-01T00:00:00Z');
const schema = `test_outbox_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

describe('inbox, outbox and relay against real Postgres and Kafka', () => {
  let ds: DataSource;
  let kafka: Kafka;
  let publisher: EventPublisher;
  let relay: OutboxRelay;

  beforeAll(async () => {
    ds = createDataSource({ schema, entities: INBOX_OUTBOX_ENTITIES, migrations: [] }, { url: process.env['DATABASE_URL'] ?? '', poolSize: 4 });
    await ds.initialize();
    await runServiceMigrations(ds, schema);
    await ds.synchronize(); // a throw-away schema for this test only; services use migrations
    kafka = testKafka();
    await ensureTopics(kafka, ALL_TOPICS, { partitions: 3, replication: 1 });
    // zstd batches (KAFKA_COMPRESSION=zstd), read back by the recorder's consumer through the same codec.
    publisher = new EventPublisher(kafka, 'kizuna/test', clock, { compression: 'zstd' });
    relay = new OutboxRelay(ds, publisher, pino({ level: 'silent' }), { idleMs: 50 });
  });

  afterAll(async () => {
    await relay.stop();
    await publisher.disconnect();
    await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds.destroy();
  });

  function healthEvent(accountId: string) {
    return publisher.envelope({
      type: 'cs.health.score.changed.v1',
      subject: accountId,
      data: {
        score: 50, band: 'caution' as never, previousScore: null, previousBand: null, scorecardId: 'x', scorecardVersion: 1,
        topMovers: [], computedAt: clock.now().toISOString(),
      },
    });
  }

  it('applies an event once per consumer, however often it is delivered', async () => {
    const e = healthEvent(`acc-${randomUUID()}`);
    let effects = 0;
    const first = await processOnce(ds, 'group-a', e, async () => void effects++);
    const again = await processOnce(ds, 'group-a', e, async () => void effects++);
    const otherGroup = await processOnce(ds, 'group-b', e, async () => void effects++);
    expect([first, again, otherGroup]).toEqual([true, false, true]);
    expect(effects).toBe(2);
    expect(await ds.getRepository(InboxEntry).countBy({ eventId: e.id })).toBe(2);
  });

  it('rolls the inbox claim back with a failed effect, so the retry applies it', async () => {
    const e = healthEvent(`acc-${randomUUID()}`);
    await expect(processOnce(ds, 'group-a', e, async () => Promise.reject(new Error('db hiccup')))).rejects.toThrow('db hiccup');
    expect(await processOnce(ds, 'group-a', e, async () => undefined)).toBe(true);
  });

  it('writes outbox rows in the order given, each with its own trace context, and leaves out an existing id only when asked', async () => {
    const account = `acc-${randomUUID()}`;
    const events = Array.from({ length: 300 }, () => healthEvent(account));
    const traceId = randomUUID().replace(/-/g, '');
    const own = trace.setSpanContext(context.active(), { traceId, spanId: 'fedcba0987654321', traceFlags: TraceFlags.SAMPLED });
    await ds.transaction((m) => enqueueOutbox(m, events.map((event, i) => ({ topic: Topics.health, event, ...(i === 7 ? { traceContext: own } : {}) }))));
    const rows: { event_id: string; envelope: unknown; headers: Record<string, string> }[] = await ds.query(
      `SELECT event_id, envelope, headers FROM "${schema}".outbox WHERE message_key = $1 ORDER BY seq`,
      [account],
    );
    expect(rows.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
    expect(rows[0]?.envelope).toEqual(JSON.parse(JSON.stringify(events[0])));
    expect(rows[7]?.headers['traceparent']).toBe(`00-${traceId}-fedcba0987654321-01`);
    expect(rows[8]?.headers).toEqual({ [EventHeader.type]: 'cs.health.score.changed.v1' }); // no active trace here: nothing to continue
    expect(rows[7]?.headers[EventHeader.type]).toBe('cs.health.score.changed.v1'); // the relay reads no field of the envelope

    const again = [events[0], healthEvent(account)].map((event) => ({ topic: Topics.health, event: event as (typeof events)[number] }));
    await expect(ds.transaction((m) => enqueueOutbox(m, again))).rejects.toThrow(/duplicate key/);
    await ds.transaction((m) => enqueueOutbox(m, again, { skipDuplicates: true }));
    const count: { n: string }[] = await ds.query(`SELECT count(*) AS n FROM "${schema}".outbox WHERE message_key = $1`, [account]);
    expect(Number(count[0]?.n)).toBe(301);
  });

  it('publishes nothing while another relay holds this outbox, so rows go out in seq order whatever the number of instances', async () => {
    const account = `acc-${randomUUID()}`;
    await ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: healthEvent(account) }]));
    const other = new OutboxRelay(ds, publisher, pino({ level: 'silent' }));
    const qr = ds.createQueryRunner();
    await qr.startTransaction();
    try {
      await qr.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [outboxRelayLockName(ds.getMetadata(OutboxEntry).tablePath)]);
      expect(await other.drainOnce()).toBe(0);
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
    expect(await other.drainOnce()).toBeGreaterThan(0);
  });

  it('deletes rows as it publishes them, or with a retention marks them published and keeps them', async () => {
    const account = `acc-${randomUUID()}`;
    const rowsOf = async (): Promise<{ published_at: Date | null }[]> =>
      ds.query(`SELECT published_at FROM "${schema}".outbox WHERE message_key = $1`, [account]);
    const drain = async (r: OutboxRelay) => {
      while ((await r.drainOnce()) > 0);
    };
    await ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: healthEvent(account) }]));
    await drain(new OutboxRelay(ds, publisher, pino({ level: 'silent' }), { retainMs: 3_600_000 }));
    const marked = await rowsOf();
    expect(marked).toHaveLength(1);
    expect(marked[0]?.published_at).toBeInstanceOf(Date);

    await ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: healthEvent(account) }]));
    await drain(new OutboxRelay(ds, publisher, pino({ level: 'silent' })));
    expect(await rowsOf()).toEqual(marked); // the new row is gone; the marked one waits for its retention
  });

  it('sends a call larger than MAX_REQUEST_BYTES as several produce requests, none of them a broker-side humongous buffer, in order', async () => {
    const account = `acc-${randomUUID()}`;
    const recorder = await new TopicRecorder(kafka, [Topics.health], (m) => m.key === account).start();
    const own = new EventPublisher(kafka, 'kizuna/test', clock);
    const sizes: number[] = [];
    // kafkajs reports every request it writes, with its size in bytes.
    (own as unknown as { producer: Producer }).producer.on('producer.network.request', (e) => {
      if (e.payload.apiName === 'Produce') sizes.push(e.payload.size);
    });
    try {
      const pad = 'x'.repeat(2000);
      const values = Array.from({ length: 600 }, (_, i) => JSON.stringify({ i, pad })); // about 1.2 MB in one call
      await own.send(values.map((value) => ({ topic: Topics.health, key: account, value })));
      expect(sizes.length).toBeGreaterThanOrEqual(4);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_REQUEST_BYTES * 1.05);
      expect(Math.max(...sizes)).toBeLessThan(512 * 1024); // humongous for G1 with 1 MB regions (Kafka's default 1 GB heap)
      await waitFor('all 600 on Kafka', () => recorder.messages.length >= 600);
      expect(recorder.messages.map((m) => (JSON.parse(m.value ?? '{}') as { i: number }).i)).toEqual(values.map((_, i) => i));
    } finally {
      await own.disconnect();
      await recorder.stop();
    }
  });

  it('publishes an expansion row as the events its expander reads, page by page, in the row\'s place and trace; a row of a kind nobody reads stays', async () => {
    const account = `acc-${randomUUID()}`;
    const recorder = await new TopicRecorder(kafka, [Topics.health], (m) => m.key === account).start();
    const expanded = Array.from({ length: 30 }, () => healthEvent(account));
    const pages: { cursor: string | null; limit: number; data: Record<string, unknown> }[] = [];
    const own = new OutboxRelay(ds, publisher, pino({ level: 'silent' }), { batchSize: 3 });
    own.expandWith('test-events', async (_m, data, page) => {
      pages.push({ ...page, data });
      const from = page.cursor === null ? 0 : Number(page.cursor) + 1;
      return expanded.slice(from, from + page.limit).map((e, i) => ({
        cursor: String(from + i), event_id: e.id, topic: Topics.health, message_key: account, value: JSON.stringify(e), type: e.type,
      }));
    });
    const marker = (kind: string) => ({ specversion: '1.0', id: randomUUID(), source: 'kizuna/test', type: OUTBOX_EXPAND_TYPE, subject: account, data: { kind, range: 'r1' } });
    const drain = async () => {
      while ((await own.drainOnce()) > 0);
    };
    try {
      const [before, after] = [healthEvent(account), healthEvent(account)];
      const traceId = randomUUID().replace(/-/g, '');
      const within = trace.setSpanContext(context.active(), { traceId, spanId: '1234567890abcdef', traceFlags: TraceFlags.SAMPLED });
      await context.with(within, () =>
        ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: before }, { topic: Topics.health, event: marker('test-events') as never }, { topic: Topics.health, event: after }])),
      );
      await drain();
      await waitFor('32 events on Kafka', () => recorder.messages.length >= 32);
      // In the row's place (one key: one partition, in order), each once, pages of four batches.
      expect(recorder.messages.map((m) => (JSON.parse(m.value ?? '{}') as { id: string }).id)).toEqual([before.id, ...expanded.map((e) => e.id), after.id]);
      expect(pages.map((p) => [p.cursor, p.limit])).toEqual([[null, 12], ['11', 12], ['23', 12]]);
      expect(pages[0]?.data).toEqual({ range: 'r1' });
      const inner = recorder.messages[5]?.headers ?? {};
      expect(inner[EventHeader.type]).toBe('cs.health.score.changed.v1');
      expect(inner['traceparent']?.split('-')[1]).toBe(traceId);
      const left: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM "${schema}".outbox WHERE message_key = $1`, [account]);
      expect(left[0]?.n).toBe(0);

      const unknown = marker('nobody-reads-this');
      await ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: unknown as never }, { topic: Topics.health, event: healthEvent(account) }]));
      await expect(own.drainOnce()).rejects.toThrow(/kind "nobody-reads-this", which no expander in this process reads/);
      const stuck: { event_id: string }[] = await ds.query(`SELECT event_id FROM "${schema}".outbox WHERE message_key = $1 ORDER BY seq`, [account]);
      expect(stuck).toHaveLength(2); // neither skipped nor the row after it sent ahead of it
      expect(stuck[0]?.event_id).toBe(unknown.id);
    } finally {
      await ds.query(`DELETE FROM "${schema}".outbox WHERE message_key = $1`, [account]);
      await recorder.stop();
    }
  });

  it('sends a row stored with its trace context only (written before the headers held the event type) with the headers its envelope gives', async () => {
    const account = `acc-${randomUUID()}`;
    const recorder = await new TopicRecorder(kafka, [Topics.product], (m) => m.key === account).start();
    const own = new OutboxRelay(ds, publisher, pino({ level: 'silent' }));
    try {
      const envelope = {
        specversion: '1.0', id: randomUUID(), source: 'kizuna/test', type: 'cs.product.track.v1', subject: account, time: '2026-02-01T00:00:00.000Z',
        data: { kind: 'track', event: 'Report Exported', timestamp: '2026-01-31T23:59:00.000Z', userId: 'u1' },
      };
      const traceId = randomUUID().replace(/-/g, '');
      await ds.query(`INSERT INTO "${schema}".outbox (event_id, topic, message_key, envelope, headers) VALUES ($1, $2, $3, $4, $5)`, [
        envelope.id, Topics.product, account, JSON.stringify(envelope), JSON.stringify({ traceparent: `00-${traceId}-1234567890abcdef-01` }),
      ]);
      while ((await own.drainOnce()) > 0);
      await waitFor('the row on Kafka', () => recorder.messages.length >= 1);
      const h = recorder.messages[0]?.headers ?? {};
      expect(h[EventHeader.type]).toBe('cs.product.track.v1');
      expect(h[EventHeader.productEvent]).toBe('Report Exported');
      expect(h[EventHeader.productTime]).toBe('2026-01-31T23:59:00.000Z');
      expect(h['traceparent']?.split('-')[1]).toBe(traceId);
      expect(JSON.parse(recorder.messages[0]?.value ?? 'null')).toEqual(envelope);
    } finally {
      await recorder.stop();
    }
  });

  it('reports how long each row waited, from the transaction that wrote it to Kafka\'s acknowledgement', async () => {
    const own = new OutboxRelay(ds, publisher, pino({ level: 'silent' }));
    const table = ds.getMetadata(OutboxEntry).tablePath;
    const bucket = (le: string) =>
      renderPrometheusMetrics().then((text) => {
        const line = text.split('\n').find((l) => l.startsWith('kizuna_outbox_publish_delay_bucket{') && l.includes(`table="${table}"`) && l.includes(`le="${le}"`));
        return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
      });
    while ((await own.drainOnce()) > 0);
    const [fresh, old] = [await bucket('60'), await bucket('300')];
    const account = `acc-${randomUUID()}`;
    await ds.transaction((m) => enqueueOutbox(m, [healthEvent(account), healthEvent(account)].map((event) => ({ topic: Topics.health, event }))));
    // One of them written two minutes ago.
    await ds.query(`UPDATE ${table} SET created_at = now() - interval '2 minutes' WHERE seq = (SELECT min(seq) FROM ${table} WHERE message_key = $1)`, [account]);
    while ((await own.drainOnce()) > 0);
    expect(await bucket('60')).toBe(fresh + 1);
    expect(await bucket('300')).toBe(old + 2);
  });

  // After a full batch the relay drains again at once; after a partial one it waits for a kick. With
  // the idle poll at a minute, one kick has to carry five rows through batches of two.
  it('drains again without a kick after a full batch, until a batch comes back short', async () => {
    const own = new OutboxRelay(ds, publisher, pino({ level: 'silent' }), { batchSize: 2, idleMs: 60_000 });
    const account = `acc-${randomUUID()}`;
    const recorder = await new TopicRecorder(kafka, [Topics.health], (m) => m.key === account).start();
    try {
      await relay.stop(); // the shared relay (started by a later case) must not publish these rows
      const events = Array.from({ length: 5 }, () => healthEvent(account));
      await ds.transaction((m) => enqueueOutbox(m, events.map((event) => ({ topic: Topics.health, event }))));
      own.start();
      own.kick();
      await waitFor('five rows on Kafka', () => recorder.messages.length >= 5);
      expect(recorder.messages.map((m) => (JSON.parse(m.value ?? 'null') as { id: string }).id)).toEqual(events.map((e) => e.id));
      expect(await own.backlog()).toBe(0);
    } finally {
      await own.stop();
      await recorder.stop();
    }
  });

  it('publishes committed outbox rows with their trace context and type header, one producer span per trace, and nothing from a rolled-back transaction', async () => {
    const account = `acc-${randomUUID()}`;
    const recorder = await new TopicRecorder(kafka, [Topics.health], (m) => m.key === account).start();
    try {
      const [kept, keptToo, other, dropped] = [healthEvent(account), healthEvent(account), healthEvent(account), healthEvent(account)];
      const traceIds = [randomUUID().replace(/-/g, ''), randomUUID().replace(/-/g, '')] as const;
      const within = (traceId: string) => trace.setSpanContext(context.active(), { traceId, spanId: '1234567890abcdef', traceFlags: TraceFlags.SAMPLED });
      await context.with(within(traceIds[0]), () => ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: kept }, { topic: Topics.health, event: keptToo }])));
      await context.with(within(traceIds[1]), () => ds.transaction((m) => enqueueOutbox(m, [{ topic: Topics.health, event: other }])));
      await expect(
        ds.transaction(async (m) => {
          await enqueueOutbox(m, [{ topic: Topics.health, event: dropped }]);
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      relay.start();
      relay.kick();
      const of = (e: { id: string }) => recorder.messages.find((m) => m.value?.includes(e.id));
      await waitFor('the outbox events on Kafka', () => of(kept) && of(keptToo) && of(other));
      const [a, b, c] = [of(kept), of(keptToo), of(other)].map((m) => m?.headers ?? {});
      expect(JSON.parse(of(kept)?.value ?? 'null')).toEqual(kept);
      expect(a[EventHeader.type]).toBe('cs.health.score.changed.v1');
      // traceparent: version-traceId-spanId-flags; the span is the relay's producer span.
      const [traceOf, spanOf] = [(h: Record<string, string>) => h['traceparent']?.split('-')[1], (h: Record<string, string>) => h['traceparent']?.split('-')[2]];
      expect([traceOf(a), traceOf(b), traceOf(c)]).toEqual([traceIds[0], traceIds[0], traceIds[1]]);
      expect(spanOf(a)).toBe(spanOf(b));
      expect(spanOf(a)).not.toBe(spanOf(c));
      await waitFor('the backlog drained', async () => (await relay.backlog()) === 0);
      expect(recorder.messages.some((m) => m.value?.includes(dropped.id))).toBe(false);
    } finally {
      await recorder.stop();
    }
  });
});
