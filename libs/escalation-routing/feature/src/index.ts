export * from './lib/escalation-routing.module';
export * from './lib/escalation-signals.consumer';
export * from './lib/escalation-engine.service';
export * from './lib/sla-sweeper.service';
export * from './lib/escalation.config';
