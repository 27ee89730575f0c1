import { Module, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { clockFromEnvironment, type Clock } from '@kizuna/shared/contracts';
import { ConfigError, ServiceConfig, isLaneProcess, loadConfig } from '@kizuna/shared/config';
import { ensureDatabase, type ServiceDataSpec } from '@kizuna/shared/persistence';
import { createLogger } from '@kizuna/shared/telemetry';
import { KizunaServiceModule, type KizunaServiceOptions } from './kizuna-service.module';
import { runLaneProcess, runService } from './run-service';
import { rememberServiceEntry } from './lane-process';
import { observeClock } from './clock-metrics';
import { tuneGarbageCollector } from './gc-tuning';

export interface ServiceDefinition {
  name: string;
  defaultPort: number;
  data: ServiceDataSpec;
  /** The service's feature module (controllers, consumers). */
  feature: Type<unknown>;
  bodyLimit?: number;
  rawBody?: boolean;
  /** Served at /docs. */
  openApi?: () => Record<string, unknown>;
  jsonContentTypes?: string[];
  decompressBodies?: boolean;
}

@Module({})
class ServiceRootModule {}

/** The root module of a service: the shared kit plus its feature module. */
export function serviceRootModule(
  def: ServiceDefinition,
  config: ServiceConfig,
  logger: ReturnType<typeof createLogger>,
  clock?: Clock,
  extras: Pick<KizunaServiceOptions, 'kafkaSocketFactory' | 'auth'> = {},
): DynamicModule {
  return {
    module: ServiceRootModule,
    imports: [
      KizunaServiceModule.forRoot({ name: def.name, config, logger, data: def.data, ...(clock ? { clock } : {}), ...extras }),
      def.feature,
    ],
  };
}

/** What every app's main.ts calls: config, logger, root module, HTTP, graceful shutdown. */
export async function bootstrapService(def: ServiceDefinition): Promise<INestApplication | undefined> {
  tuneGarbageCollector();
  let logger = createLogger(def.name);
  try {
    const config = loadConfig(ServiceConfig);
    logger = createLogger(def.name, config.LOG_LEVEL);
    await ensureDatabase(config.DATABASE_URL);
    const clock = clockFromEnvironment();
    observeClock(clock);
    if (isLaneProcess()) {
      await runLaneProcess({ name: def.name, module: serviceRootModule(def, config, logger.child({ process: 'lanes' }), clock), config, logger: logger.child({ process: 'lanes' }) });
      return undefined;
    }
    rememberServiceEntry();
    return await runService({
      name: def.name,
      module: serviceRootModule(def, config, logger, clock),
      config,
      logger,
      defaultPort: def.defaultPort,
      ...(def.bodyLimit ? { bodyLimit: def.bodyLimit } : {}),
      ...(def.rawBody ? { rawBody: true } : {}),
      ...(def.openApi ? { openApi: def.openApi() } : {}),
      ...(def.jsonContentTypes ? { jsonContentTypes: def.jsonContentTypes } : {}),
      ...(def.decompressBodies ? { decompressBodies: true } : {}),
    });
  } catch (e) {
    const err = e as Error;
    logger.fatal({ err: { name: err.name, message: err.message, ...(e instanceof ConfigError ? {} : { stack: err.stack }) } }, `${def.name} failed to start`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
    return undefined;
  }
}
