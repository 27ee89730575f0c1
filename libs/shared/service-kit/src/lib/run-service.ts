import 'reflect-metadata';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import type { ServiceConfig } from '@kizuna/shared/config';
import { PinoNestLogger, stopTelemetry } from '@kizuna/shared/telemetry';

export interface RunServiceOptions {
  name: string;
  /** The root module (usually built with KizunaServiceModule.forRoot). */
  module: unknown;
  config: ServiceConfig;
  logger: Logger;
  defaultPort: number;
  /** Request body limit in bytes. */
  bodyLimit?: number;
  /** Keep each request's raw body (`req.rawBody`), e.g. to verify webhook signatures. */
  rawBody?: boolean;
}

/** Creates the Nest app on Fastify with the shared validation, logging and shutdown behaviour. */
export async function createServiceApp(options: RunServiceOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    options.module as never,
    new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 1024 * 1024, trustProxy: true }),
    { logger: new PinoNestLogger(options.logger.child({ component: 'nest' })), rawBody: options.rawBody ?? false },
  );
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  return app;
}

/**
 * Starts a service and wires graceful shutdown: on SIGTERM/SIGINT the app closes (consumers
 * stop and commit, then the database closes); past SHUTDOWN_TIMEOUT_MS the process exits anyway.
 */
export async function runService(options: RunServiceOptions): Promise<INestApplication> {
  const { config, logger } = options;
  const app = await createServiceApp(options);
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const watchdog = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    watchdog.unref();
    app
      .close()
      .then(() => stopTelemetry())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((e: unknown) => {
        logger.error({ err: { message: (e as Error).message } }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  const port = config.PORT ?? options.defaultPort;
  await app.listen(port, config.HOST);
  logger.info({ port }, `${options.name} listening`);
  return app;
}
