import type { Kafka, KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_SUFFIX } from '@kizuna/shared/contracts';
import { DlqHeader } from './consumer-runner';
import { headersToStrings } from './trace-headers';

export interface DeadLetter {
  partition: number;
  offset: string;
  key: string | null;
  reason: string;
  error: string;
  group: string;
  originalTopic: string;
  attempts: number;
  failedAt: string;
}

export interface ReplayOptions {
  /** Only dead letters whose reason (invalid-message, handler-failed, permanent-error) is this. */
  reason?: string;
  /** Only dead letters written by this consumer group. */
  group?: string;
  /** Count what would be replayed, send nothing and remember nothing. */
  dryRun?: boolean;
  /** Called for each replayed (or, in a dry run, matching) dead letter. */
  onMessage?: (d: DeadLetter) => void;
}

export interface ReplayResult {
  replayed: number;
  skipped: number;
}

/** The consumer group that remembers how far the dead letters of `dlqTopic` were replayed. */
export const replayGroupOf = (dlqTopic: string) => `kizuna.dlq-replay.${dlqTopic}`;

function describe(partition: number, m: KafkaMessage): DeadLetter {
  const h = headersToStrings(m.headers);
  return {
    partition,
    offset: m.offset,
    key: m.key?.toString('utf8') ?? null,
    reason: h[DlqHeader.reason] ?? '',
    error: h[DlqHeader.error] ?? '',
    group: h[DlqHeader.group] ?? '',
    originalTopic: h[DlqHeader.topic] ?? '',
    attempts: Number(h[DlqHeader.attempts] ?? 0),
    failedAt: h[DlqHeader.failedAt] ?? '',
  };
}

/**
 * Moves dead letters back to the topic they came from, once the cause is fixed: each message keeps its
 * key, value and original headers (trace context included), loses the kizuna-dlq-* headers and gains
 * `kizuna-replayed-from`. Consumers' inboxes make a replay of an event that was applied elsewhere
 * harmless. How far a topic was replayed is kept as the offsets of a consumer group of its own
 * ({@link replayGroupOf}), so running it twice replays nothing twice; it stops at the end of the topic
 * as it was when it started.
 */
export async function replayDeadLetters(kafka: Kafka, dlqTopic: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  if (!dlqTopic.endsWith(DEAD_LETTER_SUFFIX)) throw new Error(`${dlqTopic} is not a dead-letter topic (it must end with ${DEAD_LETTER_SUFFIX})`);
  const groupId = replayGroupOf(dlqTopic);
  const admin = kafka.admin();
  await admin.connect();
  let remaining: Map<number, bigint>;
  try {
    const ends = await admin.fetchTopicOffsets(dlqTopic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [dlqTopic] });
    // Partitions with dead letters past the group's offset, and where to stop (the end as of now).
    remaining = new Map(
      ends
        .filter((e) => {
          const c = committed?.partitions.find((p) => p.partition === e.partition);
          const from = c && Number(c.offset) >= 0 ? BigInt(c.offset) : BigInt(e.low);
          return from < BigInt(e.high);
        })
        .map((e) => [e.partition, BigInt(e.high)]),
    );
  } finally {
    await admin.disconnect();
  }
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  if (remaining.size === 0) return result;

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
  await Promise.all([producer.connect(), consumer.connect()]);
  try {
    await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch, heartbeat }) => {
            const until = remaining.get(batch.partition);
            if (until === undefined) return;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= until) break;
              const d = describe(batch.partition, m);
              const wanted = (!options.reason || d.reason === options.reason) && (!options.group || d.group === options.group);
              if (wanted && d.originalTopic) {
                options.onMessage?.(d);
                if (!options.dryRun) {
                  const headers = Object.fromEntries(Object.entries(headersToStrings(m.headers)).filter(([k]) => !k.startsWith('kizuna-dlq-')));
                  headers['kizuna-replayed-from'] = `${dlqTopic}:${batch.partition}:${m.offset}`;
                  await producer.send({ topic: d.originalTopic, acks: -1, messages: [{ key: m.key, value: m.value, headers }] });
                }
                result.replayed++;
              } else {
                result.skipped++;
              }
              const next = (BigInt(m.offset) + 1n).toString();
              if (!options.dryRun) await consumer.commitOffsets([{ topic: dlqTopic, partition: batch.partition, offset: next }]);
              await heartbeat();
              if (BigInt(next) >= until) remaining.delete(batch.partition);
            }
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
  return result;
}
