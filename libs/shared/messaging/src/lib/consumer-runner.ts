import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import {
  ContractViolation, deadLetterTopic, parseEvent, topicOf, type Clock, type CloudEvent, type EventType,
} from '@kizuna/shared/contracts';
import type { EventPublisher } from './event-publisher';
import { extractTraceContext, headersToStrings } from './trace-headers';
import { KizunaAttr, MessagingAttr } from './semconv';

/** Where a consumed event came from, and which attempt this is. */
export interface MessageContext {
  group: string;
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
  headers: Record<string, string>;
}

export type EventHandler<T extends EventType = EventType> = (event: CloudEvent<T>, ctx: MessageContext) => Promise<void>;

/** Thrown by a handler for input that will never succeed: dead-lettered without further retries. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/** Dead-letter headers (the original message's own headers are kept beside them). */
export const DlqHeader = {
  reason: 'kizuna-dlq-reason',
  error: 'kizuna-dlq-error',
  group: 'kizuna-dlq-consumer-group',
  topic: 'kizuna-dlq-original-topic',
  partition: 'kizuna-dlq-original-partition',
  offset: 'kizuna-dlq-original-offset',
  attempts: 'kizuna-dlq-attempts',
  failedAt: 'kizuna-dlq-failed-at',
} as const;

export type DeadLetterReason = 'invalid-message' | 'handler-failed' | 'permanent-error';

export interface ConsumerRunnerOptions {
  groupId: string;
  /** Attempts per message, the first included, before it is dead-lettered. */
  maxAttempts: number;
  /** Base of the exponential backoff between attempts. */
  retryBackoffMs: number;
  maxBackoffMs?: number;
  /** Partitions processed in parallel (ordering holds within a partition). */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Fetch long-poll; also bounds how long stop() waits for an idle fetch (kafkajs default 5000). */
  maxWaitTimeMs?: number;
  logger: Logger;
  clock: Clock;
}

const tracer = trace.getTracer('kizuna-messaging');

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The consumer loop every service uses (instead of the stock Nest transport):
 * kafkajs eachBatch, validation of every message against the contracts, bounded retries with
 * exponential backoff and jitter, dead-letter topic `<topic>.dlq` with the reason, and offsets
 * committed explicitly only after the effect (or the dead-lettering) of each message.
 */
