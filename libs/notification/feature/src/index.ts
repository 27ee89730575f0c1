export * from './lib/notification.module';
export * from './lib/notification-signals.consumer';
