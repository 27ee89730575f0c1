import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { queryRows } from '@kizuna/shared/persistence';
import { PeriodicTask, SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { PendingEvent, ReceivedMessage } from '@kizuna/ingestion/data-access';
import { IngestionConfig } from './ingestion.config';
import { SegmentIngestService } from './segment-ingest.service';

const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_BATCH = 1000;

/**
 * Housekeeping on the injected clock: events still without an account when their window ends are
 * reported on cs.ingest.rejected.v1 (never dropped silently), and dedup records older than the
 * dedup window are purged. Batched and set-based.
 */
@Injectable()
export class PendingSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly periodic: PeriodicTask;

  constructor(
    private readonly ds: DataSource,
    private readonly ingest: SegmentIngestService,
    private readonly config: IngestionConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    this.periodic = new PeriodicTask('pending sweep', SWEEP_INTERVAL_MS, () => this.sweepOnce(), logger);
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns how many pending events expired and how many dedup rows were purged. */
  async sweepOnce(): Promise<{ expired: number; purged: number }> {
    const now = this.clock.now();
    let expired = 0;
    for (;;) {
      const n = await this.ds.transaction(async (m) => {
        const table = m.connection.getMetadata(PendingEvent).tablePath;
        const rows = await queryRows<{ source_id: string; message: unknown }>(
          m,
          `DELETE FROM ${table} WHERE seq IN (
             SELECT seq FROM ${table} WHERE expires_at <= $1 ORDER BY seq LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)
           RETURNING source_id, message`,
          [now],
        );
        const hours = Math.round((this.config.INGESTION_PENDING_WINDOW_MS / 3_600_000) * 10) / 10;
        await this.ingest.publish(
          rows.map((r) =>
            this.ingest.rejection(r.source_id, 'pending', {
              reason: `account unresolved: no group call associated this user with an account within ${hours} h`,
              raw: r.message,
            }, now),
          ),
        );
        return rows.length;
      });
      expired += n;
      if (n < SWEEP_BATCH) break;
    }
    if (expired) this.logger.warn({ expired }, 'events without an account reported on cs.ingest.rejected.v1');
    const rmTable = this.ds.getMetadata(ReceivedMessage).tablePath;
    const purged = await queryRows(
      this.ds,
      `DELETE FROM ${rmTable} WHERE ctid IN (SELECT ctid FROM ${rmTable} WHERE received_at < $1 LIMIT 10000) RETURNING 1`,
      [new Date(now.getTime() - this.config.INGESTION_DEDUP_WINDOW_MS)],
    );
    return { expired, purged: purged.length };
  }

  /** What is waiting for a group call, per source. */
  async summary(): Promise<{ sourceId: string; waiting: number; oldestReceivedAt: string; nextExpiry: string }[]> {
    const rows: { source_id: string; n: number; oldest: Date; next: Date }[] = await this.ds.query(
      `SELECT source_id, count(*)::int AS n, min(received_at) AS oldest, min(expires_at) AS next
         FROM ${this.ds.getMetadata(PendingEvent).tablePath} GROUP BY source_id ORDER BY source_id LIMIT 1000`,
    );
    return rows.map((r) => ({ sourceId: r.source_id, waiting: r.n, oldestReceivedAt: r.oldest.toISOString(), nextExpiry: r.next.toISOString() }));
  }
}
