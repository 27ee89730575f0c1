import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { ConsumerRunner } from '@kizuna/shared/messaging';
import { KAFKA } from './tokens';

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** Ready means: Postgres answers, the Kafka cluster answers, and the consumer (if any) runs. */
@Injectable()
export class ReadinessService implements OnModuleDestroy {
  private admin?: Admin;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly dataSource: DataSource,
    private readonly runner: ConsumerRunner,
  ) {}

  async check(): Promise<Readiness> {
    const [postgres, kafka] = await Promise.all([this.checkPostgres(), this.checkKafka()]);
    const checks: Record<string, CheckResult> = { postgres, kafka };
    if (this.runner.topics().length) {
      checks['consumer'] = this.runner.isRunning() ? { ok: true } : { ok: false, detail: 'consumer not running' };
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async checkPostgres(): Promise<CheckResult> {
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), 2000, 'Postgres');
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  private async checkKafka(): Promise<CheckResult> {
    try {
      if (!this.admin) {
        const admin = this.kafka.admin({ retry: { retries: 0 } });
        await withTimeout(admin.connect(), 2000, 'Kafka');
        this.admin = admin;
      }
      const cluster = await withTimeout(this.admin.describeCluster(), 2000, 'Kafka');
      return { ok: cluster.brokers.length > 0, detail: `${cluster.brokers.length} broker(s)` };
    } catch (e) {
      const admin = this.admin;
      this.admin = undefined;
      await admin?.disconnect().catch(() => undefined);
      return { ok: false, detail: (e as Error).message };
    }
  }
}