export class ConsumerRunner {
  private readonly handlers = new Map<EventType, EventHandler>();
  private consumer?: Consumer;
  private running = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly dlqPublisher: EventPublisher,
    private readonly options: ConsumerRunnerOptions,
  ) {}

  get groupId(): string {
    return this.options.groupId;
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>): this {
    if (this.running) throw new Error(`cannot register a handler for ${type} after the consumer started`);
    if (this.handlers.has(type)) throw new Error(`a handler for ${type} is already registered in ${this.groupId}`);
    this.handlers.set(type, handler as unknown as EventHandler);
    return this;
  }

  /** The topics this runner subscribes to, derived from the handled event types. */
  topics(): string[] {
    return [...new Set([...this.handlers.keys()].map((t) => topicOf(t)))].sort();
  }

  isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    if (this.running || this.handlers.size === 0) return;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 3000,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 1000,
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics(), fromBeginning: true });
    this.running = true;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Stops fetching, lets the message in progress finish, commits what is done, then leaves the group. */
  async stop(): Promise<void> {
    if (!this.consumer) return;
    this.running = false;
    const c = this.consumer;
    this.consumer = undefined;
    await c.disconnect();
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    let lastDone: string | undefined;
    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        await this.processMessage(batch.topic, batch.partition, message, heartbeat);
        resolveOffset(message.offset);
        lastDone = message.offset;
        await heartbeat();
      }
    } finally {
      if (lastDone !== undefined && this.consumer && !isStale()) {
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(lastDone) + 1n).toString() },
        ]);
      }
    }
  }

  private async processMessage(topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<void> {
    const headers = headersToStrings(message.headers);
    const parent = extractTraceContext(headers);
    const span = tracer.startSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [MessagingAttr.system]: 'kafka',
          [MessagingAttr.destination]: topic,
          [MessagingAttr.operationType]: 'process',
          [MessagingAttr.operationName]: 'process',
          [MessagingAttr.consumerGroup]: this.groupId,
          [MessagingAttr.partition]: String(partition),
          [MessagingAttr.offset]: Number(message.offset),
          ...(message.key ? { [MessagingAttr.key]: message.key.toString('utf8'), [KizunaAttr.accountId]: message.key.toString('utf8') } : {}),
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), () => this.handle(topic, partition, message, headers, span, heartbeat));
    } finally {
      span.end();
    }
  }

  private async handle(
    topic: string,
    partition: number,
    message: KafkaMessage,
    headers: Record<string, string>,
    span: Span,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    let event: CloudEvent;
    try {
      event = parseEvent(message.value);
    } catch (e) {
      const reason = e instanceof ContractViolation ? e.message : String(e);
      span.setAttribute(KizunaAttr.outcome, 'dead-lettered');
      await this.deadLetter(topic, partition, message, 'invalid-message', reason, 1);
      return;
    }
    span.setAttribute(MessagingAttr.messageId, event.id);
    span.setAttribute(KizunaAttr.eventType, event.type);
    span.setAttribute(KizunaAttr.accountId, event.subject);
    const handler = this.handlers.get(event.type);
    if (!handler) {
      // A valid event this service has no use for (topics carry several types).
      span.setAttribute(KizunaAttr.outcome, 'not-handled');
      return;
    }
    const { maxAttempts, retryBackoffMs } = this.options;
    const maxBackoff = this.options.maxBackoffMs ?? 30000;
    for (let attempt = 1; ; attempt++) {
      span.setAttribute(KizunaAttr.attempt, attempt);
      try {
        await handler(event, { group: this.groupId, topic, partition, offset: message.offset, attempt, headers });
        span.setAttribute(KizunaAttr.outcome, 'handled');
        return;
      } catch (e) {
        const err = e as Error;
        span.recordException(err);
        const permanent = err instanceof PermanentError || err instanceof ContractViolation;
        if (permanent || attempt >= maxAttempts) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
          span.setAttribute(KizunaAttr.outcome, 'dead-lettered');
          this.options.logger.error(
            { err: { message: err.message, name: err.name }, topic, partition, offset: message.offset, eventId: event.id, attempt },
            'handler failed; dead-lettering the message',
          );
          await this.deadLetter(topic, partition, message, permanent ? 'permanent-error' : 'handler-failed', `${err.name}: ${err.message}`, attempt);
          return;
        }
        this.options.logger.warn(
          { err: { message: err.message, name: err.name }, topic, partition, offset: message.offset, eventId: event.id, attempt },
          'handler failed; retrying',
        );
        const backoff = Math.min(maxBackoff, retryBackoffMs * 2 ** (attempt - 1));
        await this.pause(backoff / 2 + Math.random() * (backoff / 2), heartbeat);
      }
    }
  }

  /** Waits, heartbeating so that a long backoff does not cost the group membership. */
  private async pause(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await delay(Math.min(1000, until - Date.now()));
      await heartbeat().catch(() => undefined);
    }
  }

  private async deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: DeadLetterReason,
    error: string,
    attempts: number,
  ): Promise<void> {
    const headers: Record<string, string> = {
      ...headersToStrings(message.headers as IHeaders),
      [DlqHeader.reason]: reason,
      [DlqHeader.error]: error.slice(0, 4000),
      [DlqHeader.group]: this.groupId,
      [DlqHeader.topic]: topic,
      [DlqHeader.partition]: String(partition),
      [DlqHeader.offset]: message.offset,
      [DlqHeader.attempts]: String(attempts),
      [DlqHeader.failedAt]: this.options.clock.now().toISOString(),
    };
    // The offset is only committed once the dead letter is stored: keep trying while running.
    for (let i = 0; ; i++) {
      try {
        await this.dlqPublisher.send([
          { topic: deadLetterTopic(topic), key: message.key ? message.key.toString('utf8') : null, value: message.value, headers },
        ]);
        return;
      } catch (e) {
        if (!this.running) throw e;
        this.options.logger.error({ err: { message: (e as Error).message }, topic }, 'cannot write to the dead-letter topic; retrying');
        await delay(Math.min(10000, 500 * 2 ** i));
      }
    }
  }
}
