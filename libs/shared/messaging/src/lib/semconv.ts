/** OpenTelemetry messaging semantic-convention attribute names used on Kafka spans. */
export const MessagingAttr = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  key: 'messaging.kafka.message.key',
  partition: 'messaging.destination.partition.id',
  offset: 'messaging.kafka.offset',
  consumerGroup: 'messaging.consumer.group.name',
  batchCount: 'messaging.batch.message_count',
} as const;

/** Kizuna's own span attributes (never PII: ids and types only). */
export const KizunaAttr = {
  accountId: 'kizuna.account_id',
  eventType: 'kizuna.event_type',
  outcome: 'kizuna.outcome',
  attempt: 'kizuna.attempt',
} as const;
