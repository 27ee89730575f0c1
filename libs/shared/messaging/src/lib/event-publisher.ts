import { context, propagation, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import {
  createEvent, topicOf, type Clock, type CloudEvent, type EventType, type NewEvent,
} from '@kizuna/shared/contracts';
import { KizunaAttr, MessagingAttr } from './semconv';

export type AnyNewEvent = { [K in EventType]: NewEvent<K> }[EventType];

/** A message ready to go: used by the outbox relay and the dead-letter path. */
export interface OutgoingMessage {
  topic: string;
  key: string | null;
  value: string | Buffer | null;
  headers?: Record<string, string>;
  /** Trace context the send continues (defaults to the active one). */
  parent?: Context;
  eventId?: string;
  eventType?: string;
}

const tracer = trace.getTracer('kizuna-messaging');

/**
 * Publishes CloudEvents to Kafka: idempotent producer, keyed by accountId (the subject),
 * W3C trace context in the headers, one producer span per message.
 * Resolves only when the broker has acknowledged every message (acks = all).
 */
export class EventPublisher {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(
    kafka: Kafka,
    /** CloudEvents `source`, e.g. "kizuna/health-scoring". */
    readonly source: string,
    private readonly clock: Clock,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((e: unknown) => {
      this.connected = undefined;
      throw e;
    });
    return this.connected;
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    this.connected = undefined;
    await this.producer.disconnect();
  }

  /** Builds envelopes for the given events without sending them (for the outbox). */
  envelope<T extends EventType>(e: NewEvent<T>): CloudEvent<T> {
    return createEvent(this.source, e, this.clock.now());
  }

  /** Publishes events now and returns their envelopes. */
  async publish(events: AnyNewEvent[]): Promise<CloudEvent[]> {
    const envelopes = events.map((e) => this.envelope(e as NewEvent<EventType>) as CloudEvent);
    await this.send(
      envelopes.map((env) => ({
        topic: topicOf(env.type),
        key: env.subject,
        value: JSON.stringify(env),
        eventId: env.id,
        eventType: env.type,
      })),
    );
    return envelopes;
  }

  /** Sends prepared messages, grouped by topic in one request, each with its own producer span. */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    const spans = messages.map((m) => {
      const parent = m.parent ?? context.active();
      const span = tracer.startSpan(
        `send ${m.topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            [MessagingAttr.system]: 'kafka',
            [MessagingAttr.destination]: m.topic,
            [MessagingAttr.operationType]: 'send',
            [MessagingAttr.operationName]: 'send',
            ...(m.key ? { [MessagingAttr.key]: m.key, [KizunaAttr.accountId]: m.key } : {}),
            ...(m.eventId ? { [MessagingAttr.messageId]: m.eventId } : {}),
            ...(m.eventType ? { [KizunaAttr.eventType]: m.eventType } : {}),
          },
        },
        parent,
      );
      const headers: Record<string, string> = { ...(m.headers ?? {}) };
      delete headers['traceparent'];
      delete headers['tracestate'];
      propagation.inject(trace.setSpan(parent, span), headers);
      return { span, message: { key: m.key, value: m.value, headers } as Message, topic: m.topic };
    });
    const byTopic = new Map<string, Message[]>();
    for (const s of spans) {
      const list = byTopic.get(s.topic) ?? [];
      list.push(s.message);
      byTopic.set(s.topic, list);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
      for (const s of spans) s.span.end();
    } catch (e) {
      for (const s of spans) {
        s.span.recordException(e as Error);
        s.span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
        s.span.end();
      }
      throw e;
    }
  }
}
