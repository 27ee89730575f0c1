import { Inject, Injectable, NotFoundException, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { CLOCK, Topics, type Clock } from '@kizuna/shared/contracts';
import { EventPublisher, OutboxRelay } from '@kizuna/shared/messaging';
import { OutboxEntry } from '@kizuna/shared/persistence';
import { SERVICE_LOGGER } from '@kizuna/shared/service-kit';
import {
  AccountHealth, BackfillJob, HEALTH_CHANGES_EXPANSION, WINDOW_BOUNDS_SQL, applySql, dryRunSql, healthChangeEventsSql, rescoreParams, type HealthChangesExpansion,
  type RescoreSqlOptions, type TableOf,
} from '@kizuna/health-scoring/data-access';
import { loadConfig } from '@kizuna/shared/config';
import { HealthConfig } from './health.config';
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

/** One range of account ids (after `after`, up to and including `upTo`) holding `n` accounts of the scorecard. */
interface Range {
  after: string;
  upTo: string;
  n: number;
}

interface TallyRow {
  old_band: string;
  new_band: string;
  n: number;
  changes?: number;
}

const DEADLOCK = '40P01';

@Injectable()
export class BackfillService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly config = loadConfig(HealthConfig);

  constructor(
    private readonly ds: DataSource,
    private readonly store: ScorecardStore,
    private readonly publisher: EventPublisher,
    private readonly relay: OutboxRelay,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: Logger,
  ) {
    // A range's changes are published through one outbox row naming them (see applySql).
    const eventsSql = healthChangeEventsSql((entity) => this.ds.getMetadata(entity).tablePath);
    relay.expandWith(HEALTH_CHANGES_EXPANSION, async (m, data, page) => {
      const d = data as Partial<HealthChangesExpansion>;
      const fields = [d.batch, d.after, d.upTo, d.time, d.source];
      if (!fields.every((f) => typeof f === 'string')) throw new Error(`a ${HEALTH_CHANGES_EXPANSION} outbox row lacks one of batch, after, upTo, time, source`);
      const rows = (await m.query(eventsSql, [page.cursor ?? d.after, d.upTo, d.batch, d.time, d.source, page.limit])) as {
        cursor: string; event_id: string; message_key: string; value: string;
      }[];
      return rows.map((r) => ({ ...r, topic: Topics.health, type: 'cs.health.score.changed.v1' }));
    });
  }

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
    const size = this.config.HEALTH_BACKFILL_BATCH;
    const workers = this.config.HEALTH_BACKFILL_CONCURRENCY;
    for (;;) {
      if (this.stopping) return; // resumed on the next start
      const job = await repo.findOneByOrFail({ id });
      const { ranges, versions } = await this.nextRanges(job.scorecardId, job.cursor, size, workers * 4);
      if (ranges.length === 0) {
        await repo.update({ id }, { status: 'done', finishedAt: this.clock.now() });
        this.logger.info({ backfill: id, processed: job.processed }, 'backfill done');
        return;
      }
      const options = await this.sqlOptions(job, versions);
      // `workers` connections take the next range as soon as they are done with one. Progress is
      // recorded for the ranges done in key order (one done ahead of an unfinished one waits), so a
      // restart resumes after the last range recorded and counts none twice.
      const done: (TallyRow[] | undefined)[] = ranges.map(() => undefined);
      const progress = { processed: job.processed, before: { ...job.before }, after: { ...job.after }, recorded: 0 };
      let recording = Promise.resolve();
      const record = async () => {
        let cursor: string | undefined;
        for (let rows = done[progress.recorded]; rows; rows = done[progress.recorded]) {
          for (const row of rows) {
            progress.before[row.old_band] = (progress.before[row.old_band] ?? 0) + row.n;
            progress.after[row.new_band] = (progress.after[row.new_band] ?? 0) + row.n;
          }
          const range = ranges[progress.recorded] as Range;
          progress.processed += range.n;
          cursor = range.upTo;
          progress.recorded++;
        }
        if (cursor !== undefined) {
          await repo.update({ id }, { processed: progress.processed, cursor, before: progress.before, after: progress.after });
        }
      };
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!this.stopping && !failed && next < ranges.length) {
          const i = next++;
          try {
            done[i] = await this.rescoreRange(job, ranges[i] as Range, options);
          } catch (e) {
            failed = true;
            throw e;
          }
          if (!job.dryRun) this.relay.kick();
          recording = recording.then(record);
          await recording;
        }
      };
      const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
    }
  }

  /**
   * The next `count` ranges of `size` accounts of the scorecard after `cursor` (keyset on the
   * primary key), and the scorecard versions their current scores were computed with.
   */
  private async nextRanges(scorecardId: string, cursor: string, size: number, count: number): Promise<{ ranges: Range[]; versions: number[] }> {
    const [row] = (await this.ds.query(
      `WITH x AS (SELECT account_id, scorecard_version FROM ${this.ds.getMetadata(AccountHealth).tablePath}
                   WHERE scorecard_id = $1 AND account_id > $2 ORDER BY account_id LIMIT $3),
            y AS (SELECT account_id, row_number() OVER (ORDER BY account_id) AS n, count(*) OVER () AS total FROM x)
       SELECT COALESCE((SELECT array_agg(account_id ORDER BY n) FROM y WHERE n % $4 = 0 OR n = total), '{}') AS ends,
              COALESCE((SELECT array_agg(n::int ORDER BY n) FROM y WHERE n % $4 = 0 OR n = total), '{}') AS counts,
              COALESCE((SELECT array_agg(DISTINCT scorecard_version) FROM x), '{}') AS versions`,
      [scorecardId, cursor, size * count, size],
    )) as { ends: string[]; counts: number[]; versions: number[] }[];
    const ranges: Range[] = [];
    let after = cursor;
    let seen = 0;
    (row?.ends ?? []).forEach((upTo, i) => {
      const upToCount = row?.counts[i] ?? seen;
      ranges.push({ after, upTo, n: upToCount - seen });
      after = upTo;
      seen = upToCount;
    });
    return { ranges, versions: row?.versions ?? [] };
  }

  /**
   * The scorecards compiled into the statements: the active versions, and for the changes' top
   * movers the versions of the backfilled scorecard the current scores were computed with (and its
   * active one: the only one the streaming path can write meanwhile).
   */
  private async sqlOptions(job: BackfillJob, versions: number[]): Promise<RescoreSqlOptions> {
    const { scorecards, settings } = await this.store.current();
    const active = scorecards.find((c) => c.id === job.scorecardId)?.version;
    const wanted = [...new Set([...versions, ...(active === undefined ? [] : [active])])].sort((a, b) => a - b);
    return {
      scorecards,
      previous: job.dryRun ? [] : await Promise.all(wanted.map((v) => this.store.version(job.scorecardId, v))),
      settings,
      enterpriseArr: this.config.HEALTH_ENTERPRISE_ARR,
      minDelta: this.config.HEALTH_MIN_DELTA,
      outboxTable: this.ds.getMetadata(OutboxEntry).tablePath,
    };
  }

  /**
   * One range in one transaction: the dry-run or the applying statement, as a named prepared
   * statement with a generic plan (the statement is large: planning it for every range would cost
   * more than running it). Retried when Postgres broke a deadlock with the streaming path by
   * aborting it.
   */
  private async rescoreRange(job: BackfillJob, range: Range, options: RescoreSqlOptions): Promise<TallyRow[]> {
    const table: TableOf = (entity) => this.ds.getMetadata(entity).tablePath;
    const text = job.dryRun ? dryRunSql(table, options) : applySql(table, options);
    const name = `kizuna_rescore_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    const headers: Record<string, string> = {};
    propagation.inject(context.active(), headers);
    const now = this.clock.now();
    const [bounds] = (await this.ds.query(WINDOW_BOUNDS_SQL, [now])) as { t30: Date; t90: Date }[];
    if (!bounds) throw new Error('no window bounds');
    const values = rescoreParams(
      { scorecardId: job.scorecardId, after: range.after, upTo: range.upTo, now, bounds, settings: options.settings },
      job.dryRun ? undefined : { cause: `backfill:${job.id}`, headers, source: this.publisher.source, batch: randomUUID() },
    );
    for (let attempt = 1; ; attempt++) {
      const runner = this.ds.createQueryRunner();
      try {
        const client = (await runner.connect()) as PoolClient;
        await runner.startTransaction();
        // jit off: compiling the statement's hundreds of expressions costs more than it saves.
        await runner.query(`SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`);
        const result = await client.query<TallyRow>({ name, text, values });
        await runner.commitTransaction();
        return result.rows;
      } catch (e) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        if ((e as { code?: string }).code !== DEADLOCK || attempt >= 3) throw e;
        this.logger.warn({ backfill: job.id, range: { after: range.after, upTo: range.upTo }, attempt }, 'backfill range deadlocked with streaming rescoring; retrying');
      } finally {
        await runner.release();
      }
    }
  }
}
