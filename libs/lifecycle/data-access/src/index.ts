export * from './lib/entities';
export * from './lib/lifecycle-data';
