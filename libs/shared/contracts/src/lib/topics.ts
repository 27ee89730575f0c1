/**
 * The installation's topic namespace, `KAFKA_TOPIC_PREFIX` (empty by default; e.g. `staging.`): it is
 * put before every topic name below, so several installations share one Kafka cluster without
 * reading each other's events. The tests give every test file its own (tools/testing/namespace.ts).
 * Read once, when this module loads, and kept for an installation's life: outbox rows name the topic
 * they are published to.
 */
export const TOPIC_PREFIX = topicPrefix(process.env['KAFKA_TOPIC_PREFIX']);

function topicPrefix(value: string | undefined): string {
  const prefix = value ?? '';
  // Kafka's legal topic characters; the longest name below plus ".dlq" stays under Kafka's 249.
  if (!/^[A-Za-z0-9._-]{0,200}$/.test(prefix)) {
    throw new Error(`KAFKA_TOPIC_PREFIX may only contain letters, digits, ".", "_" and "-", at most 200 of them (got "${prefix}")`);
  }
  return prefix;
}

const named = <T extends string>(name: T) => `${TOPIC_PREFIX}${name}` as `${string}${T}`;

/**
 * Kafka topic names (each after {@link TOPIC_PREFIX}). Every topic carries CloudEvents envelopes
 * keyed by accountId, except `cs.ingest.rejected.v1` (keyed `source:<sourceId>`) and `cs.roster.v1`
 * (keyed `csm:<csmId>`, compacted: see {@link COMPACTED_TOPICS}).
 * A topic's dead-letter twin is `<topic>.dlq` (see {@link deadLetterTopic}).
 */
export const Topics = {
  product: named('cs.product.v1'),
  directory: named('cs.directory.v1'),
  support: named('cs.support.v1'),
  survey: named('cs.survey.v1'),
  billing: named('cs.billing.v1'),
  ingestRejected: named('cs.ingest.rejected.v1'),
  health: named('cs.health.v1'),
  lifecycle: named('cs.lifecycle.v1'),
  escalation: named('cs.escalation.v1'),
  notification: named('cs.notification.v1'),
  roster: named('cs.roster.v1'),
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const ALL_TOPICS: readonly TopicName[] = Object.values(Topics);

/**
 * Topics whose latest event per key is the whole state of that key: created with
 * `cleanup.policy=compact`, so a consumer starting from the beginning still sees every key.
 */
export const COMPACTED_TOPICS: readonly TopicName[] = [Topics.roster];

export const DEAD_LETTER_SUFFIX = '.dlq';

export function deadLetterTopic(topic: string): string {
  return `${topic}${DEAD_LETTER_SUFFIX}`;
}
