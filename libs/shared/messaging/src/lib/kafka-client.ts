import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import { installRequestQueueTimerFix } from './kafkajs-request-queue';

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  logger?: Logger;
  /** Connection attempts before a call fails (kafkajs retries with backoff in between). */
  retries?: number;
  /** How sockets are opened (kafkajs's hook: proxies, custom TLS, network fault injection in tests). */
  socketFactory?: ISocketFactory;
}

const levelName: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
  [logLevel.NOTHING]: 'debug',
};

function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, ...extra } = log;
    logger[levelName[level] ?? 'info']({ kafkajs: namespace, ...extra }, message);
  };
}

/** One kafkajs client per service; producers, consumers and admin clients hang off it. */
export function createKafka(options: KafkaClientOptions): Kafka {
  installRequestQueueTimerFix(); // before its first connection: see kafkajs-request-queue.ts
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: options.retries ?? 8, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
  };
  if (options.logger) config.logCreator = pinoLogCreator(options.logger);
  if (options.socketFactory) config.socketFactory = options.socketFactory;
  return new Kafka(config);
}
