import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Events a consumer group has already applied. The row is written in the same transaction
 * as the effect, so a redelivered event is recognised and skipped (effectively-once effects).
 * Lives in each service's own schema.
 */
@Entity({ name: 'inbox' })
// The retention cleanup finds expired rows through it (received_at only grows: inserts go to its right edge).
@Index('inbox_received_idx', ['receivedAt'])
export class InboxEntry {
  @PrimaryColumn({ type: 'text' })
  consumer!: string;

  @PrimaryColumn({ name: 'event_id', type: 'text' })
  eventId!: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  /** The trace the event arrived on: answers "why did/didn't this happen" in one lookup. */
  @Column({ name: 'trace_id', type: 'text', nullable: true })
  traceId!: string | null;

  @CreateDateColumn({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;
}

/**
 * Events waiting to be published. Written in the same transaction as the state change that
 * causes them; the relay publishes them and marks them sent, so a crash in between loses nothing.
 * With a retention (OUTBOX_RETAIN_MS) published rows are kept, marked, and purged by their
 * published_at: outbox_published_idx keeps that purge from reading the whole table every minute
 * (without a retention rows are deleted when published, and the index stays empty).
 */
@Entity({ name: 'outbox' })
@Index('outbox_unpublished_idx', ['seq'], { where: 'published_at IS NULL' })
@Index('outbox_published_idx', ['publishedAt'], { where: 'published_at IS NOT NULL' })
export class OutboxEntry {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'event_id', type: 'text', unique: true })
  eventId!: string;

  @Column({ type: 'text' })
  topic!: string;

  /** Kafka key: the accountId. */
  @Column({ name: 'message_key', type: 'text' })
  messageKey!: string;

  /** The whole CloudEvents envelope, as written (json, not jsonb: written once, read once as text). */
  @Column({ type: 'json' })
  envelope!: Record<string, unknown>;

  /**
   * The message's Kafka headers: the W3C trace context of the transaction that wrote the row (the
   * relay's producer span continues it) and EventHeader (`ce_type`, ...), so the relay reads no
   * field of the envelope. Rows written before 1797100000000 may hold the trace context only.
   */
  @Column({ type: 'json', default: () => "'{}'" })
  headers!: Record<string, string>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;
}

/**
 * The envelope type of an outbox row that stands for many events stored elsewhere:
 * `{ type: OUTBOX_EXPAND_TYPE, data: { kind, ...where they are } }`. The relay publishes the events
 * the expander registered for `kind` reads (OutboxRelay.expandWith), in the row's place.
 */
export const OUTBOX_EXPAND_TYPE = 'kizuna.outbox.expand';

export const INBOX_OUTBOX_ENTITIES = [InboxEntry, OutboxEntry];
