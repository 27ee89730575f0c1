export * from './lib/inbox-outbox.entities';
export * from './lib/data-source';
export * from './lib/inbox';
export * from './lib/health-projection.entity';
export * from './lib/roster-projection.entity';
export * from './lib/inbox-retention';
export * from './lib/table-statistics';
