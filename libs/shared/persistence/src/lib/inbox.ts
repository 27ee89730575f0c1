import { context, propagation, trace } from '@opentelemetry/api';
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
 * Writes events to the outbox inside the caller's transaction, with the current trace context,
 * so they are published (by the relay) if and only if the transaction commits.
 * `skipDuplicates`: an event whose (deterministic) id is already in the outbox is left out
 * instead of failing the transaction (re-emission of the same fact).
 */
export async function enqueueOutbox(
  manager: EntityManager,
  events: { topic: string; event: CloudEvent }[],
  options: { skipDuplicates?: boolean } = {},
): Promise<void> {
  if (events.length === 0) return;
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  await manager
    .createQueryBuilder()
    .insert()
    .into(OutboxEntry)
    .values(
      events.map(({ topic, event }) => ({
        eventId: event.id,
        topic,
        messageKey: event.subject,
        envelope: event as unknown as Record<string, unknown>,
        headers,
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
