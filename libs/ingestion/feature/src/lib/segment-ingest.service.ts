import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { CLOCK, RecentCache, RecentKeys, type Clock } from '@kizuna/shared/contracts';
import type { AnyNewEvent } from '@kizuna/shared/messaging';
import { queryRows } from '@kizuna/shared/persistence';
import { PendingEvent, UserAccount } from '@kizuna/ingestion/data-access';
import {
  SEGMENT_LIMITS, anonymousKey, checkMessageSize, explicitAccountId, ingestEventId, resolveAccounts, toContractEvent, userKey, userKeysOf, validateSegmentMessage,
  type SegmentMessage, type SegmentType,
} from '@kizuna/ingestion/domain';
import { AccountDirectoryService } from './account-directory.service';
import { EventIntake, EventStoreUnavailable } from './event-intake.service';
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

const recentKey = (sourceId: string, key: string) => `${sourceId}\n${key}`;

interface Valid {
  index: number;
  message: SegmentMessage;
  messageId: string;
}

/**
 * The Segment/RudderStack intake: validate, deduplicate per source, attribute to accounts
 * (explicitly, or through the user's group call, now or later), publish, and answer only after
 * Kafka acknowledged.
 *
 * Dedup: recently accepted (source, messageId) pairs are kept in memory (bounded, 24 h, as 128-bit
 * hashes outside the JavaScript heap: `RecentKeys`), so an SDK retry is acknowledged without being
 * published again; a retry that races the original waits for it and shares its outcome. The event id is derived from (source, messageId), so every consumer's
 * inbox also absorbs a re-publication (after a restart, or through another instance): counted once.
 *
 * The common call (it names its account, or its user's account is cached) touches no database:
 * validate, build, publish. Group and alias calls, unknown users and identify calls with an e-mail
 * go through one Postgres transaction (associations, contacts, pending events) that commits only
 * after Kafka acknowledged, so a failed publish leaves no trace.
 */
@Injectable()
export class SegmentIngestService {
  private readonly recent: RecentKeys;
  /** Messages being stored right now: a racing retry waits for the original's outcome. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly associations = new RecentCache<string>(200_000, 60_000);

  constructor(
    private readonly ds: DataSource,
    private readonly intake: EventIntake,
    private readonly directory: AccountDirectoryService,
    private readonly config: IngestionConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.recent = new RecentKeys(config.INGESTION_DEDUP_CACHE_ENTRIES, config.INGESTION_DEDUP_WINDOW_MS);
  }

  /**
   * `bodyBytes`: the request's size; when it is under the per-message limit no single message can
   * exceed it and the per-message size check is skipped.
   */
  async ingest(
    sourceId: string,
    endpoint: string,
    items: readonly unknown[],
    expectedType?: SegmentType,
    bodyBytes = Number.POSITIVE_INFINITY,
  ): Promise<IngestResult> {
    const receivedAt = this.clock.now();
    const now = receivedAt.getTime();
    const rejected: (RejectedItem & { raw: unknown })[] = [];
    const fresh: Valid[] = [];
    const waits: Promise<void>[] = [];
    const seenInRequest = new Set<string>();
    let duplicates = 0;
    const checkSizes = bodyBytes > SEGMENT_LIMITS.messageBytes;
    items.forEach((raw, index) => {
      const tooBig = checkSizes ? checkMessageSize(Buffer.byteLength(JSON.stringify(raw) ?? '')) : undefined;
      if (tooBig) return rejected.push({ index, reason: tooBig.message, raw });
      const r = validateSegmentMessage(raw, expectedType);
      if (!r.ok) return rejected.push({ index, reason: r.reason, raw });
      const messageId = r.message.messageId ?? randomUUID();
      const key = recentKey(sourceId, messageId);
      const racing = this.inFlight.get(key);
      if (seenInRequest.has(messageId) || racing || this.recent.has(key, now)) {
        duplicates++;
        if (racing) waits.push(racing);
        return undefined;
      }
      seenInRequest.add(messageId);
      fresh.push({ index, message: { ...r.message, messageId }, messageId });
      return undefined;
    });

    let settle: (ok: boolean) => void = () => undefined;
    const inFlight = new Promise<void>((resolve, reject) => {
      settle = (ok) => (ok ? resolve() : reject(new EventStoreUnavailable('a concurrent request with the same messageId could not store it')));
    });
    inFlight.catch(() => undefined);
    const keys = fresh.map((v) => recentKey(sourceId, v.messageId));
    for (const k of keys) this.inFlight.set(k, inFlight);
    try {
      // A retry racing its original is acknowledged only once the original is stored.
      await Promise.all(waits);
      const result = await this.store(sourceId, endpoint, fresh, rejected, receivedAt);
      for (const k of keys) this.recent.add(k, now);
      settle(true);
      trace.getActiveSpan()?.setAttributes({
        'kizuna.ingest.accepted': fresh.length,
        'kizuna.ingest.duplicates': duplicates,
        'kizuna.ingest.rejected': rejected.length,
      });
      return { accepted: fresh.length, duplicates, pending: result.pending, rejected: rejected.map(({ index, reason }) => ({ index, reason })) };
    } catch (e) {
      settle(false);
      throw e;
    } finally {
      for (const k of keys) this.inFlight.delete(k);
    }
  }

