import { metrics, type Counter, type Histogram, type ObservableGauge } from '@opentelemetry/api';

interface MessagingInstruments {
  processed: Counter;
  processDuration: Histogram;
  recordAge: Histogram;
  outboxDelay: Histogram;
  deadLettered: Counter;
  rebalances: Counter;
  lag: ObservableGauge;
  published: Counter;
  outboxBacklog: ObservableGauge;
}

let instruments: MessagingInstruments | undefined;

/** Buckets of the latency histograms (seconds): fine below a second, where the targets are. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300];

/**
 * Kafka and outbox instruments, scraped at each service's GET /metrics. Created on first use: a meter
 * taken before telemetry starts would stay a no-op.
 */
export function messagingMetrics(): MessagingInstruments {
  if (instruments) return instruments;
  const meter = metrics.getMeter('kizuna-messaging');
  instruments = {
    processed: meter.createCounter('kizuna.consumer.messages', {
      description: 'Messages a consumer group finished with, by outcome (handled, not-handled, skipped, dead-lettered)',
    }),
    processDuration: meter.createHistogram('kizuna.consumer.process.duration', {
      description: 'Time to process one message, or one run of messages for a batch handler',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
    }),
    recordAge: meter.createHistogram('kizuna.consumer.record.age', {
      description:
        'Age of each message when its batch reaches the consumer (now - the record timestamp its producer set): Kafka, the fetch and the wait for this process, before any processing',
      unit: 's',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    }),
    outboxDelay: meter.createHistogram('kizuna.outbox.publish.delay', {
      description: 'Time from the transaction that wrote an outbox row to Kafka acknowledging its message',
      unit: 's',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    }),
    deadLettered: meter.createCounter('kizuna.consumer.dead_lettered', {
      description: 'Messages written to a dead-letter topic, by reason',
    }),
    rebalances: meter.createCounter('kizuna.consumer.group_joins', {
      description: 'Times a consumer joined its group: the first join, then one per rebalance',
    }),
    lag: meter.createObservableGauge('kizuna.consumer.lag', {
      description: 'Messages in a partition not yet committed by the consumer group (high watermark - committed offset)',
    }),
    published: meter.createCounter('kizuna.producer.messages', { description: 'Messages acknowledged by Kafka, by topic' }),
    outboxBacklog: meter.createObservableGauge('kizuna.outbox.backlog', {
      description: 'Outbox rows written and not yet published to Kafka',
    }),
  };
  return instruments;
}
