import { waitFor } from './wait-for';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { COMPACTED_TOPICS, installKafkaCodecs } from '@kizuna/shared/contracts';

export function testKafka(brokers = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092'): Kafka {
  // kafkajs reports retried, harmless errors (e.g. "coordinator is loading" on a fresh broker) loudly;
  // KIZUNA_TEST_KAFKA_LOG=debug shows them.
  const level = process.env['KIZUNA_TEST_KAFKA_LOG'] === 'debug' ? logLevel.DEBUG : logLevel.NOTHING;
  installKafkaCodecs(); // the services' batches are zstd
  return new Kafka({
    clientId: `kizuna-test-${randomUUID().slice(0, 8)}`,
    brokers: brokers.split(','),
    logLevel: level,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

export interface RecordedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

function toRecorded(topic: string, partition: number, m: KafkaMessage): RecordedMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return { topic, partition, offset: m.offset, key: m.key?.toString('utf8') ?? null, value: m.value?.toString('utf8') ?? null, headers };
}

/**
 * Reads topics from the beginning in a throw-away consumer group and keeps the messages that
 * match `filter` (tests use unique account ids as keys, so history does not interfere).
 */
export class TopicRecorder {
  readonly messages: RecordedMessage[] = [];
  private consumer?: Consumer;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: string[],
    private readonly filter: (m: RecordedMessage) => boolean = () => true,
  ) {}

  async start(): Promise<this> {
    const consumer = this.kafka.consumer({
      groupId: `kizuna-test-recorder-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    await consumer.connect();
    // A topic just created (by the service under test) can be unknown to the broker's metadata for
    // a moment, and kafkajs's subscribe does not retry that: retry until the broker knows them.
    await waitFor(`the broker's metadata of ${this.topics.join(', ')}`, async () => {
      await consumer.subscribe({ topics: this.topics, fromBeginning: true });
      return true;
    });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const r = toRecorded(topic, partition, message);
        if (this.filter(r)) this.messages.push(r);
      },
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}


/**
 * Makes a new consumer group start at the current end of the topics (creating them if needed), so a
 * service under test sees only the events its test sends, not the backlog other suites left on the
 * shared broker. Call before the service's consumer starts.
 */
export async function startConsumerGroupAtEnd(kafka: Kafka, groupId: string, topics: readonly string[], partitions = 6): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) await admin.createTopics({
      topics: missing.map((topic) => ({
        topic, numPartitions: partitions, ...((COMPACTED_TOPICS as readonly string[]).includes(topic) ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
      })),
      waitForLeaders: true,
    }).catch(() => undefined);
    for (const topic of topics) {
      // Just-created topics answer "not the leader" until their leaders are elected.
      const ends = await waitFor(`the end offsets of ${topic}`, () => admin.fetchTopicOffsets(topic).catch(() => undefined));
      await admin.setOffsets({ groupId, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    }
  } finally {
    await admin.disconnect();
  }
}
