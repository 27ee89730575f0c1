import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import {
  compressionType, installKafkaCodecs, type KafkaCompression,
  createEvent, eventHeaders, topicOf, type Clock, type CloudEvent, type EventType, type NewEvent,
} from '@kizuna/shared/contracts';
import { KizunaAttr, MessagingAttr } from './semconv';
import { messagingMetrics } from './messaging-metrics';
import { installFastRecordCodecs } from './kafkajs-record-codecs';
import { installRequestQueueTimerFix } from './kafkajs-request-queue';
import { Murmur2Partitioner } from './murmur2-partitioner';

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

/** The message's own headers with the given context's traceparent/tracestate in place of theirs. */
function traceHeaders(own: Record<string, string> | undefined, ctx: Context): Record<string, string> {
  const headers: Record<string, string> = { ...(own ?? {}) };
  delete headers['traceparent'];
  delete headers['tracestate'];
  propagation.inject(ctx, headers);
  return headers;
}

/** Upper bound of messages coalesced into one produce request. */
const MAX_BATCH_MESSAGES = 10_000;
/**
 * Upper bound of the bytes (about) coalesced into one produce request. A broker reads a request into
 * one buffer; with Kafka's default heap (1 GB) G1's regions are 1 MB and any buffer of 512 KB or more
 * is a humongous allocation, which starts a garbage collection each time: requests above that cost a
 * broker several times the CPU (measured: 78 % of a core at 27,000 events/s with ~1.5 MB requests,
 * 28-34 % with the regions at 16 MB).
 */
export const MAX_REQUEST_BYTES = 384 * 1024;
/** What a message adds to a produce request, about: key, value, headers and the record's framing. */
const approxBytes = (m: Message): number => {
  let n = 24 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const k in m.headers) n += k.length + String(m.headers[k]).length + 2;
  return n;
};

/** The batch's messages by topic, cut into requests of about MAX_REQUEST_BYTES at most (at least one message each). */
function requestsOf(batch: QueuedSend[]): Map<string, Message[]>[] {
  const requests: Map<string, Message[]>[] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  for (const p of batch) {
    for (const { topic, message } of p.messages) {
      const size = approxBytes(message);
      if (bytes > 0 && bytes + size > MAX_REQUEST_BYTES) {
        requests.push(current);
        current = new Map();
        bytes = 0;
      }
      const list = current.get(topic);
      if (list) list.push(message);
      else current.set(topic, [message]);
      bytes += size;
    }
  }
  if (bytes > 0) requests.push(current);
  return requests;
}

