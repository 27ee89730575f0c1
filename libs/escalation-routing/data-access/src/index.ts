export * from './lib/entities';
export * from './lib/escalation-routing-data';
