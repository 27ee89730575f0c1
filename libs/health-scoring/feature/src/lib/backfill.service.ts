import { Inject, Injectable, NotFoundException, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { OutboxRelay } from '@kizuna/shared/messaging';
import { SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import { AccountHealth, BackfillJob } from '@kizuna/health-scoring/data-access';
import { loadConfig } from '@kizuna/shared/config';
import { HealthConfig } from './health.config';
import { HealthScorer } from './health-scorer.service';
import { ScorecardStore } from './scorecard-store.service';

export interface BackfillView {
  id: string;
  scorecard: { id: string; version: number };
  dryRun: boolean;
  status: string;
  total: number;
  processed: number;
  /** Accounts per band before and after (for a dry run: what applying would give). */
  before: Record<string, number>;
  after: Record<string, number>;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

const tally = (into: Record<string, number>, bands: string[]) => {
  for (const b of bands) into[b] = (into[b] ?? 0) + 1;
  return into;
};

/**
 * Recomputes every account scored with a scorecard under its active version, in set-based batches
 * (HEALTH_BACKFILL_BATCH accounts, one facts query each; HEALTH_BACKFILL_CONCURRENCY of them at once,
 * each in its own transaction), recording progress after every step so a restarted service resumes
 * where it stopped (a step redone after a crash rescores its accounts again and emits nothing new: the
 * emitted score is stored with the score). A dry run computes the band distribution before and after
 * without writing a score.
 */
@Injectable()
export class BackfillService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly config = loadConfig(HealthConfig);

  constructor(
    private readonly ds: DataSource,
    private readonly scorer: HealthScorer,
    private readonly store: ScorecardStore,
    private readonly relay: OutboxRelay,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const unfinished = await this.ds.getRepository(BackfillJob).findBy({ status: 'running' });
    for (const job of unfinished) this.launch(job.id);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running.values());
  }

  async start(scorecardId: string, dryRun: boolean): Promise<BackfillView> {
    const scorecard = await this.store.get(scorecardId);
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM ${this.ds.getMetadata(AccountHealth).tablePath} WHERE scorecard_id = $1`, [scorecardId]);
    const id = `bf_${randomUUID()}`;
    await this.ds.getRepository(BackfillJob).insert({
      id, scorecardId, scorecardVersion: scorecard.version, dryRun, status: 'running', total: n as number, processed: 0, cursor: '',
      before: {}, after: {}, error: null, startedAt: this.clock.now(), finishedAt: null,
    });
    this.launch(id);
    return this.get(id);
  }

  async get(id: string): Promise<BackfillView> {
    const j = await this.ds.getRepository(BackfillJob).findOneBy({ id });
    if (!j) throw new NotFoundException(`backfill ${id} not found`);
    return {
      id: j.id, scorecard: { id: j.scorecardId, version: j.scorecardVersion }, dryRun: j.dryRun, status: j.status, total: j.total,
      processed: j.processed, before: j.before, after: j.after, error: j.error, startedAt: j.startedAt.toISOString(),
      finishedAt: j.finishedAt?.toISOString() ?? null,
    };
  }

  /** Waits for a job started by this instance (tests, the CLI). */
  async finished(id: string): Promise<BackfillView> {
    await this.running.get(id);
    return this.get(id);
  }

  private launch(id: string): void {
    if (this.running.has(id)) return;
    const run = this.run(id)
      .catch(async (e: unknown) => {
        this.logger.error({ err: { message: (e as Error).message }, backfill: id }, 'backfill failed');
        await this.ds.getRepository(BackfillJob).update({ id }, { status: 'failed', error: (e as Error).message, finishedAt: this.clock.now() });
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  private async run(id: string): Promise<void> {
    const repo = this.ds.getRepository(BackfillJob);
    const healthTable = this.ds.getMetadata(AccountHealth).tablePath;
    const batch = this.config.HEALTH_BACKFILL_BATCH;
    for (;;) {
      if (this.stopping) return; // resumed on the next start
      const job = await repo.findOneByOrFail({ id });
      const rows: { account_id: string; band: string }[] = await this.ds.query(
        `SELECT account_id, band FROM ${healthTable} WHERE scorecard_id = $1 AND account_id > $2 ORDER BY account_id LIMIT $3`,
        [job.scorecardId, job.cursor, batch * this.config.HEALTH_BACKFILL_CONCURRENCY],
      );
      if (rows.length === 0) {
        await repo.update({ id }, { status: 'done', finishedAt: this.clock.now() });
        this.logger.info({ backfill: id, processed: job.processed }, 'backfill done');
        return;
      }
      const ids = rows.map((r) => r.account_id);
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += batch) chunks.push(ids.slice(i, i + batch));
      const afterBands = (
        await Promise.all(
          chunks.map(async (chunk) => {
            if (job.dryRun) return (await this.scorer.preview(this.ds.manager, chunk)).map((s) => s.health.band as string);
            await this.ds.transaction((m) => this.scorer.rescore(m, chunk, `backfill:${id}`));
            this.relay.kick();
            const after: { band: string }[] = await this.ds.query(`SELECT band FROM ${healthTable} WHERE account_id = ANY($1::text[])`, [chunk]);
            return after.map((r) => r.band);
          }),
        )
      ).flat();
      await repo.update(
        { id },
        {
          processed: job.processed + ids.length,
          cursor: ids[ids.length - 1] ?? job.cursor,
          before: tally({ ...job.before }, rows.map((r) => r.band)),
          after: tally({ ...job.after }, afterBands),
        },
      );
    }
  }
}
