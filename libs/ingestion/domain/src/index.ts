export * from './lib/event-id';
export * from './lib/limits';
export * from './lib/segment-message';
export * from './lib/segment-normalise';
export * from './lib/account-resolution';
export * from './lib/support-intake';
