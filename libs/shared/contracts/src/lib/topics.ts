/**
 * Kafka topic names. Every topic carries CloudEvents envelopes keyed by accountId.
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
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const ALL_TOPICS: readonly TopicName[] = Object.values(Topics);

export const DEAD_LETTER_SUFFIX = '.dlq';

export function deadLetterTopic(topic: string): string {
  return `${topic}${DEAD_LETTER_SUFFIX}`;
}
