import 'reflect-metadata'; // decorators below read and write design-time metadata
export * from './lib/load-config';
export * from './lib/service-config';
