/**
 * Kafka topic names. Every topic carries CloudEvents envelopes keyed by accountId, except
 * `cs.ingest.rejected.v1` (keyed `source:<sourceId>`) and `cs.roster.v1` (keyed `csm:<csmId>`,
 * compacted: see {@link COMPACTED_TOPICS}).
 * A topic's dead-letter twin is `<topic>.dlq` (see {@link deadLetterTopic}).
 */
export const Topics = {
  product: 'cs.product.v1',
  directory: 'cs.directory.v1',
  support: 'cs.support.v1',
  survey: 'cs.survey.v1',
  billing: 'cs.billing.v1',
  ingestRejected: 'cs.ingest.rejected.v1',
  health: 'cs.health.v1',
  lifecycle: 'cs.lifecycle.v1',
  escalation: 'cs.escalation.v1',
  notification: 'cs.notification.v1',
  roster: 'cs.roster.v1',
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
