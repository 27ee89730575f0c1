export * from './lib/entities';
export * from './lib/ingestion-data';