  private async store(
    sourceId: string,
    endpoint: string,
    fresh: Valid[],
    rejected: (RejectedItem & { raw: unknown })[],
    receivedAt: Date,
  ): Promise<{ pending: number }> {
    const rejections = rejected.map((r) => this.rejection(sourceId, endpoint, r, receivedAt));
    const fast = this.resolveInMemory(sourceId, fresh, receivedAt.getTime());
    if (fast) {
      const iso = receivedAt.toISOString();
      await this.publish([...fast.map((v) => this.contractEvent(sourceId, v.message, v.messageId, v.accountId, receivedAt, iso)), ...rejections]);
      return { pending: 0 };
    }
    return this.ds.transaction(async (m) => {
      const events: AnyNewEvent[] = [];
      const { resolved, unresolved } = await this.attribute(m, sourceId, fresh, receivedAt);
      for (const { message, messageId, accountId } of resolved) events.push(this.contractEvent(sourceId, message, messageId, accountId, receivedAt));
      events.push(...(await this.directory.learnFromSegment(m, resolved, receivedAt)));
      await this.keepPending(m, sourceId, unresolved, receivedAt);
      await this.publish([...events, ...rejections]);
      return { pending: unresolved.length };
    });
  }

  /**
   * Attribution without the database: every call names its account or its user's association is
   * cached, and none writes anything (no group, alias, or identify carrying an e-mail). Else undefined.
   */
  private resolveInMemory(sourceId: string, fresh: Valid[], now: number): (Valid & { accountId: string })[] | undefined {
    const out: (Valid & { accountId: string })[] = [];
    for (const v of fresh) {
      const m = v.message;
      if (m.type === 'group' || m.type === 'alias') return undefined;
      if (m.type === 'identify' && typeof m.traits?.['email'] === 'string') return undefined;
      const accountId =
        explicitAccountId(m) ?? userKeysOf(m).map((k) => this.associations.get(recentKey(sourceId, k), now)).find((a) => a !== undefined);
      if (!accountId) return undefined;
      out.push({ ...v, accountId });
    }
    return out;
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
    const now = at.getTime();
    for (const [k, a] of known) this.associations.set(recentKey(sourceId, k), a, now);
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
      for (const [k, a] of associations) this.associations.set(recentKey(sourceId, k), a, now);
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
    await m.createQueryBuilder().insert().into(PendingEvent).values(
      unresolved.map((v) => ({
        sourceId,
        messageId: v.messageId,
        userKeys: userKeysOf(v.message),
        message: v.message as unknown as Record<string, unknown>,
        receivedAt: at,
        expiresAt,
      })) as QueryDeepPartialEntity<PendingEvent>[],
    ).orIgnore().execute();
  }

  contractEvent(sourceId: string, message: SegmentMessage, messageId: string, accountId: string, receivedAt: Date, receivedAtIso = receivedAt.toISOString()): AnyNewEvent {
    const e = toContractEvent(message, { sourceId, messageId, accountId, receivedAt, receivedAtIso });
    return { ...e, subject: accountId, id: ingestEventId(sourceId, messageId), time: receivedAtIso } as AnyNewEvent;
  }

  rejection(sourceId: string, endpoint: string, r: { index?: number; reason: string; raw: unknown }, at: Date): AnyNewEvent {
    return this.intake.rejection(sourceId, endpoint, r, at);
  }

  publish(events: AnyNewEvent[]): Promise<void> {
    return this.intake.publish(events);
  }
}
