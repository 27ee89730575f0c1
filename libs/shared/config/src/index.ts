export * from './lib/load-config';
export * from './lib/service-config';
