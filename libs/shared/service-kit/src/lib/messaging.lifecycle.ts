import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { ALL_TOPICS, TOPIC_PREFIX, type EventType } from '@kizuna/shared/contracts';
import { isLaneProcess, type ServiceConfig } from '@kizuna/shared/config';
import {
  ConsumerRunner, EventPublisher, LANE_METADATA, ON_EVENT_BATCH_METADATA, ON_EVENT_METADATA, ONLY_IF_METADATA, OutboxRelay, ensureTopics, type BatchHandler, type HeaderReader,
  type EventHandler,
} from '@kizuna/shared/messaging';
import { KAFKA, SERVICE_CONFIG, SERVICE_LOGGER } from './tokens';
import { LANE_MESSAGES, LaneProcess, laneProcessEntry } from './lane-process';

/**
 * Starts messaging in the right order and stops it in the reverse one:
 * topics -> producer -> outbox relay -> consumer on bootstrap; on shutdown the consumer stops
 * first (in-flight work finishes and is committed), then the relay and the producer,
 * and only then does TypeORM close the database.
 */
@Injectable()
export class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private lanes?: LaneProcess;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
    private readonly publisher: EventPublisher,
    private readonly runner: ConsumerRunner,
    private readonly relay: OutboxRelay,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await ensureTopics(this.kafka, ALL_TOPICS, {
      partitions: this.config.KAFKA_TOPIC_PARTITIONS,
      replication: this.config.KAFKA_TOPIC_REPLICATION,
    });
    if (created.length) this.logger.info({ topics: created }, 'created topics');
    await this.publisher.connect();
    this.registerHandlers();
    if (isLaneProcess()) {
      // The lane process: its lanes only; the parent publishes the outbox (a relay here, at a lower
      // priority, could hold the outbox's lock while the service's own events wait behind it).
      this.runner.runOnly('lanes');
      this.relay.forwardKicks(() => process.send?.(LANE_MESSAGES.outboxKick));
    } else {
      await this.checkOutboxTopics();
      this.relay.start();
      const entry = laneProcessEntry();
      if (this.config.KAFKA_LANES === 'process' && this.runner.hasLanes()) {
        if (entry) {
          this.runner.runOnly('own');
          this.lanes = new LaneProcess({
            entry,
            nice: this.config.KAFKA_LANES_NICE,
            logger: this.logger.child({ component: 'lanes' }),
            stopTimeoutMs: this.config.SHUTDOWN_TIMEOUT_MS,
            onOutboxKick: () => this.relay.kick(),
            onGiveUp: () => {
              process.exitCode = 1;
              process.kill(process.pid, 'SIGTERM');
            },
          });
        } else {
          this.logger.debug('KAFKA_LANES=process: no main script (a test module); the lanes run in this process');
        }
      }
    }
    if (this.runner.topics().length) {
      await this.runner.start();
      this.logger.info({ groups: this.runner.groupsToRun(), lanes: isLaneProcess() ? 'this process' : this.lanes ? 'lane process' : 'inline' }, 'consumer started');
    }
    this.lanes?.start();
  }

  /**
   * Refuses to start when the outbox holds events for topics of another namespace: written under another
   * KAFKA_TOPIC_PREFIX, they would be published where this installation does not read them.
   */
  private async checkOutboxTopics(): Promise<void> {
    const foreign = await this.relay.foreignTopics(ALL_TOPICS);
    if (foreign.length === 0) return;
    const rows = foreign.reduce((n, f) => n + f.rows, 0);
    throw new Error(
      `the outbox holds ${rows} unpublished event(s) for topics outside this installation's namespace (KAFKA_TOPIC_PREFIX "${TOPIC_PREFIX}"): ` +
        `${foreign.map((f) => `${f.topic} (${f.rows})`).join(', ')}. KAFKA_TOPIC_PREFIX stays what it was when they were written: ` +
        'set it back and let the service publish them before changing it (docs/operations.md)',
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    // The lane process first: it finishes and commits its work, and may still kick the relay.
    await this.lanes?.stop();
    await this.runner.stop();
    await this.relay.stop();
    await this.publisher.disconnect();
  }

  private registerHandlers(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const batchTypes: EventType[] | undefined = Reflect.getMetadata(ON_EVENT_BATCH_METADATA, proto, method);
        if (batchTypes) {
          const onlyIf: ((self: object, header: HeaderReader, key: string | null) => boolean) | undefined = Reflect.getMetadata(ONLY_IF_METADATA, proto, method);
          this.runner.onBatch(batchTypes, (instance[method] as BatchHandler).bind(instance), onlyIf ? { prefilter: (header, key) => onlyIf(instance, header, key) } : {});
        }
        const types: EventType[] | undefined = Reflect.getMetadata(ON_EVENT_METADATA, proto, method);
        const lane: string | undefined = Reflect.getMetadata(LANE_METADATA, proto, method);
        if (lane) this.runner.inLane([...(batchTypes ?? []), ...(types ?? [])], lane);
        if (!types) continue;
        const fn = (instance[method] as EventHandler).bind(instance);
        for (const type of types) this.runner.on(type, fn);
      }
    }
  }
}
