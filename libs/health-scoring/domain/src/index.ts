export * from './lib/engagement-score';
