import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { runServiceMigrations } from '@kizuna/shared/persistence';
import { SERVICE_LOGGER } from './tokens';

export const SERVICE_SCHEMA = Symbol('ServiceSchema');

/** Applies the service's own migrations at startup, before any consumer starts. */
@Injectable()
export class MigrationsRunner implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_SCHEMA) private readonly schema: string,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const applied = await runServiceMigrations(this.dataSource, this.schema);
    if (applied.length) this.logger.info({ schema: this.schema, applied }, 'applied migrations');
  }
}
