import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@kizuna/shared/testing';

const run = promisify(execFile);

/**
 * The harness's own Kafka broker (infra/kafka, its own port and data dir): restarting it must not
 * disturb anything else on the machine, such as the test suite's shared broker.
 */
export class ChaosBroker {
  constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly heap = '-Xms256m -Xmx512m',
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.port + 1),
      KAFKA_DATA_DIR: this.dataDir,
      KAFKA_HEAP_OPTS: this.heap,
      KAFKA_STOP_TIMEOUT: '20',
    };
  }

  private async kafkaSh(command: 'reset' | 'start' | 'stop'): Promise<void> {
    await run('bash', [join(repoRoot(), 'infra/kafka/kafka.sh'), command], { env: this.env(), maxBuffer: 10 * 1024 * 1024, timeout: 5 * 60 * 1000 });
  }

  /** A fresh broker: its old data is deleted first. */
  async startFresh(): Promise<void> {
    await this.kafkaSh('reset');
    await this.kafkaSh('start');
  }

  stop(): Promise<void> {
    return this.kafkaSh('stop');
  }

  start(): Promise<void> {
    return this.kafkaSh('start');
  }
}

/** Can this machine run infra/kafka (Java)? Otherwise the harness uses the given brokers and skips the restart. */
export async function localBrokerAvailable(): Promise<boolean> {
  try {
    await run('java', ['-version']);
    return true;
  } catch {
    return false;
  }
}
