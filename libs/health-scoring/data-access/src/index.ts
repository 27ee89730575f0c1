export * from './lib/entities';
export * from './lib/health-scoring-data';
export * from './lib/account-facts.repository';
export * from './lib/scoring-sql';
export * from './lib/backfill-sql';
export * from './lib/stored-features';
