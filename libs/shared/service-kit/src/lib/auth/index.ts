export * from './roles';
export * from './auth.config';
export * from './jwt-verifier';
export * from './rate-limiter';
export * from './bearer-auth.guard';
export * from './scope';
export * from './roster-projector';
