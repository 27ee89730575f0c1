import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { EventHeader, eventHeaders } from '@kizuna/shared/contracts';
import { OUTBOX_EXPAND_TYPE, OutboxEntry } from '@kizuna/shared/persistence';
import type { EventPublisher } from './event-publisher';
import { extractTraceContext } from './trace-headers';
import { messagingMetrics } from './messaging-metrics';
import type { Context, ObservableResult } from '@opentelemetry/api';

export interface OutboxRelayOptions {
  batchSize?: number;
  /** Poll interval when idle; `kick()` wakes the relay at once after a commit. */
  idleMs?: number;
  /**
   * 0 (this class's default): a row is deleted as soon as it is published (Kafka holds the event).
   * More: it is marked published and kept this long (for inspection, or tools that read what a
   * service emitted), then deleted. Services pass OUTBOX_RETAIN_MS (0 unless set; lifecycle keeps a day).
   */
  retainMs?: number;
}

/** One event an expander read: sent as the outbox row of it would have been. */
export interface ExpandedEvent {
  /** Where the next page starts (the expander's keyset cursor). */
  cursor: string;
  event_id: string;
  topic: string;
  message_key: string;
  /** The envelope as JSON text. */
  value: string;
  type: string;
}

/**
 * Reads, a page at a time (after `cursor`, at most `limit`, in its cursor's order), the events an
 * expansion row stands for, inside the relay's transaction. `data` is the row's envelope data less
 * its `kind`. A set-based writer (a backfill range) inserts one expansion row instead of one outbox
 * row per event it emitted (the events themselves being rows it writes anyway), so the events keep
 * their place in the outbox's order without a copy of each in the outbox.
 */
export type OutboxExpander = (manager: EntityManager, data: Record<string, unknown>, page: { cursor: string | null; limit: number }) => Promise<ExpandedEvent[]>;

interface OutboxRow {
  seq: string;
  event_id: string;
  topic: string;
  message_key: string;
  /** The envelope as JSON text (sent as it is: no parse and re-serialisation in Node). */
  value: string;
  /** The stored headers, as JSON text: trace context and EventHeader (see OutboxEntry.headers). */
  headers: string;
  /** When the transaction that wrote the row began (epoch ms). */
  created_ms: number;
}

/** A row's message headers, its event type, and the trace it continues. */
interface RowHeaders {
  headers: Record<string, string>;
  type: string | undefined;
  /** traceparent and tracestate: rows written in one trace share it. */
  trace: string;
}

/**
 * The headers a row is sent with. EventHeader is stored with the trace context since 1797100000000;
 * for a row written before it (or by a writer that left them out), they are read from the envelope.
 */
