export * from './lib/health-scoring.module';
export * from './lib/health-scorer.service';
export * from './lib/health-sweeper.service';
export * from './lib/scorecard-store.service';
export * from './lib/backfill.service';
