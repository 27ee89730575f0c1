import { IsIn, IsISO8601, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

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
