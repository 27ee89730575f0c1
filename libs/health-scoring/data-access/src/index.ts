export * from './lib/entities';
export * from './lib/health-scoring-data';
