export * from './lib/segment-track';
