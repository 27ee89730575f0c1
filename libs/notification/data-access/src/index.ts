export * from './lib/notification-data';
