export * from './lib/lifecycle.module';
export * from './lib/lifecycle.config';
export * from './lib/lifecycle-engine.service';
export * from './lib/lifecycle-ticker.service';
export * from './lib/lifecycle-kpis.service';
export * from './lib/lifecycle-rules.store';
