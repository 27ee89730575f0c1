export * from './lib/notification.module';
export * from './lib/notification.config';
export * from './lib/notification-signals.consumer';
export * from './lib/delivery-worker.service';
export * from './lib/play-runner.service';
