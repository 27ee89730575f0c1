export * from './lib/start-telemetry';
export * from './lib/logger';
export * from './lib/metrics';
export * from './lib/file-span-exporter';
export * from './lib/http-server-spans';
