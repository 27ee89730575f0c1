import { IsIn, IsISO8601, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, isISO8601, isObject } from 'class-validator';

export const PRODUCT_EVENT_KINDS = ['track', 'page', 'screen'] as const;
export type ProductEventKind = (typeof PRODUCT_EVENT_KINDS)[number];

/** A product usage event (Segment/RudderStack track, page or screen call), normalised by ingestion. */
export class ProductEventV1 {
  @IsIn(PRODUCT_EVENT_KINDS)
  kind!: ProductEventKind;

  /** The ingestion source (write key owner) the event came from. */
  @IsString() @IsNotEmpty() @MaxLength(128)
  sourceId!: string;

  /** The client's messageId (or the one ingestion assigned): the dedup key within a source. */
  @IsString() @IsNotEmpty() @MaxLength(256)
  messageId!: string;

  @IsString() @IsNotEmpty() @MaxLength(256)
  accountId!: string;

  @IsOptional() @IsString() @MaxLength(256)
  userId?: string;

  @IsOptional() @IsString() @MaxLength(256)
  anonymousId?: string;

  /** Track: the event name, e.g. "Report Shared". */
  @IsOptional() @IsString() @MaxLength(512)
  event?: string;

  /** Page/screen: the page or screen name. */
  @IsOptional() @IsString() @MaxLength(512)
  name?: string;

  @IsObject()
  properties!: Record<string, unknown>;

  @IsOptional() @IsObject()
  context?: Record<string, unknown>;

  /** When it happened, per the client. */
  @IsISO8601()
  timestamp!: string;

  /** When ingestion accepted it. */
  @IsISO8601()
  receivedAt!: string;
}

/** The fields of {@link ProductEventV1}: anything else is rejected (whitelist, forbidNonWhitelisted). */
const PRODUCT_FIELDS = new Set(['kind', 'sourceId', 'messageId', 'accountId', 'userId', 'anonymousId', 'event', 'name', 'properties', 'context', 'timestamp', 'receivedAt']);

/** `@IsString() @IsNotEmpty() @MaxLength(max)`, or with `optional` also absent (null or undefined). */
const text = (v: unknown, max: number, optional: boolean): boolean =>
  optional && (v === undefined || v === null) ? true : typeof v === 'string' && (optional || v !== '') && v.length <= max;

/**
 * True only when class-validator would accept `data` as a {@link ProductEventV1} (the decorators above,
 * checked by hand: the product stream is most of what every consumer reads, and class-validator's
 * generic walk cost about 20 µs per event). Conservative: where it is unsure (a string longer than
 * the limit in UTF-16 units, which validator.js may count shorter) it answers false and the caller
 * validates with class-validator, which also words the errors. The spec checks both agree.
 */
export function isValidProductEvent(data: Record<string, unknown>): boolean {
  for (const k in data) if (!PRODUCT_FIELDS.has(k) || !Object.prototype.hasOwnProperty.call(data, k)) return false;
  const kind = data['kind'];
  return (
    (kind === 'track' || kind === 'page' || kind === 'screen') &&
    text(data['sourceId'], 128, false) &&
    text(data['messageId'], 256, false) &&
    text(data['accountId'], 256, false) &&
    text(data['userId'], 256, true) &&
    text(data['anonymousId'], 256, true) &&
    text(data['event'], 512, true) &&
    text(data['name'], 512, true) &&
    isObject(data['properties']) &&
    (data['context'] === undefined || data['context'] === null || isObject(data['context'])) &&
    isISO8601(data['timestamp']) &&
    isISO8601(data['receivedAt'])
  );
}
