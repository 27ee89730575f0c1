import { Type } from 'class-transformer';
import { IsBase64, IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';

/** Ingestion's own settings (env var names; defaults as assigned). */
export class IngestionConfig {
  /** A static bearer token for the admin API (sources and keys), besides admin-role JWTs; optional. */
  @IsOptional() @IsString() @MinLength(16, { message: 'INGESTION_ADMIN_TOKEN must be at least 16 characters' })
  INGESTION_ADMIN_TOKEN?: string = undefined;

  /** When set, a source "default" accepting this write key exists from startup (development, demos). */
  @IsOptional() @IsString() @MinLength(8, { message: 'INGESTION_BOOTSTRAP_WRITE_KEY must be at least 8 characters' })
  INGESTION_BOOTSTRAP_WRITE_KEY?: string = undefined;

  /** 32 bytes, base64: encrypts webhook signing secrets at rest. Webhook secrets cannot be stored while unset. */
  @IsOptional() @IsBase64()
  INGESTION_SECRET_KEY?: string = undefined;

  /** How long an event whose account is unknown waits for the user's group call. */
  @Type(() => Number) @IsInt() @Min(1000)
  INGESTION_PENDING_WINDOW_MS = 24 * 3600 * 1000;

  /** Window within which a repeated (source, messageId) is counted once. */
  @Type(() => Number) @IsInt() @Min(60000)
  INGESTION_DEDUP_WINDOW_MS = 24 * 3600 * 1000;

  /** Requests per write key (source) per minute and instance; beyond, 429 with Retry-After. */
  @Type(() => Number) @IsInt() @Min(1)
  INGESTION_RATE_LIMIT_PER_MINUTE = 600_000;

  /** HTTP worker processes sharing the port (node:cluster); each keeps its own dedup memory. */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  INGESTION_WORKERS = 1;

  /** Recently accepted (source, messageId) pairs remembered in memory for dedup (128-bit hashes, 48 bytes each). */
  @Type(() => Number) @IsInt() @Min(1000)
  INGESTION_DEDUP_CACHE_ENTRIES = 1_000_000;

  /** Longest wait for Kafka's acknowledgement before answering 503. */
  @Type(() => Number) @IsInt() @Min(100) @Max(120000)
  INGESTION_KAFKA_ACK_TIMEOUT_MS = 10000;

  /** How long a write key lookup is cached (revocation takes effect within this). */
  @Type(() => Number) @IsInt() @Min(0) @Max(60000)
  INGESTION_KEY_CACHE_TTL_MS = 30000;
}
