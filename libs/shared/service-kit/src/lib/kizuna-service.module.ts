import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ISocketFactory, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CLOCK, SystemClock, type Clock } from '@kizuna/shared/contracts';
import { kafkaBrokers, loadConfig, type ServiceConfig } from '@kizuna/shared/config';
import { ConsumerRunner, EventPublisher, OutboxRelay, createKafka } from '@kizuna/shared/messaging';
import { dataSourceOptions, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { AuthConfig } from './auth/auth.config';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { JwtVerifier } from './auth/jwt-verifier';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MessagingLifecycle } from './messaging.lifecycle';
import { InboxRetention } from './inbox-retention.service';
import { TableStatistics } from './table-statistics.service';
import { MigrationsRunner, SERVICE_SCHEMA } from './migrations.runner';
import { ReadinessService } from './readiness.service';
import { KAFKA, SERVICE_CONFIG, SERVICE_LOGGER, SERVICE_NAME } from './tokens';

export interface KizunaServiceOptions {
  /** Service name: consumer group `<KAFKA_GROUP_PREFIX>.<name>`, CloudEvents source `kizuna/<name>`. */
  name: string;
  config: ServiceConfig;
  logger: Logger;
  data: ServiceDataSpec;
  /** Injected clock; the system clock unless a test or a replay provides one. */
  clock?: Clock;
  /** How Kafka sockets are opened (kafkajs socketFactory), when not the default. */
  kafkaSocketFactory?: ISocketFactory;
  /** Bearer-token settings; read from the environment (AUTH_*) when not given. */
  auth?: AuthConfig;
}

/**
 * Everything a Kizuna service shares: validated config, clock, logger, its Postgres schema
 * (TypeORM, migrations at startup, inbox/outbox tables), Kafka (publisher, consumer runner,
 * outbox relay, topic creation), inbox retention, the /health and /metrics endpoints, and the global default-deny
 * bearer-token guard (every route needs @Roles or @NoBearerAuth).
 */
@Global()
@Module({})
export class KizunaServiceModule {
  static forRoot(options: KizunaServiceOptions): DynamicModule {
    const { name, config, logger } = options;
    const spec = options.data;
    const auth = options.auth ?? loadConfig(AuthConfig);
    const verifier = new JwtVerifier(auth);
    return {
      module: KizunaServiceModule,
      imports: [
        DiscoveryModule,
        TypeOrmModule.forRoot({
          ...dataSourceOptions(spec, { url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: `kizuna-${name}` }),
          retryAttempts: 3,
          retryDelay: 1000,
        }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: SERVICE_NAME, useValue: name },
        { provide: AuthConfig, useValue: auth },
        { provide: JwtVerifier, useFactory: async () => (await verifier.ready(), verifier) },
        { provide: APP_GUARD, useExisting: BearerAuthGuard },
        BearerAuthGuard,
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: SERVICE_LOGGER, useValue: logger },
        { provide: SERVICE_SCHEMA, useValue: options.data.schema },
        { provide: CLOCK, useValue: options.clock ?? new SystemClock() },
        {
          provide: KAFKA,
          useFactory: () =>
            createKafka({
              clientId: `kizuna-${name}`,
              brokers: kafkaBrokers(config),
              logger: logger.child({ component: 'kafka' }),
              ...(options.kafkaSocketFactory ? { socketFactory: options.kafkaSocketFactory } : {}),
            }),
        },
        {
          provide: EventPublisher,
          inject: [KAFKA, CLOCK],
          useFactory: (kafka: Kafka, clock: Clock) => new EventPublisher(kafka, `kizuna/${name}`, clock, { compression: config.KAFKA_COMPRESSION }),
        },
        {
          provide: ConsumerRunner,
          inject: [KAFKA, EventPublisher, CLOCK],
          useFactory: (kafka: Kafka, publisher: EventPublisher, clock: Clock) =>
            new ConsumerRunner(kafka, publisher, {
              groupId: `${config.KAFKA_GROUP_PREFIX}.${name}`,
              maxAttempts: config.KAFKA_MAX_ATTEMPTS,
              retryBackoffMs: config.KAFKA_RETRY_BACKOFF_MS,
              partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENCY,
              keyConcurrency: config.KAFKA_KEY_CONCURRENCY,
              groupMembers: config.KAFKA_GROUP_MEMBERS,
              maxBatchSize: config.KAFKA_MAX_BATCH,
              laneYieldMs: config.KAFKA_LANE_YIELD_MS,
              laneFetchBytes: config.KAFKA_LANE_FETCH_BYTES,
              lagCacheMs: config.KAFKA_LAG_CACHE_MS,
              sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
              heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
              rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
              logger: logger.child({ component: 'consumer' }),
              clock,
            }),
        },
        {
          provide: OutboxRelay,
          inject: [DataSource, EventPublisher],
          useFactory: (ds: DataSource, publisher: EventPublisher) => new OutboxRelay(ds, publisher, logger.child({ component: 'outbox' }), { retainMs: Math.max(config.OUTBOX_RETAIN_MS, spec.outboxRetainMs ?? 0) }),
        },
        MigrationsRunner,
        InboxRetention,
        TableStatistics,
        MessagingLifecycle,
        ReadinessService,
      ],
      exports: [AuthConfig, JwtVerifier, BearerAuthGuard, SERVICE_NAME, SERVICE_CONFIG, SERVICE_LOGGER, CLOCK, KAFKA, EventPublisher, ConsumerRunner, OutboxRelay, ReadinessService, InboxRetention],
    };
  }
}
