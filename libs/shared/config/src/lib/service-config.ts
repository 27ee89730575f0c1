import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kizuna';
export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:9092';

/**
 * The environment every Kizuna service reads. Property names are the env var names;
 * the values assigned here are the defaults. docker-compose.yml and `npm start` use the same names.
 */
export class ServiceConfig {
  /** HTTP port; each service's default is set by its main.ts (3001..3005). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  PORT?: number = undefined;

  @IsString() @IsNotEmpty()
  HOST = '0.0.0.0';

  /** Comma-separated host:port list. */
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
  KAFKA_BROKERS = DEFAULT_KAFKA_BROKERS;

  /** Consumer groups are named `<prefix>.<service>`; tests use a unique prefix per run. */
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'KAFKA_GROUP_PREFIX may only contain letters, digits, ".", "_" and "-"' })
  KAFKA_GROUP_PREFIX = 'kizuna';

  @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  KAFKA_TOPIC_PARTITIONS = 6;

  @Type(() => Number) @IsInt() @Min(1) @Max(10)
  KAFKA_TOPIC_REPLICATION = 1;

  /** Attempts per message before it is dead-lettered (the first try included). */
  @Type(() => Number) @IsInt() @Min(1) @Max(20)
  KAFKA_MAX_ATTEMPTS = 5;

  @Type(() => Number) @IsInt() @Min(1)
  KAFKA_RETRY_BACKOFF_MS = 200;

  /** Partitions a consumer works on at the same time (order holds within each partition). */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  KAFKA_PARTITIONS_CONCURRENCY = 3;

  /**
   * Accounts of one partition whose events the service's own group handles at the same time (each
   * account's in order; 1: one event after the other). See docs/operations.md.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  KAFKA_KEY_CONCURRENCY = 1;

  /**
   * Members of the service's own consumer group in this process, each with its own fetches (the
   * partitions are shared out among them as among instances). See docs/operations.md.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(16)
  KAFKA_GROUP_MEMBERS = 1;

  /**
   * How long published outbox rows are kept. 0 (the default): deleted as they are published (Kafka
   * holds the events), the least to write per event. More: marked published, kept this long, then
   * purged (tools that read what a service emitted from its outbox: the chaos harness).
   */
  @Type(() => Number) @IsInt() @Min(0)
  OUTBOX_RETAIN_MS = 0;

  /**
   * How long a consumer lag reading (GET /metrics) is reused before the broker is asked again. A
   * simulation played step by step sets 0, so a scrape right after a step's events shows their lag.
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(60000)
  KAFKA_LAG_CACHE_MS = 1000;

  /**
   * How long a lane (e.g. the product stream of escalation-routing and notification) waits, before
   * each run of its events, while the service's own group has batches in progress (0: never).
   */
  @Type(() => Number) @IsInt() @Min(0) @Max(10000)
  KAFKA_LANE_YIELD_MS = 250;

  /**
   * Most bytes a lane's fetch asks for per partition (its whole fetch: 8 times that). kafkajs decodes a
   * fetch response in one go: with its default (1 MB per partition) a product-stream fetch was several
   * thousand records decoded at once, during which the service's own group's fetch waited.
   */
  @Type(() => Number) @IsInt() @Min(1024) @Max(10485760)
  KAFKA_LANE_FETCH_BYTES = 65536;

  /**
   * Where a service's lanes run: `inline` (in the service's process, yielding to its own group) or
   * `process` (a child process of the service runs them at a lower CPU priority, KAFKA_LANES_NICE, so
   * the product stream's decoding and writes never hold up the service's own events in its event loop).
   * Services without lanes ignore it. See docs/operations.md.
   */
  @IsIn(['inline', 'process'])
  KAFKA_LANES: 'inline' | 'process' = 'process';

  /** The lane process's niceness (0: same priority as the service; 19: the lowest). */
  @Type(() => Number) @IsInt() @Min(0) @Max(19)
  KAFKA_LANES_NICE = 19;

  /** Most events a batch handler applies together (one transaction in health-scoring). */
  @Type(() => Number) @IsInt() @Min(1) @Max(10000)
  KAFKA_MAX_BATCH = 500;

  /**
   * Compression of the record batches this service produces: `none`, `zstd` (Node's zlib; brokers
   * from Kafka 2.1 on) or `gzip`. Consumers read any of them. See docs/operations.md.
   */
  @IsIn(['none', 'gzip', 'zstd'])
  KAFKA_COMPRESSION: 'none' | 'gzip' | 'zstd' = 'none';

  /**
   * How long the group coordinator waits for a silent consumer (a crashed process) before giving its
   * partitions to the others. Lower: faster takeover after a crash; higher: more tolerance of pauses.
   */
  @Type(() => Number) @IsInt() @Min(6000) @Max(300000)
  KAFKA_SESSION_TIMEOUT_MS = 30000;

  /** Heartbeats to the group coordinator (also during a slow handler); keep it below a third of the session timeout. */
  @Type(() => Number) @IsInt() @Min(100) @Max(60000)
  KAFKA_HEARTBEAT_INTERVAL_MS = 3000;

  /**
   * How long a rebalance waits for the group's members to rejoin. A crashed member never does: the
   * instance that replaces it waits up to this long before it gets partitions.
   */
  @Type(() => Number) @IsInt() @Min(1000) @Max(600000)
  KAFKA_REBALANCE_TIMEOUT_MS = 60000;

  /**
   * Inbox rows (events a consumer group applied) are kept this many days, then deleted. Must exceed
   * the longest redelivery: the Kafka topics' retention (and a dead-letter replay); see operations.md.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(3650)
  INBOX_RETENTION_DAYS = 30;

  /** How often the inbox cleanup runs. */
  @Type(() => Number) @IsInt() @Min(1000)
  INBOX_CLEANUP_INTERVAL_MS = 3_600_000;

  /**
   * How often the service looks for tables of its schema whose planner statistics are stale, and
   * ANALYZEs them, when the server runs without autovacuum (with it on, the service leaves them to
   * it). 0: never.
   */
  @Type(() => Number) @IsInt() @Min(0)
  DB_ANALYZE_INTERVAL_MS = 15_000;

  /** Inbox rows deleted per statement (one short transaction each). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  INBOX_CLEANUP_BATCH = 10_000;

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = DEFAULT_DATABASE_URL;

  @Type(() => Number) @IsInt() @Min(1) @Max(200)
  DATABASE_POOL_SIZE = 10;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /** OTLP/HTTP endpoint (e.g. http://localhost:4318); traces are exported only when set. */
  @IsOptional() @IsString()
  OTEL_EXPORTER_OTLP_ENDPOINT?: string = undefined;

  /** Time given to in-flight work on SIGTERM before the process exits anyway. */
  @Type(() => Number) @IsInt() @Min(1000)
  SHUTDOWN_TIMEOUT_MS = 30000;
}

/**
 * Set in the environment of the child process a service starts for its lanes (KAFKA_LANES=process):
 * that process runs the lanes' consumer groups only, without HTTP or periodic tasks.
 */
export const LANE_PROCESS_ENV = 'KIZUNA_LANE_PROCESS';

/** True in the child process that runs a service's lanes. */
export function isLaneProcess(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[LANE_PROCESS_ENV] === '1';
}

export function kafkaBrokers(config: Pick<ServiceConfig, 'KAFKA_BROKERS'>): string[] {
  return config.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean);
}
