export * from './lib/health-scoring.module';
export * from './lib/product-activity.consumer';
