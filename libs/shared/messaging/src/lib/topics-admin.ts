import type { Kafka } from 'kafkajs';
import { COMPACTED_TOPICS, deadLetterTopic } from '@kizuna/shared/contracts';

export interface TopicSettings {
  partitions: number;
  replication: number;
}

/** Topic-level settings at creation: the state topics (COMPACTED_TOPICS) keep the latest event per key. */
export function topicConfig(topic: string): { name: string; value: string }[] {
  return (COMPACTED_TOPICS as readonly string[]).includes(topic) ? [{ name: 'cleanup.policy', value: 'compact' }] : [];
}

const RACING_CREATION = new Set(['TOPIC_ALREADY_EXISTS', 'UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_CONTROLLER']);

/**
 * Creates each topic and its dead-letter twin when missing (topics are never auto-created).
 * Existing topics are left as they are. The state topics are created compacted (topicConfig).
 * Returns the names it created.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly string[], settings: TopicSettings): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = [...new Set(topics.flatMap((t) => (t.endsWith('.dlq') ? [t] : [t, deadLetterTopic(t)])))];
    // Several services (or test suites) may create the same topics at once on a fresh broker: the
    // loser sees "already exists", or metadata of topics whose leaders are still being elected.
    for (let attempt = 1; ; attempt++) {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((t) => !existing.has(t));
      if (missing.length === 0) return [];
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: settings.partitions, replicationFactor: settings.replication, configEntries: topicConfig(topic) })),
        });
        return missing;
      } catch (e) {
        const type = (e as { type?: string }).type ?? '';
        if (attempt >= 10 || !RACING_CREATION.has(type)) throw e;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