function rowHeaders(row: OutboxRow): RowHeaders {
  const stored = (JSON.parse(row.headers) as Record<string, string> | null) ?? {};
  const headers = stored[EventHeader.type] === undefined ? { ...stored, ...eventHeaders(JSON.parse(row.value) as { type?: unknown; data?: unknown }) } : stored;
  return { headers, type: headers[EventHeader.type], trace: `${stored['traceparent'] ?? ''}\u0000${stored['tracestate'] ?? ''}` };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The advisory lock (text, hashed by hashtextextended) a relay holds while it publishes `table`. */
export const outboxRelayLockName = (table: string) => `kizuna-outbox-relay:${table}`;

/**
 * Publishes outbox rows in commit order and marks them sent, or with no retention deletes them. An
 * expansion row (OUTBOX_EXPAND_TYPE) is published as the events its registered expander reads.
 * One relay publishes an outbox at a time (an advisory lock per drain), so several instances can run;
 * a crash after the send and before the mark re-sends the same event ids, which consumers' inboxes
 * deduplicate.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** A kick while a drain ran: its rows may have committed after that drain's read, so drain again. */
  private kicked = false;
  /** The last drain may have left rows behind: drain again without waiting for a kick. */
  private more = false;
  private lastPurge = 0;
  private forward?: () => void;
  private readonly table: string;
  private readonly retainMs: number;
  private readonly observeBacklog = (result: ObservableResult) => this.reportBacklog(result);
  private readonly expanders = new Map<string, OutboxExpander>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
    private readonly options: OutboxRelayOptions = {},
  ) {
    this.table = dataSource.getMetadata(OutboxEntry).tablePath;
    this.retainMs = options.retainMs ?? 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    messagingMetrics().outboxBacklog.addCallback(this.observeBacklog);
    this.loop = this.run();
  }

  /**
   * In a process that does not publish its outbox itself (a service's lane process), kicks go to the
   * process that does, through `send`.
   */
  forwardKicks(send: () => void): void {
    this.forward = send;
  }

  /** Registers how expansion rows of `kind` are read (envelope `{ type: OUTBOX_EXPAND_TYPE, data: { kind, ... } }`). */
  expandWith(kind: string, expander: OutboxExpander): void {
    this.expanders.set(kind, expander);
  }

  /** Wakes the relay now (call after committing a transaction that wrote outbox rows). */
  kick(): void {
    if (this.forward && !this.running) this.forward();
    else if (this.wake) this.wake();
    else this.kicked = true;
  }

  private async reportBacklog(result: ObservableResult): Promise<void> {
    if (!this.running) return;
    try {
      result.observe(await this.backlog(), { table: this.table });
    } catch (e) {
      this.logger.warn({ err: { message: (e as Error).message } }, 'cannot count the outbox backlog');
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    messagingMetrics().outboxBacklog.removeCallback(this.observeBacklog);
    this.kick();
    await this.loop;
  }

  /** Publishes up to one batch (none while another relay publishes this outbox); returns how many rows were sent. */
  async drainOnce(): Promise<number> {
    const batchSize = this.options.batchSize ?? 500;
    return this.dataSource.transaction(async (manager) => {
      // One relay at a time per outbox: with several instances of a service, SKIP LOCKED alone let one
      // instance send a transaction's later row while another still held its earlier one (an account's
      // "assigned" before its "opened"). The instance holding the lock publishes in seq order; the others
      // find it taken and try again at their next round. No row locks (FOR UPDATE) either, then: only the
      // lock holder marks rows, and a row lock is a write per row (a backfill's outbox has a million).
      // The marks commit without waiting for the WAL flush (synchronous_commit off, this transaction
      // only): a mark lost in a server crash re-sends its rows, which is at-least-once as before, and the
      // next drain does not wait for a disk flush per batch.
      // The lock and the read in one statement (one round trip less per batch): the uncorrelated
      // subquery is an InitPlan, evaluated once, and a false result is a one-time filter: no rows.
      const rows: OutboxRow[] = await manager.query(
        `SELECT seq, event_id, topic, message_key, envelope::text AS value, headers::text AS headers,
                (extract(epoch FROM created_at) * 1000)::float8 AS created_ms
           FROM ${this.table}
          WHERE (SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AND set_config('synchronous_commit', 'off', true) IS NOT NULL)
            AND published_at IS NULL
          ORDER BY seq LIMIT $2`,
        [outboxRelayLockName(this.table), batchSize],
      );
      // Another drain right away only if this one may have left rows behind (a full batch, an expansion
      // row); rows committed meanwhile kick the relay themselves.
      this.more = rows.length === batchSize;
      if (rows.length === 0) return 0;
      const stored = rows.map(rowHeaders);
      // One context object per distinct trace: the publisher gives each its own producer span.
      const parents = new Map<string, Context>();
      const parentOf = (h: RowHeaders) => {
        let p = parents.get(h.trace);
        if (!p) parents.set(h.trace, (p = extractTraceContext(h.headers)));
        return p;
      };
      // An expansion row is sent alone, in its place: the rows before it first, then its events.
      const at = stored.findIndex((h) => h.type === OUTBOX_EXPAND_TYPE);
      if (at >= 0) this.more = true;
      const first = rows[0];
      const firstHeaders = stored[0];
      if (at === 0 && first && firstHeaders) {
        const sent = await this.expand(manager, first, parentOf(firstHeaders), batchSize);
        await this.done(manager, [first.seq]);
        this.recordDelay([first]);
        return sent;
      }
      const batch = at > 0 ? rows.slice(0, at) : rows;
      await this.publisher.send(
        batch.map((r, i) => {
          const h = stored[i] as RowHeaders;
          return { topic: r.topic, key: r.message_key, value: r.value, headers: h.headers, parent: parentOf(h), eventId: r.event_id, ...(h.type ? { eventType: h.type } : {}) };
        }),
      );
      await this.done(manager, batch.map((r) => r.seq));
      this.recordDelay(batch);
      return batch.length;
    });
  }

  /** Sends the events an expansion row stands for, in pages of four batches; returns how many. */
  private async expand(manager: EntityManager, row: OutboxRow, parent: Context, batchSize: number): Promise<number> {
    const { kind, ...data } = (JSON.parse(row.value) as { data?: { kind?: string } & Record<string, unknown> }).data ?? {};
    const expander = kind === undefined ? undefined : this.expanders.get(kind);
    // Not skipped: the row stays, and the relay retries (with its backoff) until a version that knows it runs.
    if (!expander) throw new Error(`outbox row ${row.seq} (${row.event_id}) stands for events of kind "${kind ?? ''}", which no expander in this process reads`);
    const limit = batchSize * 4;
    let cursor: string | null = null;
    let sent = 0;
    for (;;) {
      const page = await expander(manager, data, { cursor, limit });
      if (page.length > 0) {
        await this.publisher.send(
          page.map((e) => ({ topic: e.topic, key: e.message_key, value: e.value, headers: eventHeaders({ type: e.type }), parent, eventId: e.event_id, eventType: e.type })),
        );
      }
      sent += page.length;
      const last = page[page.length - 1];
      if (!last || page.length < limit) return sent;
      cursor = last.cursor;
    }
  }

  /** How long the rows waited, from their transaction to Kafka's acknowledgement (kizuna.outbox.publish.delay). */
  private recordDelay(rows: OutboxRow[]): void {
    const now = Date.now();
    const attributes = { table: this.table };
    const histogram = messagingMetrics().outboxDelay;
    for (const r of rows) histogram.record(Math.max(0, now - r.created_ms) / 1000, attributes);
  }

  /** Published rows: deleted, or with a retention marked. */
  private async done(manager: EntityManager, seqs: string[]): Promise<void> {
    // Deleting a published row writes a few bytes of WAL; marking it rewrote the whole row (about
    // 1 KB, non-HOT since published_at is in the unpublished index's predicate) and kept it.
    if (this.retainMs > 0) await manager.query(`UPDATE ${this.table} SET published_at = now() WHERE seq = ANY($1::bigint[])`, [seqs]);
    else await manager.query(`DELETE FROM ${this.table} WHERE seq = ANY($1::bigint[])`, [seqs]);
  }

  /**
   * Unpublished rows naming a topic outside `known` (the installation's topics), by topic. Rows name
   * the topic they go to, with KAFKA_TOPIC_PREFIX in it: after a change of prefix they would go to the
   * old namespace's topics, where nobody of this installation reads them.
   */
  async foreignTopics(known: readonly string[]): Promise<{ topic: string; rows: number }[]> {
    return this.dataSource.query(
      `SELECT topic, count(*)::int AS rows FROM ${this.table} WHERE published_at IS NULL AND NOT topic = ANY($1::text[]) GROUP BY topic ORDER BY topic`,
      [known],
    );
  }

  /** Rows not yet published (the outbox backlog; an expansion row counts as one). */
  async backlog(): Promise<number> {
    const [row] = await this.dataSource.query(`SELECT count(*)::int AS n FROM ${this.table} WHERE published_at IS NULL`);
    return (row as { n: number }).n;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        this.kicked = false;
        this.more = false;
        await this.drainOnce();
        failures = 0;
        await this.purge();
        if (this.more || this.kicked) continue;
      } catch (e) {
        failures++;
        this.logger.error({ err: { message: (e as Error).message } }, 'outbox relay failed; will retry');
        await delay(Math.min(10000, 200 * 2 ** Math.min(failures, 6)));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.idleMs ?? 250);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async purge(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurge < 60000) return;
    this.lastPurge = now;
    // Rows marked published (with a retention, or by an earlier version) once it is over.
    await this.dataSource.query(
      `DELETE FROM ${this.table} WHERE published_at IS NOT NULL AND published_at < now() - ($1::bigint * interval '1 millisecond')`,
      [this.retainMs],
    );
  }
}
