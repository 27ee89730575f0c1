export * from './lib/ingestion-data';
