export * from './lib/lifecycle.module';
export * from './lib/lifecycle-signals.consumer';
