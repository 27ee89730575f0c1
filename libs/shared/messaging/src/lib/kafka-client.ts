import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import { installRequestQueueTimerFix } from './kafkajs-request-queue';
import { installKafkaCodecs } from '@kizuna/shared/contracts';

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

/**
 * kafkajs's own socket factory with Nagle's algorithm off, as Kafka's Java clients and brokers have
 * it (TCP_NODELAY). kafkajs leaves it on: a request written while an earlier one on the same
 * connection is not yet acknowledged (a commit or heartbeat beside a pending fetch) waits for the
 * broker's delayed ACK, up to 40 ms on Linux.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : netConnect({ host, port }, onConnect);
  socket.setNoDelay(true); // before the connection is up: Node applies it once it is
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** One kafkajs client per service; producers, consumers and admin clients hang off it. */
export function createKafka(options: KafkaClientOptions): Kafka {
  installRequestQueueTimerFix(); // before its first connection: see kafkajs-request-queue.ts
  installKafkaCodecs(); // zstd batches, read and written: see kafka-compression.ts
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: options.retries ?? 8, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
  };
  if (options.logger) config.logCreator = pinoLogCreator(options.logger);
  config.socketFactory = options.socketFactory ?? noDelaySocketFactory;
  return new Kafka(config);
}
