import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import type { AnyNewEvent } from '@kizuna/shared/messaging';
import { queryRows } from '@kizuna/shared/persistence';
import { PendingEvent, UserAccount } from '@kizuna/ingestion/data-access';
import {
  anonymousKey, checkMessageSize, explicitAccountId, ingestEventId, resolveAccounts, toContractEvent, userKey, userKeysOf, validateSegmentMessage,
  type SegmentMessage, type SegmentType,
} from '@kizuna/ingestion/domain';
import { AccountDirectoryService } from './account-directory.service';
import { EventIntake } from './event-intake.service';
import { IngestionConfig } from './ingestion.config';

export { EventStoreUnavailable } from './event-intake.service';

export interface RejectedItem {
  index: number;
  reason: string;
}

export interface IngestResult {
  /** Stored on Kafka now, or kept until their account is known. */
  accepted: number;
  /** Already received from this source (same messageId within 24 h): counted once. */
  duplicates: number;
  /** Of the accepted, how many wait for the user's group call to know their account. */
  pending: number;
  rejected: RejectedItem[];
}

interface Valid {
  index: number;
  message: SegmentMessage;
  messageId: string;
}

/**
 * The Segment/RudderStack intake: validate, deduplicate per source, attribute to accounts
 * (explicitly, or through the user's group call, now or later), publish, and answer only after
 * Kafka acknowledged. Dedup rows, account associations and pending events share one transaction
 * with the publication: a failed publish rolls them back, so a retry is not mistaken for a duplicate.
 */
