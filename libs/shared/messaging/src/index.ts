export * from './lib/kafka-client';
export * from './lib/topics-admin';
export * from './lib/trace-headers';
export * from './lib/semconv';
export * from './lib/event-publisher';
export * from './lib/consumer-runner';
export * from './lib/outbox-relay';
export * from './lib/on-event.decorator';
