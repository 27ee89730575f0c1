export * from './lib/notification-data';
export * from './lib/entities';