@Injectable()
export class SegmentIngestService {
  constructor(
    private readonly ds: DataSource,
    private readonly intake: EventIntake,
    private readonly directory: AccountDirectoryService,
    private readonly config: IngestionConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async ingest(sourceId: string, endpoint: string, items: readonly unknown[], expectedType?: SegmentType): Promise<IngestResult> {
    const receivedAt = this.clock.now();
    const rejected: (RejectedItem & { raw: unknown })[] = [];
    const valid: Valid[] = [];
    const seenInRequest = new Set<string>();
    let duplicates = 0;
    items.forEach((raw, index) => {
      const tooBig = checkMessageSize(Buffer.byteLength(JSON.stringify(raw) ?? ''));
      if (tooBig) return rejected.push({ index, reason: tooBig.message, raw });
      const r = validateSegmentMessage(raw, expectedType);
      if (!r.ok) return rejected.push({ index, reason: r.reason, raw });
      const messageId = r.message.messageId ?? randomUUID();
      if (seenInRequest.has(messageId)) return void duplicates++;
      seenInRequest.add(messageId);
      valid.push({ index, message: { ...r.message, messageId }, messageId });
      return undefined;
    });

    const result = await this.ds.transaction(async (m) => {
      const fresh = await this.claimMessageIds(m, sourceId, valid, receivedAt);
      duplicates += valid.length - fresh.length;
      const events: AnyNewEvent[] = [];
      const { resolved, unresolved } = await this.attribute(m, sourceId, fresh, receivedAt);
      for (const { message, messageId, accountId } of resolved) events.push(this.contractEvent(sourceId, message, messageId, accountId, receivedAt));
      events.push(...(await this.directory.learnFromSegment(m, resolved, receivedAt)));
      await this.keepPending(m, sourceId, unresolved, receivedAt);
      for (const r of rejected) events.push(this.rejection(sourceId, endpoint, r, receivedAt));
      await this.publish(events);
      return { accepted: fresh.length, duplicates, pending: unresolved.length };
    });
    trace.getActiveSpan()?.setAttributes({
      'kizuna.ingest.accepted': result.accepted,
      'kizuna.ingest.duplicates': result.duplicates,
      'kizuna.ingest.rejected': rejected.length,
    });
    return { ...result, rejected: rejected.map(({ index, reason }) => ({ index, reason })) };
  }

  private async claimMessageIds(m: EntityManager, sourceId: string, valid: Valid[], at: Date): Promise<Valid[]> {
    const fresh = await this.intake.claim(m, sourceId, valid.map((v) => v.messageId), at);
    return valid.filter((v) => fresh.has(v.messageId));
  }

  /** Resolves accounts (stored and in-request group calls), stores new associations, releases waiting events. */
  private async attribute(m: EntityManager, sourceId: string, fresh: Valid[], at: Date) {
    // Only calls that do not name their account need the stored associations (the common case,
    // SDK calls with context.groupId, costs no lookup).
    const keys = new Set<string>();
    for (const v of fresh) {
      if (v.message.type !== 'alias' && explicitAccountId(v.message)) continue;
      for (const k of userKeysOf(v.message)) keys.add(k);
      if (v.message.previousId) keys.add(userKey(v.message.previousId)).add(anonymousKey(v.message.previousId));
    }
    const uaTable = m.connection.getMetadata(UserAccount).tablePath;
    const known = new Map<string, string>();
    if (keys.size) {
      const rows: { user_key: string; account_id: string }[] = await m.query(
        `SELECT user_key, account_id FROM ${uaTable} WHERE source_id = $1 AND user_key = ANY($2::text[])`,
        [sourceId, [...keys]],
      );
      for (const r of rows) known.set(r.user_key, r.account_id);
    }
    const { resolutions, associations } = resolveAccounts(fresh, known);
    const resolved: (Valid & { accountId: string })[] = [];
    let unresolved: Valid[] = [];
    for (const r of resolutions) {
      if (r.accountId) resolved.push({ ...r.item, accountId: r.accountId });
      else unresolved.push(r.item);
    }
    if (associations.size === 0 && unresolved.length === 0) return { resolved, unresolved };
    // A group call and a user's other calls may arrive in concurrent requests: serialise on the
    // users involved (sorted: no deadlock), then look again, so neither side misses the other.
    const lockKeys = [...new Set([...associations.keys(), ...unresolved.flatMap((v) => userKeysOf(v.message))])].sort();
    await m.query('SELECT pg_advisory_xact_lock(hashtextextended($1 || k, 0)) FROM unnest($2::text[]) AS k', [`${sourceId}\n`, lockKeys]);
    if (unresolved.length) {
      const rows: { user_key: string; account_id: string }[] = await m.query(
        `SELECT user_key, account_id FROM ${uaTable} WHERE source_id = $1 AND user_key = ANY($2::text[])`,
        [sourceId, unresolved.flatMap((v) => userKeysOf(v.message))],
      );
      const now = new Map(rows.map((r) => [r.user_key, r.account_id]));
      const still: Valid[] = [];
      for (const v of unresolved) {
        const accountId = userKeysOf(v.message).map((k) => associations.get(k) ?? now.get(k)).find(Boolean);
        if (accountId) resolved.push({ ...v, accountId });
        else still.push(v);
      }
      unresolved = still;
    }
    if (associations.size) {
      await m.query(
        `INSERT INTO ${uaTable} (source_id, user_key, account_id, updated_at)
         SELECT $1, k, a, $4 FROM unnest($2::text[], $3::text[]) AS t(k, a)
         ON CONFLICT (source_id, user_key) DO UPDATE SET account_id = EXCLUDED.account_id, updated_at = EXCLUDED.updated_at`,
        [sourceId, [...associations.keys()], [...associations.values()], at],
      );
      resolved.push(...(await this.releasePending(m, sourceId, associations)));
    }
    return { resolved, unresolved };
  }

  /** Events that waited for these users' group calls, now attributed (and removed from the waiting list). */
  private async releasePending(m: EntityManager, sourceId: string, associations: Map<string, string>) {
    const table = m.connection.getMetadata(PendingEvent).tablePath;
    const rows = await queryRows<{ message_id: string; user_keys: string[]; message: SegmentMessage }>(
      m,
      `DELETE FROM ${table} WHERE source_id = $1 AND user_keys && $2::text[] RETURNING message_id, user_keys, message`,
      [sourceId, [...associations.keys()]],
    );
    return rows.flatMap((r) => {
      const accountId = r.user_keys.map((k) => associations.get(k)).find(Boolean);
      return accountId ? [{ index: -1, message: r.message, messageId: r.message_id, accountId }] : [];
    });
  }

  private async keepPending(m: EntityManager, sourceId: string, unresolved: Valid[], at: Date): Promise<void> {
    if (unresolved.length === 0) return;
    const expiresAt = new Date(at.getTime() + this.config.INGESTION_PENDING_WINDOW_MS);
    await m.getRepository(PendingEvent).insert(
      unresolved.map((v) => ({
        sourceId,
        messageId: v.messageId,
        userKeys: userKeysOf(v.message),
        message: v.message as unknown as Record<string, unknown>,
        receivedAt: at,
        expiresAt,
      })) as QueryDeepPartialEntity<PendingEvent>[],
    );
  }

  contractEvent(sourceId: string, message: SegmentMessage, messageId: string, accountId: string, receivedAt: Date): AnyNewEvent {
    const e = toContractEvent(message, { sourceId, messageId, accountId, receivedAt });
    return { ...e, subject: accountId, id: ingestEventId(sourceId, messageId), time: receivedAt } as AnyNewEvent;
  }

  rejection(sourceId: string, endpoint: string, r: { index?: number; reason: string; raw: unknown }, at: Date): AnyNewEvent {
    return this.intake.rejection(sourceId, endpoint, r, at);
  }

  publish(events: AnyNewEvent[]): Promise<void> {
    return this.intake.publish(events);
  }
}
