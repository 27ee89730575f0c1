import pino from 'pino';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ISocketFactory } from 'kafkajs';
import type { Clock } from '@kizuna/shared/contracts';
import { ServiceConfig, loadConfig } from '@kizuna/shared/config';
import { createServiceApp, serviceRootModule } from '@kizuna/shared/service-kit';
import { ingestionData } from '@kizuna/ingestion/data-access';
import { IngestionModule } from './ingestion.module';
import { ingestionHttpOptions } from './openapi';

/**
 * Ingestion as main.ts builds it, in-process, against the test broker and Postgres (for the
 * integration specs). `env` is applied to process.env first; the caller inits or listens.
 */
export async function createIngestionTestApp(
  options: { clock?: Clock; env?: Record<string, string>; kafkaSocketFactory?: ISocketFactory } = {},
): Promise<NestFastifyApplication> {
  Object.assign(process.env, options.env ?? {});
  const config = loadConfig(ServiceConfig, { ...process.env, KAFKA_TOPIC_PARTITIONS: '3' });
  const logger = pino({ level: process.env['KIZUNA_TEST_LOG'] ?? 'silent' });
  const root = serviceRootModule(
    { name: 'ingestion', defaultPort: 0, data: ingestionData, feature: IngestionModule },
    config,
    logger,
    options.clock,
    options.kafkaSocketFactory ? { kafkaSocketFactory: options.kafkaSocketFactory } : {},
  );
  return createServiceApp({ name: 'ingestion', module: root, config, logger, defaultPort: 0, ...ingestionHttpOptions() });
}
