export * from './lib/tokens';
export * from './lib/kizuna-service.module';
export * from './lib/run-service';
export * from './lib/readiness.service';
export { SERVICE_SCHEMA } from './lib/migrations.runner';
export * from './lib/bootstrap-service';
export * from './lib/run-clustered';
export * from './lib/openapi-document';
export * from './lib/periodic-task';
