export * from './lib/infrastructure';
export * from './lib/wait-for';
export * from './lib/kafka-helpers';
export * from './lib/otlp-receiver';
export * from './lib/service-processes';
export * from './lib/openapi-routes';
export * from './lib/kafka-network-switch';
export * from './lib/auth-tokens';
