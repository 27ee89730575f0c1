import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The Segment HTTP tracking spec (also spoken by RudderStack's SDKs): message shapes,
 * validation with precise reasons, and normalisation into Kizuna's contracts. Pure: no I/O.
 */
export const SEGMENT_TYPES = ['track', 'identify', 'group', 'page', 'screen', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

export interface SegmentMessage {
  type: SegmentType;
  userId?: string;
  anonymousId?: string;
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  timestamp?: string;
  sentAt?: string;
  originalTimestamp?: string;
  messageId?: string;
  event?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  groupId?: string;
  name?: string;
  category?: string;
  previousId?: string;
}

const id = { anyOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'number' }] };
const obj = { type: 'object' };
const time = { type: 'string', format: 'date-time' };

/** JSON schema of one message; unknown top-level fields (SDK metadata such as `_metadata`) are ignored. */
export const SEGMENT_MESSAGE_SCHEMA = {
  type: 'object',
  properties: {
    type: { enum: SEGMENT_TYPES },
    userId: id,
    anonymousId: id,
    context: obj,
    integrations: obj,
    timestamp: time,
    sentAt: time,
    originalTimestamp: time,
    messageId: { type: 'string', minLength: 1, maxLength: 256 },
    writeKey: { type: 'string' },
    event: { type: 'string', minLength: 1, maxLength: 512 },
    properties: obj,
    traits: obj,
    groupId: id,
    name: { type: 'string', maxLength: 512 },
    category: { type: 'string', maxLength: 512 },
    previousId: id,
  },
} as const;

const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false, strict: true });
addFormats(ajv, ['date-time']);
const validateShape: ValidateFunction = ajv.compile(SEGMENT_MESSAGE_SCHEMA);

function describe(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'message';
  if (e.keyword === 'enum') return `${path}: must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'anyOf') return `${path}: must be a non-empty string (at most 256 characters) or a number`;
  return `${path}: ${e.message ?? 'is invalid'}`;
}

export type ValidationResult = { ok: true; message: SegmentMessage } | { ok: false; reason: string };

const asId = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/**
 * Validates one message. `expectedType` is the endpoint's type (`/v1/track` -> "track");
 * the batch endpoint passes none and each item must carry its own `type`.
 */
export function validateSegmentMessage(raw: unknown, expectedType?: SegmentType): ValidationResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'message must be a JSON object' };
  const input = raw as Record<string, unknown>;
  if (!validateShape(input)) {
    const errors = (validateShape.errors ?? []).filter((e) => !e.schemaPath.includes('/anyOf/'));
    return { ok: false, reason: [...new Set(errors.map(describe))].join('; ') };
  }
  const type = (input['type'] as SegmentType | undefined) ?? expectedType;
  if (!type) return { ok: false, reason: `type: required (one of ${SEGMENT_TYPES.join(', ')})` };
  if (expectedType && type !== expectedType) return { ok: false, reason: `type: this endpoint takes "${expectedType}" calls, not "${type}"` };
  const m: SegmentMessage = { type };
  for (const k of ['context', 'integrations', 'properties', 'traits'] as const) {
    if (input[k] !== undefined) m[k] = input[k] as Record<string, unknown>;
  }
  for (const k of ['timestamp', 'sentAt', 'originalTimestamp', 'messageId', 'event', 'name', 'category'] as const) {
    if (input[k] !== undefined) m[k] = input[k] as string;
  }
  for (const k of ['userId', 'anonymousId', 'groupId', 'previousId'] as const) {
    const v = asId(input[k]);
    if (v !== undefined) m[k] = v;
  }
  const problems: string[] = [];
  if (type === 'alias') {
    if (!m.userId) problems.push('userId: required for alias');
    if (!m.previousId) problems.push('previousId: required for alias');
  } else if (!m.userId && !m.anonymousId) {
    problems.push('userId or anonymousId: one is required');
  }
  if (type === 'track' && !m.event) problems.push('event: required for track');
  if (type === 'group' && !m.groupId) problems.push('groupId: required for group');
  if (problems.length) return { ok: false, reason: problems.join('; ') };
  return { ok: true, message: m };
}

/**
 * Batch: the outer context and integrations are merged into each item (the item's own keys win),
 * and the batch's sentAt (analytics-node sends it once per batch) applies to items without one.
 */
export function mergeBatchDefaults(
  item: unknown,
  outer: { context?: Record<string, unknown>; integrations?: Record<string, unknown>; sentAt?: string },
): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  const i = item as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...i };
  for (const k of ['context', 'integrations'] as const) {
    const o = outer[k];
    if (o && (i[k] === undefined || (typeof i[k] === 'object' && i[k] !== null))) {
      merged[k] = { ...o, ...((i[k] as Record<string, unknown> | undefined) ?? {}) };
    }
  }
  if (outer.sentAt !== undefined && i['sentAt'] === undefined) merged['sentAt'] = outer.sentAt;
  return merged;
}

/**
 * When it happened. Like Segment, corrects the client's clock skew when `sentAt` is given:
 * timestamp + (receivedAt - sentAt). Without a timestamp, the time it was received.
 */
export function effectiveTimestamp(m: Pick<SegmentMessage, 'timestamp' | 'sentAt' | 'originalTimestamp'>, receivedAt: Date): string {
  const ts = m.timestamp ?? m.originalTimestamp;
  if (!ts) return receivedAt.toISOString();
  const t = Date.parse(ts);
  if (m.sentAt) {
    const skew = receivedAt.getTime() - Date.parse(m.sentAt);
    return new Date(t + skew).toISOString();
  }
  return new Date(t).toISOString();
}
