import type { Kafka } from 'kafkajs';
import { deadLetterTopic } from '@kizuna/shared/contracts';

export interface TopicSettings {
  partitions: number;
  replication: number;
}

/**
 * Creates each topic and its dead-letter twin when missing (topics are never auto-created).
 * Existing topics are left as they are. Returns the names it created.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly string[], settings: TopicSettings): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = [...new Set(topics.flatMap((t) => (t.endsWith('.dlq') ? [t] : [t, deadLetterTopic(t)])))];
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: settings.partitions,
        replicationFactor: settings.replication,
      })),
    });
    return missing;
  } catch (e) {
    // Another service may have created the same topic a moment earlier.
    if ((e as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return [];
    throw e;
  } finally {
    await admin.disconnect();
  }
}