interface QueuedSend {
  messages: { topic: string; message: Message }[];
  /** approxBytes of the messages. */
  bytes: number;
  spans: Span[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Publishes CloudEvents to Kafka: idempotent producer, keyed by accountId (the subject),
 * W3C trace context and the EventHeader fields (type, product event name) in the headers, one producer span per call.
 * Resolves only when the broker has acknowledged every message (acks = all).
 */
export class EventPublisher {
  private readonly producer: Producer;
  private connected?: Promise<void>;
  private readonly queue: QueuedSend[] = [];
  private flushing = false;
  private readonly compression: CompressionTypes;

  constructor(
    kafka: Kafka,
    /** CloudEvents `source`, e.g. "kizuna/health-scoring". */
    readonly source: string,
    private readonly clock: Clock,
    /** KAFKA_COMPRESSION of the record batches sent (default none: see kafka-compression.ts). */
    options: { compression?: KafkaCompression } = {},
  ) {
    installFastRecordCodecs(); // before the first produce or fetch (ConsumerRunner takes a publisher): see kafkajs-record-codecs.ts
    installRequestQueueTimerFix(); // no TimeoutNegativeWarning from kafkajs's request queue: see kafkajs-request-queue.ts
    installKafkaCodecs(); // its consumers read zstd batches whatever this producer sends
    this.compression = compressionType(options.compression ?? 'none');
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Murmur2Partitioner,
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
        headers: eventHeaders(env),
        eventId: env.id,
        eventType: env.type,
      })),
    );
    return envelopes;
  }

  /**
   * Sends prepared messages and resolves once the broker acknowledged them (acks = all).
   * Concurrent calls are coalesced: while one produce request is in flight, later calls queue and
   * go out together in the next one (natural batching, no added latency when idle), up to about
   * MAX_REQUEST_BYTES per request (a larger call goes in several, one after the other). Order is kept
   * within a call and across calls. One producer span per call and trace continued: messages in the
   * caller's context share one, and so do messages passing the same `parent` object (the outbox
   * relay passes one per distinct stored trace context: a backfill range's changes share theirs).
   */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    const prepared = this.prepare(messages);
    let bytes = 0;
    for (const m of prepared.messages) bytes += approxBytes(m.message);
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ ...prepared, bytes, resolve, reject });
      void this.flush();
    });
  }

  private prepare(messages: OutgoingMessage[]): { messages: { topic: string; message: Message }[]; spans: Span[] } {
    // Messages continuing the same trace (the caller's context, or one `parent` object, as the outbox
    // relay passes for rows written in the same trace) share one span and one set of trace headers.
    const active = context.active();
    const byParent = new Map<Context, OutgoingMessage[]>();
    for (const m of messages) {
      const parent = m.parent ?? active;
      const group = byParent.get(parent);
      if (group) group.push(m);
      else byParent.set(parent, [m]);
    }
    const spans: Span[] = [];
    const headersOf = new Map<Context, Record<string, string>>();
    for (const [parent, group] of byParent) {
      const span = this.startSpan(group, parent);
      spans.push(span);
      headersOf.set(parent, traceHeaders(undefined, trace.setSpan(parent, span)));
    }
    const out = messages.map((m) => {
      const shared = headersOf.get(m.parent ?? active) as Record<string, string>;
      return { topic: m.topic, message: { key: m.key, value: m.value, headers: m.headers ? { ...traceHeaders(m.headers, ROOT_CONTEXT), ...shared } : shared } as Message };
    });
    return { messages: out, spans };
  }

  private startSpan(messages: OutgoingMessage[], parent: Context): Span {
    const topics = [...new Set(messages.map((m) => m.topic))];
    const keys = new Set(messages.map((m) => m.key));
    const types = new Set(messages.map((m) => m.eventType));
    const [only] = messages;
    const single = messages.length === 1 && only;
    return tracer.startSpan(
      `send ${topics.join(',')}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [MessagingAttr.system]: 'kafka',
          [MessagingAttr.destination]: topics.join(','),
          [MessagingAttr.operationType]: 'send',
          [MessagingAttr.operationName]: 'send',
          ...(messages.length > 1 ? { [MessagingAttr.batchCount]: messages.length } : {}),
          ...(keys.size === 1 && only?.key ? { [MessagingAttr.key]: only.key, [KizunaAttr.accountId]: only.key } : {}),
          ...(types.size === 1 && only?.eventType ? { [KizunaAttr.eventType]: only.eventType } : {}),
          ...(single && single.eventId ? { [MessagingAttr.messageId]: single.eventId } : {}),
        },
      },
      parent,
    );
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.takeBatch();
        try {
          // One request, or (a single call larger than MAX_REQUEST_BYTES) several in order, one after the other.
          for (const request of requestsOf(batch)) {
            await this.producer.sendBatch({
              acks: -1,
              compression: this.compression,
              topicMessages: [...request].map(([topic, msgs]) => ({ topic, messages: msgs })),
            });
            const published = messagingMetrics().published;
            for (const [topic, msgs] of request) published.add(msgs.length, { topic });
          }
          for (const p of batch) {
            for (const span of p.spans) span.end();
            p.resolve();
          }
        } catch (e) {
          for (const p of batch) {
            for (const span of p.spans) {
              span.recordException(e as Error);
              span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
              span.end();
            }
            p.reject(e);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Queued calls for the next request, whole calls only, up to MAX_BATCH_MESSAGES and about MAX_REQUEST_BYTES (a larger call goes alone, in requests of its own: see flush). */
  private takeBatch(): QueuedSend[] {
    const batch: QueuedSend[] = [];
    let count = 0;
    let bytes = 0;
    while (this.queue.length) {
      const next = this.queue[0];
      if (!next || (batch.length > 0 && (count + next.messages.length > MAX_BATCH_MESSAGES || bytes + next.bytes > MAX_REQUEST_BYTES))) break;
      batch.push(next);
      count += next.messages.length;
      bytes += next.bytes;
      this.queue.shift();
    }
    return batch;
  }
}
