export * from './lib/business-hours';
export * from './lib/escalation-rules';
export * from './lib/default-escalation-rules';
export * from './lib/evaluate-escalation';
export * from './lib/route-escalation';
export * from './lib/sla';
export * from './lib/workflow';
