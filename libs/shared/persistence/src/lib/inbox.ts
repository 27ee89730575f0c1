import { context, propagation, trace, type Context } from '@opentelemetry/api';
import type { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { CloudEvent } from '@kizuna/shared/contracts';
import { InboxEntry, OutboxEntry } from './inbox-outbox.entities';

/**
 * Records that `consumer` has seen `event`, inside the caller's transaction.
 * Returns false when it was already recorded (a redelivery): the caller must then skip the effect.
 */
export async function claimInbox(manager: EntityManager, consumer: string, event: CloudEvent): Promise<boolean> {
  const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
  const result = await manager
    .createQueryBuilder()
    .insert()
    .into(InboxEntry)
    .values({ consumer, eventId: event.id, eventType: event.type, accountId: event.subject, traceId })
    .orIgnore()
    .returning(['eventId'])
    .execute();
  return (result.raw as unknown[]).length > 0;
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
 * transaction commits, and downstream work continues the trace that caused them.
 * `skipDuplicates`: an event whose (deterministic) id is already in the outbox is left out
 * instead of failing the transaction (re-emission of the same fact).
 */
export async function enqueueOutbox(
  manager: EntityManager,
  events: { topic: string; event: CloudEvent; traceContext?: Context }[],
  options: { skipDuplicates?: boolean } = {},
): Promise<void> {
  if (events.length === 0) return;
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  const headersOf = (c: Context | undefined) => {
    if (!c) return headers;
    const own: Record<string, string> = {};
    propagation.inject(c, own);
    return own;
  };
  await manager
    .createQueryBuilder()
    .insert()
    .into(OutboxEntry)
    .values(
      events.map(({ topic, event, traceContext }) => ({
        eventId: event.id,
        topic,
        messageKey: event.subject,
        envelope: event as unknown as Record<string, unknown>,
        headers: headersOf(traceContext),
      })) as QueryDeepPartialEntity<OutboxEntry>[],
    )
    .orIgnore(options.skipDuplicates === true)
    .execute();
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
