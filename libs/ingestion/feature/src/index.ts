export * from './lib/ingestion.module';
export * from './lib/ingestion.config';
export * from './lib/segment-ingest.service';
export * from './lib/source-registry.service';
export * from './lib/openapi';
export * from './lib/support.dto';
