export * from './lib/lifecycle-rules';
export * from './lib/account-state';
export * from './lib/segments';
export * from './lib/touch-model';
export * from './lib/lifecycle-machine';
export * from './lib/kpis';
export * from './lib/time-boundaries';
export * from './lib/lifecycle-timeline';
