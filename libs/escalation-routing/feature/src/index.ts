export * from './lib/escalation-routing.module';
export * from './lib/escalation-signals.consumer';
