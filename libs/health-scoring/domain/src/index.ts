export * from './lib/scorecard';
export * from './lib/features';
export * from './lib/dear-score';
export * from './lib/default-scorecards';
export * from './lib/account-facts';
