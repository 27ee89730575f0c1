import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import {
  ContractViolation, EventHeader, deadLetterTopic, parseEvent, topicOf, type Clock, type CloudEvent, type EventType,
} from '@kizuna/shared/contracts';
import type { EventPublisher } from './event-publisher';
import { extractTraceContext, headersToStrings } from './trace-headers';
import { KizunaAttr, MessagingAttr } from './semconv';
import { messagingMetrics } from './messaging-metrics';
import type { Admin } from 'kafkajs';
import type { ObservableResult } from '@opentelemetry/api';

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

/** One event of a batch, with the trace context it arrived on (to continue that trace downstream). */
export interface BatchItem<T extends EventType = EventType> {
  event: CloudEvent<T>;
  ctx: MessageContext;
  traceContext: Context;
}

/**
 * Applies consecutive events of one partition together (e.g. in one transaction). When it throws,
 * the runner falls back to calling it with one event at a time, with the usual retries and
 * dead-lettering, so one poison event never holds back the others.
 */
export type BatchHandler<T extends EventType = EventType> = (items: BatchItem<T>[]) => Promise<void>;

/** Reads one Kafka header of a message, without parsing its value. */
export type HeaderReader = (name: string) => string | undefined;

/**
 * Decides from a message's headers and key alone whether a batch handler wants it (false: the message is
 * passed over unparsed, as an event of a type the service does not handle would be). A message
 * without the headers it looks for must be kept: it is then parsed and handled as usual.
 */
export type Prefilter = (header: HeaderReader, key: string | null) => boolean;

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
  /**
   * Keys (accounts) of one partition whose events the service's own group handles at the same time
   * (default 1: one event after the other). Above 1, a run of consecutive events of a partition for
   * per-event handlers is split by key: each key's events in order, up to this many keys at once, and
   * the run's offsets are committed when all of them are done. Lanes and batch handlers are unchanged.
   */
  keyConcurrency?: number;
  /**
   * Consumers this process runs in the service's own group (default 1). The broker shares the
   * partitions out among them as among instances, and each fetches on its own: a kafkajs consumer
   * fetches again only when every batch of its last fetch is done, so with one member an event waits
   * for the slowest batch of any other partition in that fetch; with several, only for those of its
   * member's partitions. Lanes keep one consumer each.
   */
  groupMembers?: number;
  /** How long a lag reading is reused (default 1000 ms; 0 asks the broker at every scrape). */
  lagCacheMs?: number;
  /** Most events handed to one call of a batch handler (default 500). */
  maxBatchSize?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * How long the coordinator waits for the members to rejoin during a rebalance (kafkajs default
   * 60000). After a crash, the restarted instance's join waits up to this long for the dead member.
   */
  rebalanceTimeoutMs?: number;
  /** Fetch long-poll; also bounds how long stop() waits for an idle fetch (kafkajs default 5000). */
  maxWaitTimeMs?: number;
  /**
   * Lanes yield to the service's own group: before each run of events, a lane waits while batches of
   * the service's group are in progress in this process, at most this long (default 250 ms; 0: lanes
   * never wait). Tickets and escalations then get the process's CPU and connections first, and the
   * product stream is applied in the gaps (its lag grows under load, it is never starved).
   */
  laneYieldMs?: number;
  /**
   * Most bytes a lane's fetch asks for per partition (default 64 KiB; the whole fetch 8 times that).
   * kafkajs decodes a fetch response at once, in one turn of the event loop: a lane's fetches stay
   * small so that the service's own group's fetches are not kept waiting behind them. The broker
   * still returns a record batch larger than that whole.
   */
  laneFetchBytes?: number;
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
type Outcome = 'handled' | 'not-handled' | 'dead-lettered' | 'skipped';

interface Parsed {
  message: KafkaMessage;
  event?: CloudEvent;
  invalid?: string;
}

/** A kafkajs consumer group this runner runs: the service's own, or one of its lanes. */
export interface ConsumerGroupPlan {
  groupId: string;
  topics: string[];
  /** The lane's name; undefined for the service's own group. */
  lane?: string;
}

