export * from './lib/triggers';
export * from './lib/backoff';
export * from './lib/schedule';
export * from './lib/standard-webhooks';
export * from './lib/network-guard';
export * from './lib/templates';
export * from './lib/plays';
