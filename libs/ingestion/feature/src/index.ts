export * from './lib/ingestion.module';
export * from './lib/track.controller';