export class ConsumerRunner {
  private readonly handlers = new Map<EventType, EventHandler>();
  private readonly batchHandlers = new Map<EventType, BatchHandler>();
  private readonly prefilters = new Map<string, Prefilter>();
  /** The groups start() runs (runOnly). */
  private which: 'all' | 'own' | 'lanes' = 'all';
  /** Topic → lane: a topic in a lane is consumed by a group of its own, `<groupId>.<lane>`. */
  private readonly topicLanes = new Map<string, string>();
  private consumers: Consumer[] = [];
  private running = false;
  private admin?: Admin;
  private joins = 0;
  /** Batches of the service's own group in progress (lanes yield to them). */
  private priorityInFlight = 0;
  private priorityIdle: (() => void)[] = [];
  private yielding = 0;
  private lagCache?: { at: number; rows: { group: string; topic: string; partition: number; lag: number }[] };
  private readonly observeLag = (result: ObservableResult) => this.reportLag(result);

  constructor(
    private readonly kafka: Kafka,
    private readonly dlqPublisher: EventPublisher,
    private readonly options: ConsumerRunnerOptions,
  ) {}

  get groupId(): string {
    return this.options.groupId;
  }

  /** How many times this consumer joined its group (1 without any rebalance). */
  get groupJoins(): number {
    return this.joins;
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>): this {
    if (this.running) throw new Error(`cannot register a handler for ${type} after the consumer started`);
    if (this.handlers.has(type)) throw new Error(`a handler for ${type} is already registered in ${this.groupId}`);
    this.handlers.set(type, handler as unknown as EventHandler);
    return this;
  }

  /**
   * Registers one handler for several event types that takes runs of consecutive events of a partition
   * at once (see {@link BatchHandler}).
   */
  onBatch<T extends EventType>(types: readonly T[], handler: BatchHandler<T>, options: { prefilter?: Prefilter } = {}): this {
    const h = handler as unknown as BatchHandler;
    for (const type of types) {
      this.on(type, (event, ctx) => h([{ event, ctx, traceContext: context.active() }]));
      this.batchHandlers.set(type, h);
      if (options.prefilter) this.prefilters.set(type, options.prefilter);
    }
    return this;
  }

  /**
   * Whether a message can be passed over without parsing it: its `ce_type` header names a type this
   * runner has no handler for, or a type whose prefilter does not want it. Messages without the
   * header (other producers, events published before it existed) are parsed as always.
   */
  private skippable(message: KafkaMessage): boolean {
    const headers = message.headers;
    if (!headers) return false;
    const read: HeaderReader = (name) => {
      const v = headers[name];
      const first = Array.isArray(v) ? v[0] : v;
      return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
    };
    const type = read(EventHeader.type);
    if (type === undefined) return false;
    if (!this.handlers.has(type as EventType)) return true;
    const prefilter = this.prefilters.get(type);
    return prefilter !== undefined && !prefilter(read, message.key === null ? null : message.key.toString('utf8'));
  }

  /**
   * Puts the topics of these event types in a lane: a consumer group of their own
   * (`<groupId>.<lane>`), with its own fetches, so that a backlog there (e.g. the product stream)
   * never delays the other topics (tickets, escalations), which would otherwise wait behind every
   * fetched product batch. Ordering holds within a partition as before; there is none across topics
   * either way. Processing identity (inbox, dead-letter headers, spans) stays the service's group.
   */
  inLane(types: readonly EventType[], lane: string): this {
    if (this.running) throw new Error(`cannot change lanes after the consumer started`);
    if (!/^[a-z][a-z0-9-]*$/.test(lane)) throw new Error(`lane name "${lane}": lower-case letters, digits and dashes`);
    for (const type of types) {
      const topic = topicOf(type);
      const had = this.topicLanes.get(topic);
      if (had && had !== lane) throw new Error(`topic ${topic} is in lane ${had} already, not ${lane}`);
      this.topicLanes.set(topic, lane);
    }
    return this;
  }

  /** The topics this runner subscribes to, derived from the handled event types. */
  topics(): string[] {
    return [...new Set([...this.handlers.keys()].map((t) => topicOf(t)))].sort();
  }

