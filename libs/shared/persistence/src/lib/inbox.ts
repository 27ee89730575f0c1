import { context, propagation, trace, type Context } from '@opentelemetry/api';
import type { DataSource, EntityManager } from 'typeorm';
import { eventHeaders, type CloudEvent } from '@kizuna/shared/contracts';
import { InboxEntry, OutboxEntry } from './inbox-outbox.entities';

/**
 * Records that `consumer` has seen `event`, inside the caller's transaction.
 * Returns false when it was already recorded (a redelivery): the caller must then skip the effect.
 */
export async function claimInbox(manager: EntityManager, consumer: string, event: CloudEvent): Promise<boolean> {
  const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
  const table = manager.connection.getMetadata(InboxEntry).tablePath;
  // Plain SQL: TypeORM's insert builder cost more CPU than the statement itself on this hot path.
  const rows: unknown[] = await manager.query(
    `INSERT INTO ${table} (consumer, event_id, event_type, account_id, trace_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, event.id, event.type, event.subject, traceId],
  );
  return rows.length > 0;
}

/**
 * Claims many events at once (one statement); returns the ids not seen before by `consumer`.
 * Duplicates within `events` are claimed once.
 */
export async function claimInboxMany(manager: EntityManager, consumer: string, events: CloudEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
  const table = manager.connection.getMetadata(InboxEntry).tablePath;
  const rows: { event_id: string }[] = await manager.query(
    `INSERT INTO ${table} (consumer, event_id, event_type, account_id, trace_id)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.subject), events.map(() => traceId)],
  );
  return new Set(rows.map((r) => r.event_id));
}

/**
 * Writes events to the outbox inside the caller's transaction, with the trace context (the current
 * one, or each event's own when given), so they are published (by the relay) if and only if the
 * transaction commits, and downstream work continues the trace that caused them. The row's headers
 * are the message's: that trace context and the EventHeader fields.
 * `skipDuplicates`: an event whose (deterministic) id is already in the outbox is left out
 * instead of failing the transaction (re-emission of the same fact).
 */
export async function enqueueOutbox(
  manager: EntityManager,
  events: { topic: string; event: CloudEvent; traceContext?: Context }[],
  options: { skipDuplicates?: boolean } = {},
): Promise<void> {
  if (events.length === 0) return;
  await manager.query(outboxInsertSql(manager, '$1::json', options), [JSON.stringify(outboxRows(events))]);
}

/**
 * The outbox rows of `events` as one JSON document's entries (for {@link outboxInsertSql}), each with
 * its message headers: the trace context (the current one, or the event's own) and EventHeader.
 */
export function outboxRows(events: { topic: string; event: CloudEvent; traceContext?: Context }[]): unknown[] {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  const headersOf = (c: Context | undefined) => {
    if (!c) return headers;
    const own: Record<string, string> = {};
    propagation.inject(c, own);
    return own;
  };
  return events.map(({ topic, event, traceContext }) => ({ i: event.id, t: topic, k: event.subject, e: event, h: { ...headersOf(traceContext), ...eventHeaders(event) } }));
}

/**
 * The INSERT of outbox rows read from `source`, a json expression of {@link outboxRows}'s entries
 * (`$1::json`, or a part of a larger document: one statement may write more than the outbox).
 * One JSON document for all rows, inserted in the given order (seq follows it: the relay publishes
 * by seq). TypeORM's insert builder checked every parameter against all earlier ones: quadratic in
 * the rows, and most of the CPU of writing a rescored batch's changes. The stored headers are the
 * message's: its trace context (which the relay's producer span replaces) and EventHeader, so the
 * relay reads no field of the envelope (json: each would be a parse of it).
 */
export function outboxInsertSql(manager: EntityManager, source: string, options: { skipDuplicates?: boolean } = {}): string {
  const table = manager.connection.getMetadata(OutboxEntry).tablePath;
  return `INSERT INTO ${table} (event_id, topic, message_key, envelope, headers)
     SELECT x.i, x.t, x.k, x.e, x.h
       FROM ROWS FROM (json_to_recordset(${source}) AS (i text, t text, k text, e json, h json)) WITH ORDINALITY AS x(i, t, k, e, h, n)
      ORDER BY x.n${options.skipDuplicates === true ? '\n     ON CONFLICT DO NOTHING' : ''}`;
}

/**
 * Applies `effect` for `event` at most once per consumer: inbox claim and effect share one
 * transaction, so a redelivery after a crash (effect committed, offset not) is skipped.
 * Returns false when the event had already been applied.
 */
export async function processOnce(
  dataSource: DataSource,
  consumer: string,
  event: CloudEvent,
  effect: (manager: EntityManager) => Promise<void>,
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    if (!(await claimInbox(manager, consumer, event))) return false;
    await effect(manager);
    return true;
  });
}
