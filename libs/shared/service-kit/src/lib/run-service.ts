import 'reflect-metadata';
import { ValidationPipe, type INestApplication, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { createGunzip, createInflate } from 'node:zlib';
import type { ServiceConfig } from '@kizuna/shared/config';
import { PinoNestLogger, stopTelemetry, traceHttpRequests } from '@kizuna/shared/telemetry';

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
  /** An OpenAPI description to serve at /docs (UI), /docs/openapi.json and /docs/openapi.yaml. */
  openApi?: Record<string, unknown>;
  /** Other content types whose bodies are parsed as JSON (some SDKs declare a form or text/plain). */
  jsonContentTypes?: string[];
  /** Accept `Content-Encoding: gzip | deflate` request bodies. */
  decompressBodies?: boolean;
}

/** Creates the Nest app on Fastify with the shared validation, logging and shutdown behaviour. */
export async function createServiceApp(options: RunServiceOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    options.module as never,
    // skipMiddie: no service uses Nest (Express-style) middleware, and middie's hook ran on every request.
    new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 1024 * 1024, trustProxy: true, skipMiddie: true }),
    { logger: new PinoNestLogger(options.logger.child({ component: 'nest' })), bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  // A SERVER span per request, continuing the caller's trace; health probes would drown the traces that matter.
  traceHttpRequests(fastify, { ignore: (path) => path.startsWith('/health') });
  registerBodyParsers(fastify, options);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  if (options.openApi) {
    SwaggerModule.setup('docs', app, options.openApi as unknown as OpenAPIObject, {
      jsonDocumentUrl: 'docs/openapi.json',
      yamlDocumentUrl: 'docs/openapi.yaml',
    });
  }
  return app;
}

/** JSON bodies (also under `jsonContentTypes`), raw bodies kept on request, optional decompression. */
type Fastify = ReturnType<ReturnType<NestFastifyApplication['getHttpAdapter']>['getInstance']>;

function registerBodyParsers(fastify: Fastify, options: RunServiceOptions): void {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const types = ['application/json', ...(options.jsonContentTypes ?? [])];
  for (const t of types) if (fastify.hasContentTypeParser(t)) fastify.removeContentTypeParser(t);
  const json = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser(types, { parseAs: 'buffer', bodyLimit }, (req, body, done) => {
    if (options.rawBody) (req as { rawBody?: Buffer }).rawBody = body as Buffer;
    json(req, (body as Buffer).toString('utf8'), done);
  });
  if (!options.decompressBodies) return;
  fastify.addHook('preParsing', async (req, _reply, payload) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== 'gzip' && encoding !== 'deflate') return payload;
    let encoded = 0;
    payload.on('data', (chunk: Buffer) => (encoded += chunk.length));
    const decoded = payload.pipe(encoding === 'gzip' ? createGunzip() : createInflate());
    // Fastify checks Content-Length against the encoded size it is told here.
    Object.defineProperty(decoded, 'receivedEncodedLength', { get: () => encoded });
    return decoded;
  });
}

/**
 * Graceful shutdown on SIGTERM/SIGINT (and, given `alsoOn`, other triggers): the app closes (consumers
 * stop and commit, then the database closes); past SHUTDOWN_TIMEOUT_MS the process exits anyway.
 */
function closeOnSignals(app: INestApplicationContext, config: ServiceConfig, logger: Logger): (reason: string) => void {
  let closing = false;
  const shutdown = (reason: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal: reason }, 'shutting down');
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
        process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      })
      .catch((e: unknown) => {
        logger.error({ err: { message: (e as Error).message } }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return shutdown;
}

/** Starts a service: the app on HTTP, with graceful shutdown. */
export async function runService(options: RunServiceOptions): Promise<INestApplication> {
  const { config, logger } = options;
  const app = await createServiceApp(options);
  closeOnSignals(app, config, logger);
  const port = config.PORT ?? options.defaultPort;
  await app.listen(port, config.HOST);
  logger.info({ port }, `${options.name} listening`);
  return app;
}

/**
 * Starts a service's lane process (KAFKA_LANES=process): the same module without HTTP; its parent
 * starts it and stops it with SIGTERM, and it stops too when the parent's IPC channel closes.
 */
export async function runLaneProcess(options: Pick<RunServiceOptions, 'name' | 'module' | 'config' | 'logger'>): Promise<INestApplicationContext> {
  const { config, logger } = options;
  // The parent may die while this process starts (its consumer groups can take a session timeout to join).
  const started: { shutdown?: (reason: string) => void } = {};
  let parentGone = !process.connected;
  process.once('disconnect', () => {
    parentGone = true;
    started.shutdown?.('parent gone');
  });
  const app = await NestFactory.createApplicationContext(options.module as never, {
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
  });
  started.shutdown = closeOnSignals(app, config, logger);
  if (parentGone) started.shutdown('parent gone');
  logger.info(`${options.name} lane process running`);
  return app;
}
