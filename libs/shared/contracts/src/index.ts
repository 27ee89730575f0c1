import 'reflect-metadata'; // decorators below read and write design-time metadata
export * from './lib/topics';
export * from './lib/enums';
export * from './lib/clock';
export * from './lib/envelope';
export * from './lib/event-map';
export * from './lib/validation';
export * from './lib/events/product';
export * from './lib/events/directory';
export * from './lib/events/support';
export * from './lib/events/survey';
export * from './lib/events/billing';
export * from './lib/events/health';
export * from './lib/events/lifecycle';
export * from './lib/events/escalation';
export * from './lib/events/notification';
export * from './lib/events/ingest';
export * from './lib/events/roster';
