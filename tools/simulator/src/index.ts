export * from './lib/prng';
export * from './lib/model';
export * from './lib/catalog';
export * from './lib/company';
export * from './lib/stream';
export * from './lib/simulation';
export * from './lib/roster';
export * from './lib/driver';
