import type { ProductEventV1 } from '@kizuna/shared/contracts';

/** A Segment/RudderStack `track` call as received (already shape-validated at the edge). */
export interface SegmentTrackCall {
  userId?: string;
  anonymousId?: string;
  event: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
  timestamp?: string;
  messageId?: string;
}

export type NormaliseResult = { ok: true; event: ProductEventV1 } | { ok: false; reason: string };

/**
 * The account (B2B): `context.groupId`, else `properties.accountId`.
 * (Attribution through earlier `group` calls arrives with the ingestion issue.)
 */
export function resolveAccountId(call: Pick<SegmentTrackCall, 'context' | 'properties'>): string | undefined {
  const fromContext = call.context?.['groupId'];
  if (typeof fromContext === 'string' && fromContext.trim()) return fromContext.trim();
  const fromProps = call.properties?.['accountId'];
  if (typeof fromProps === 'string' && fromProps.trim()) return fromProps.trim();
  return undefined;
}

/** Normalises a track call into the product event contract. Pure: ids and time are passed in. */
export function normaliseTrack(
  call: SegmentTrackCall,
  sourceId: string,
  receivedAt: Date,
  assignMessageId: () => string,
): NormaliseResult {
  if (!call.userId && !call.anonymousId) return { ok: false, reason: 'userId or anonymousId is required' };
  const accountId = resolveAccountId(call);
  if (!accountId) return { ok: false, reason: 'cannot resolve the account: set context.groupId or properties.accountId' };
  const event: ProductEventV1 = {
    kind: 'track',
    sourceId,
    messageId: call.messageId ?? assignMessageId(),
    accountId,
    event: call.event,
    properties: call.properties ?? {},
    timestamp: call.timestamp ?? receivedAt.toISOString(),
    receivedAt: receivedAt.toISOString(),
  };
  if (call.userId) event.userId = call.userId;
  if (call.anonymousId) event.anonymousId = call.anonymousId;
  if (call.context) event.context = call.context;
  return { ok: true, event };
}