  /** The consumer groups this runner runs, with their topics: the service's group first, then one per lane. */
  groups(): ConsumerGroupPlan[] {
    const plans = new Map<string, ConsumerGroupPlan>();
    for (const topic of this.topics()) {
      const lane = this.topicLanes.get(topic);
      const groupId = lane ? `${this.groupId}.${lane}` : this.groupId;
      const plan = plans.get(groupId) ?? { groupId, topics: [], ...(lane ? { lane } : {}) };
      plan.topics.push(topic);
      plans.set(groupId, plan);
    }
    return [...plans.values()].sort((a, b) => (a.lane ?? '').localeCompare(b.lane ?? ''));
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Whether some of the registered event types are in a lane. */
  hasLanes(): boolean {
    return this.topicLanes.size > 0 && this.groups().some((p) => p.lane !== undefined);
  }

  /**
   * Which of its groups start() runs: all of them (the default), the service's own group only, or the
   * lanes only (a service whose lanes run in a process of their own: KAFKA_LANES=process). Lag is still
   * reported for every group.
   */
  runOnly(which: 'all' | 'own' | 'lanes'): this {
    if (this.running) throw new Error(`cannot choose the groups to run after the consumer started`);
    this.which = which;
    return this;
  }

  /** The groups start() runs in this process (see runOnly). */
  groupsToRun(): ConsumerGroupPlan[] {
    return this.groups().filter((p) => this.which === 'all' || (this.which === 'lanes') === (p.lane !== undefined));
  }

  async start(): Promise<void> {
    if (this.running || this.handlers.size === 0) return;
    const plans = this.groupsToRun();
    for (const plan of plans) if (plan.lane) await this.seedLaneRetrying(plan);
    const consumers: Consumer[] = [];
    const members: ConsumerGroupPlan[] = plans.flatMap((plan) => Array.from({ length: plan.lane ? 1 : Math.max(1, this.options.groupMembers ?? 1) }, () => plan));
    for (const plan of members) {
      const consumer = this.kafka.consumer({
        groupId: plan.groupId,
        sessionTimeout: this.options.sessionTimeoutMs ?? 30000,
        heartbeatInterval: this.options.heartbeatIntervalMs ?? 3000,
        rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 60000,
        maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 1000,
        ...(plan.lane ? { maxBytesPerPartition: this.options.laneFetchBytes ?? 65536, maxBytes: 8 * (this.options.laneFetchBytes ?? 65536) } : {}),
        allowAutoTopicCreation: false,
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
      });
      consumers.push(consumer);
      this.consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.joins++;
        messagingMetrics().rebalances.add(1, { group: plan.groupId });
      });
      await consumer.connect();
      await consumer.subscribe({ topics: plan.topics, fromBeginning: true });
    }
    this.running = true;
    messagingMetrics().lag.addCallback(this.observeLag);
    for (const [i, consumer] of consumers.entries()) {
      const plan = members[i] as ConsumerGroupPlan;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => (plan.lane ? this.eachBatch(payload, consumer, true) : this.eachPriorityBatch(payload, consumer)),
      });
    }
  }

  /**
   * A lane's group that has never committed starts where the service's group is on the lane's topics
   * (a service upgraded to lanes, or a group moved to the end of its topics before a start): it would
   * otherwise start from the beginning of the topics and re-read all of them.
   */
  private async seedLaneRetrying(plan: ConsumerGroupPlan): Promise<void> {
    // A fresh broker answers "coordinator not available / loading / not the coordinator" for a while
    // (the consumer's own join retries the same way).
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.seedLane(plan);
      } catch (e) {
        // kafkajs gives up after its own retries with a non-retriable wrapper: retry whatever it was, for a while.
        if (attempt >= 40) throw e;
        this.options.logger.debug({ err: { message: (e as Error).message }, group: plan.groupId, attempt }, 'lane offsets not readable yet; retrying');
        await delay(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  private async seedLane(plan: ConsumerGroupPlan): Promise<void> {
    const admin = await this.adminClient();
    const own = await admin.fetchOffsets({ groupId: plan.groupId, topics: plan.topics });
    if (own.some((t) => t.partitions.some((p) => Number(p.offset) >= 0))) return;
    const service = await admin.fetchOffsets({ groupId: this.groupId, topics: plan.topics });
    for (const t of service) {
      const partitions = t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => ({ partition: p.partition, offset: p.offset }));
      if (!partitions.length) continue;
      await admin.setOffsets({ groupId: plan.groupId, topic: t.topic, partitions });
      this.options.logger.info({ group: plan.groupId, from: this.groupId, topic: t.topic, partitions: partitions.length }, 'lane group starts where the service group is');
    }
  }

  private async adminClient(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /** Stops fetching, lets the message in progress finish, commits what is done, then leaves the group(s). */
  async stop(): Promise<void> {
    if (!this.consumers.length) return;
    this.running = false;
    messagingMetrics().lag.removeCallback(this.observeLag);
    const cs = this.consumers;
    this.consumers = [];
    await Promise.all(cs.map((c) => c.disconnect()));
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }

  /**
   * Consumer lag per partition (high watermark minus the group's committed offset), read from the broker
   * at scrape time (at most once per lagCacheMs, default a second), so a consumer stuck in a slow handler still shows its lag.
   */
  async lag(): Promise<{ group: string; topic: string; partition: number; lag: number }[]> {
    if (this.lagCache && Date.now() - this.lagCache.at < (this.options.lagCacheMs ?? 1000)) return this.lagCache.rows;
    const admin = await this.adminClient();
    const rows: { group: string; topic: string; partition: number; lag: number }[] = [];
    const plans = this.groups();
    // Every group's offsets and every topic's ends in parallel: a scrape waits for the slowest, not the sum.
    const [committed, ends] = await Promise.all([
      Promise.all(plans.map(async (p) => ({ group: p.groupId, offsets: await admin.fetchOffsets({ groupId: p.groupId, topics: p.topics }) }))),
      Promise.all(this.topics().map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)).then((x) => new Map(x)),
    ]);
    for (const { group, offsets } of committed) {
      for (const t of offsets) {
        for (const end of ends.get(t.topic) ?? []) {
          const c = t.partitions.find((p) => p.partition === end.partition);
          const from = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
          rows.push({ group, topic: t.topic, partition: end.partition, lag: Math.max(0, Number(end.high) - from) });
        }
      }
    }
    this.lagCache = { at: Date.now(), rows };
    return rows;
  }

  private async reportLag(result: ObservableResult): Promise<void> {
    if (!this.running) return;
    try {
      for (const r of await this.lag()) {
        result.observe(r.lag, { group: r.group, topic: r.topic, partition: String(r.partition) });
      }
    } catch (e) {
      this.options.logger.warn({ err: { message: (e as Error).message } }, 'cannot read consumer lag');
    }
  }

  private async eachPriorityBatch(payload: EachBatchPayload, consumer: Consumer): Promise<void> {
    this.priorityInFlight++;
    try {
      await this.eachBatch(payload, consumer, false);
    } finally {
      if (--this.priorityInFlight === 0) for (const wake of this.priorityIdle.splice(0)) wake();
    }
  }

  /** Runs of lane events waiting for the service's group to finish its batches in progress. */
  get lanesYielding(): number {
    return this.yielding;
  }

  /** A lane's turn: when the service's group has no batch in progress here, or after laneYieldMs. */
  private async yieldToPriority(): Promise<void> {
    const maxMs = this.options.laneYieldMs ?? 250;
    if (this.priorityInFlight === 0 || maxMs <= 0) return;
    this.yielding++;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.priorityIdle = this.priorityIdle.filter((w) => w !== wake);
        resolve();
      }, maxMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.priorityIdle.push(wake);
    }).finally(() => this.yielding--);
  }

  private async eachBatch(payload: EachBatchPayload, consumer: Consumer, lane: boolean): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    this.recordAges(batch.topic, batch.messages);
    const maxBatch = this.options.maxBatchSize ?? 500;
    let lastDone: string | undefined;
    let run: Parsed[] = [];
    let runHandler: BatchHandler | undefined;
    const done = async (offset: string) => {
      resolveOffset(offset);
      lastDone = offset;
      await heartbeat();
    };
    // Messages passed over unparsed (see skippable) while a run was pending: done once the run is.
    let skippedTail: string | undefined;
    let skipped = 0;
    // Per-event messages handled by key, concurrently (keyConcurrency > 1, the service's own group only).
    const byKey = !lane && (this.options.keyConcurrency ?? 1) > 1;
    let keyed: Parsed[] = [];
    const flushKeyed = async () => {
      if (keyed.length === 0) return;
      const items = keyed;
      keyed = [];
      if (await this.processByKey(batch.topic, batch.partition, items, heartbeat)) await done((items[items.length - 1] as Parsed).message.offset);
    };
    const flush = async () => {
      await flushKeyed();
      if (run.length === 0 || !runHandler) return;
      if (lane) await this.yieldToPriority();
      const items = run;
      const handler = runHandler;
      run = [];
      runHandler = undefined;
      if (items.length === 1 && items[0]) {
        await this.processMessage(batch.topic, batch.partition, items[0], heartbeat);
        await done(items[0].message.offset);
      } else {
        // One by one after a failure: each event is done as soon as it is.
        await this.processRun(batch.topic, batch.partition, items, handler, heartbeat, done);
      }
      const tail = skippedTail;
      skippedTail = undefined;
      if (tail !== undefined && this.running && (lastDone === undefined || BigInt(tail) > BigInt(lastDone))) await done(tail);
    };
    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        if (this.skippable(message)) {
          skipped++;
          if (keyed.length) await flushKeyed();
          if (run.length) skippedTail = message.offset;
          else await done(message.offset);
          continue;
        }
        const parsed = this.parse(message);
        const batchHandler = parsed.event ? this.batchHandlers.get(parsed.event.type) : undefined;
        if (batchHandler) {
          if (runHandler !== batchHandler || run.length >= maxBatch) await flush();
          run.push(parsed);
          runHandler = batchHandler;
          continue;
        }
        if (byKey) {
          if (run.length) await flush();
          keyed.push(parsed);
          if (keyed.length >= maxBatch) await flushKeyed();
          continue;
        }
        await flush();
        if (lane) await this.yieldToPriority();
        await this.processMessage(batch.topic, batch.partition, parsed, heartbeat);
        await done(message.offset);
      }
      if (isRunning() && !isStale()) await flush();
    } finally {
      if (skipped) messagingMetrics().processed.add(skipped, { group: this.groupId, topic: batch.topic, outcome: 'skipped' });
      if (lastDone !== undefined && !isStale()) {
        const next = (BigInt(lastDone) + 1n).toString();
        if (isRunning()) await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        // Stopping: kafkajs's consumer.commitOffsets is a no-op once stop() began, but the work finished in
        // flight must be committed before the group is left (else it is redelivered after the restart).
        else await payload.commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      }
    }
  }

  /** How old each message of a batch is as the batch arrives here (see kizuna.consumer.record.age). */
  private recordAges(topic: string, messages: KafkaMessage[]): void {
    const now = Date.now();
    const attributes = { group: this.groupId, topic };
    const histogram = messagingMetrics().recordAge;
    for (const m of messages) {
      const at = Number(m.timestamp);
      // A producer's clock ahead of this one reads as age 0, not as a negative age.
      if (at > 0) histogram.record(Math.max(0, now - at) / 1000, attributes);
    }
  }

  private measure(topic: string, outcome: Outcome | 'failed', count: number, startedAt: number): void {
    const m = messagingMetrics();
    const attributes = { group: this.groupId, topic, outcome };
    m.processed.add(count, attributes);
    m.processDuration.record((performance.now() - startedAt) / 1000, attributes);
  }

  private parse(message: KafkaMessage): Parsed {
    try {
      return { message, event: parseEvent(message.value) };
    } catch (e) {
      return { message, invalid: e instanceof ContractViolation ? e.message : String(e) };
    }
  }

  private messageContext(topic: string, partition: number, message: KafkaMessage, attempt: number): MessageContext {
    return { group: this.groupId, topic, partition, offset: message.offset, attempt, headers: headersToStrings(message.headers) };
  }

  /**
   * A run of events for one batch handler: one consumer span linked to every event's trace. When the
   * handler fails, each event is processed on its own (retries, dead-lettering) instead.
   */
  private async processRun(
    topic: string,
    partition: number,
    run: Parsed[],
    handler: BatchHandler,
    heartbeat: () => Promise<void>,
    done: (offset: string) => Promise<void>,
  ): Promise<void> {
    const items: BatchItem[] = [];
    const links: Link[] = [];
    for (const p of run) {
      const ctx = this.messageContext(topic, partition, p.message, 1);
      const traceContext = extractTraceContext(ctx.headers);
      const sc = trace.getSpanContext(traceContext);
      if (sc) links.push({ context: sc });
      items.push({ event: p.event as CloudEvent, ctx, traceContext });
    }
    const first = run[0]?.message.offset ?? '0';
    const span = tracer.startSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          [MessagingAttr.system]: 'kafka',
          [MessagingAttr.destination]: topic,
          [MessagingAttr.operationType]: 'process',
          [MessagingAttr.operationName]: 'process',
          [MessagingAttr.consumerGroup]: this.groupId,
          [MessagingAttr.partition]: String(partition),
          [MessagingAttr.offset]: Number(first),
          [MessagingAttr.batchCount]: run.length,
        },
      },
      ROOT_CONTEXT,
    );
    let failed = false;
    const started = performance.now();
    try {
      await context.with(trace.setSpan(ROOT_CONTEXT, span), () => this.keepingAlive(heartbeat, () => handler(items)));
      span.setAttribute(KizunaAttr.outcome, 'handled');
      this.measure(topic, 'handled', run.length, started);
    } catch (e) {
      failed = true;
      const err = e as Error;
      span.recordException(err);
      span.setAttribute(KizunaAttr.outcome, 'retried-one-by-one');
      this.options.logger.warn(
        { err: { message: err.message, name: err.name }, topic, partition, fromOffset: first, count: run.length },
        'batch handler failed; processing the events one by one',
      );
    } finally {
      span.end();
    }
    if (!failed) {
      const last = run[run.length - 1];
      if (last) await done(last.message.offset);
      return;
    }
    for (const p of run) {
      if (!this.running) return; // stopping: the rest is left uncommitted, for redelivery
      await this.processMessage(topic, partition, p, heartbeat);
      await done(p.message.offset);
    }
  }

  /**
   * Messages of one partition for per-event handlers, by key: each key's messages in their order, up to
   * keyConcurrency keys at once (a message without a key is a key of its own kind: those stay in order
   * too). True when every message was processed; false when the runner stopped first, so the caller
   * commits nothing of them (they are redelivered, and the inboxes absorb what was applied). A failure
   * that processMessage could not turn into a dead letter is thrown once every key has finished.
   */
  private async processByKey(topic: string, partition: number, items: Parsed[], heartbeat: () => Promise<void>): Promise<boolean> {
    const keys = new Map<string, Parsed[]>();
    for (const p of items) {
      const key = p.message.key === null ? '\u0000' : p.message.key.toString('latin1');
      const chain = keys.get(key);
      if (chain) chain.push(p);
      else keys.set(key, [p]);
    }
    const chains = [...keys.values()];
    let next = 0;
    let complete = true;
    const worker = async () => {
      for (let chain = chains[next++]; chain; chain = chains[next++]) {
        for (const p of chain) {
          if (!this.running) {
            complete = false;
            return;
          }
          await this.processMessage(topic, partition, p, heartbeat);
        }
      }
    };
    const workers = Math.min(this.options.keyConcurrency ?? 1, chains.length);
    const results = await Promise.allSettled(Array.from({ length: workers }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return complete;
  }

  private async processMessage(topic: string, partition: number, parsed: Parsed, heartbeat: () => Promise<void>): Promise<void> {
    const { message } = parsed;
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
    const started = performance.now();
    let outcome: Outcome | 'failed' = 'failed';
    try {
      outcome = await context.with(trace.setSpan(parent, span), () => this.handle(topic, partition, parsed, headers, span, heartbeat));
    } finally {
      span.end();
      this.measure(topic, outcome, 1, started);
    }
  }


  private async handle(
    topic: string,
    partition: number,
    parsed: Parsed,
    headers: Record<string, string>,
    span: Span,
    heartbeat: () => Promise<void>,
  ): Promise<Outcome> {
    const { message, event } = parsed;
    if (!event) {
      span.setAttribute(KizunaAttr.outcome, 'dead-lettered');
      await this.deadLetter(topic, partition, message, 'invalid-message', parsed.invalid ?? 'invalid message', 1);
      return 'dead-lettered';
    }
    span.setAttribute(MessagingAttr.messageId, event.id);
    span.setAttribute(KizunaAttr.eventType, event.type);
    span.setAttribute(KizunaAttr.accountId, event.subject);
    const handler = this.handlers.get(event.type);
    if (!handler) {
      // A valid event this service has no use for (topics carry several types).
      span.setAttribute(KizunaAttr.outcome, 'not-handled');
      return 'not-handled';
    }
    const { maxAttempts, retryBackoffMs } = this.options;
    const maxBackoff = this.options.maxBackoffMs ?? 30000;
    for (let attempt = 1; ; attempt++) {
      span.setAttribute(KizunaAttr.attempt, attempt);
      try {
        await this.keepingAlive(heartbeat, () => handler(event, { group: this.groupId, topic, partition, offset: message.offset, attempt, headers }));
        span.setAttribute(KizunaAttr.outcome, 'handled');
        return 'handled';
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
          return 'dead-lettered';
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

  /**
   * Runs a handler while heartbeating every heartbeat interval, so a slow handler (minutes) keeps the
   * group membership and causes no rebalance. A heartbeat that fails (a rebalance under way) is left to
   * the next one; the offset of unfinished work is never committed.
   */
  private async keepingAlive<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), this.options.heartbeatIntervalMs ?? 3000);
    try {
      return await work();
    } finally {
      clearInterval(timer);
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
        messagingMetrics().deadLettered.add(1, { group: this.groupId, topic, reason });
        return;
      } catch (e) {
        if (!this.running) throw e;
        this.options.logger.error({ err: { message: (e as Error).message }, topic }, 'cannot write to the dead-letter topic; retrying');
        await delay(Math.min(10000, 500 * 2 ** i));
      }
    }
  }
}
