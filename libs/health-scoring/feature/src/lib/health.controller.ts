import { BadRequestException, Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Put, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { CLOCK, HealthBand, type Clock } from '@kizuna/shared/contracts';
import { AccountHealth, AccountProfile, HealthChange } from '@kizuna/health-scoring/data-access';
import { ownerInBookOrTeamSql } from '@kizuna/shared/persistence';
import { CurrentPrincipal, Roles, accountScope, type Principal } from '@kizuna/shared/service-kit';
import type { HealthScore, Scorecard } from '@kizuna/health-scoring/domain';
import { BackfillService, type BackfillView } from './backfill.service';
import { HealthScorer } from './health-scorer.service';
import { ScorecardStore } from './scorecard-store.service';

export class HistoryQueryDto {
  /** First day (inclusive); default 30 days before `to`. */
  @IsOptional() @IsISO8601() from?: string;
  /** Last day (inclusive); default today. */
  @IsOptional() @IsISO8601() to?: string;
}

export class BackfillDto {
  /** Report the band distribution before and after without applying. */
  @IsOptional() @IsBoolean() dryRun?: boolean;
}

export const HEALTH_SORTS = ['score', '-score', 'account', '-computedAt'] as const;

export class HealthListQueryDto {
  @IsOptional() @IsIn(Object.values(HealthBand)) band?: HealthBand;
  @IsOptional() @IsString() @MaxLength(64) segment?: string;
  @IsOptional() @IsIn(HEALTH_SORTS) sort?: (typeof HEALTH_SORTS)[number];
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

const DAY_MS = 86_400_000;
const SORT_SQL: Record<(typeof HEALTH_SORTS)[number], string> = {
  score: 'score ASC, account_id',
  '-score': 'score DESC, account_id',
  account: 'account_id',
  '-computedAt': 'computed_at DESC, account_id',
};

export interface AccountHealthView {
  accountId: string;
  score: number;
  band: string;
  segment: string | null;
  computedAt: string;
  scorecard: { id: string; version: number };
  /** Score change over the last 7 and 30 days (null when there was no score then). */
  trend: { d7: number | null; d30: number | null };
  /**
   * Every component, measure and modifier with raw value, normalised value, weight and contribution in
   * points (recomputed from the stored features under the scorecard version that scored them).
   */
  explanation: HealthScore;
}

/** Roles that read every account's health; csm and cs-lead read their book and their team's. */
const ALL_ACCOUNTS = ['admin', 'ops'] as const;

/**
 * Health explanations and the scorecards (data, versioned, editable). Access: admin and ops read
 * every account; csm and cs-lead read the accounts whose owner CSM email (directory trait
 * ownerCsmEmail, projected into account_profile) is their token's `email` or the e-mail of a roster
 * member of their token's `team` (cs.roster.v1, projected into roster_member_projection); another
 * account answers 404 and is left out of lists.
 */
@Controller('v1')
export class HealthController {
  constructor(
    private readonly ds: DataSource,
    private readonly store: ScorecardStore,
    private readonly backfills: BackfillService,
    private readonly scorer: HealthScorer,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Recomputes every account scored with this scorecard under its active version (202; poll the job). */
  @Post('scorecards/:id/backfill')
  @Roles('admin')
  @HttpCode(202)
  backfill(@Param('id') id: string, @Body() body: BackfillDto): Promise<BackfillView> {
    return this.backfills.start(id, body.dryRun ?? false);
  }

  @Get('backfills/:id')
  @Roles('admin')
  backfillJob(@Param('id') id: string): Promise<BackfillView> {
    return this.backfills.get(id);
  }

  @Get('accounts/:accountId/health')
  @Roles('admin', 'ops', 'cs-lead', 'csm')
  async accountHealth(@Param('accountId') accountId: string, @CurrentPrincipal() who: Principal): Promise<AccountHealthView> {
    const h = (await this.visible(accountId, who)) ? await this.ds.getRepository(AccountHealth).findOneBy({ accountId }) : null;
    if (!h) throw new NotFoundException(`no health score for account ${accountId} yet`);
    return {
      accountId,
      score: h.score,
      band: h.band,
      segment: h.segment,
      computedAt: h.computedAt.toISOString(),
      scorecard: { id: h.scorecardId, version: h.scorecardVersion },
      trend: await this.trend(accountId, h.score),
      explanation: await this.scorer.explain(h),
    };
  }

  /** The daily series (last known score of each day) and every emitted change in the range. */
  @Get('accounts/:accountId/health/history')
  @Roles('admin', 'ops', 'cs-lead', 'csm')
  async history(@Param('accountId') accountId: string, @Query() q: HistoryQueryDto, @CurrentPrincipal() who: Principal) {
    if (!(await this.visible(accountId, who))) throw new NotFoundException(`no health history for account ${accountId}`);
    const to = q.to ? new Date(q.to) : this.clock.now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * DAY_MS);
    if (from > to) throw new BadRequestException('from: must not be after to');
    if (to.getTime() - from.getTime() > 400 * DAY_MS) throw new BadRequestException('the range is at most 400 days');
    const table = this.ds.getMetadata(HealthChange).tablePath;
    const daily: { day: string; score: string | null; band: string | null }[] = await this.ds.query(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day, c.score, c.band
         FROM generate_series($2::date, $3::date, interval '1 day') AS d
         LEFT JOIN LATERAL (SELECT score, band FROM ${table}
                             WHERE account_id = $1 AND computed_at < d + interval '1 day' ORDER BY computed_at DESC, seq DESC LIMIT 1) c ON true
        ORDER BY d`,
      [accountId, from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)],
    );
    const changes = await this.ds.getRepository(HealthChange).find({
      where: { accountId },
      order: { computedAt: 'ASC', seq: 'ASC' },
    });
    const inRange = changes.filter((c) => c.computedAt >= from && c.computedAt.getTime() < to.getTime() + DAY_MS);
    if (changes.length === 0) throw new NotFoundException(`no health history for account ${accountId}`);
    return {
      accountId,
      from: from.toISOString().slice(0, 10),
      to: to.toISOString().slice(0, 10),
      daily: daily.map((d) => ({ day: d.day, score: d.score === null ? null : Number(d.score), band: d.band })),
      changes: inRange.map((c) => ({
        at: c.computedAt.toISOString(), score: c.score, band: c.band, previousScore: c.previousScore, previousBand: c.previousBand,
        scorecard: { id: c.scorecardId, version: c.scorecardVersion }, movers: c.movers, eventId: c.eventId,
      })),
    };
  }

  /** A paged list of accounts' current health, filtered by band and segment. */
  @Get('health')
  @Roles('admin', 'ops', 'cs-lead', 'csm')
  async list(@Query() q: HealthListQueryDto, @CurrentPrincipal() who: Principal) {
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const table = this.ds.getMetadata(AccountHealth).tablePath;
    const scope = accountScope(who, ALL_ACCOUNTS);
    const where = [
      '($1::text IS NULL OR band = $1)',
      '($2::text IS NULL OR segment = $2)',
      `($3::boolean OR account_id IN (SELECT p.account_id FROM ${this.ds.getMetadata(AccountProfile).tablePath} p WHERE ${ownerInBookOrTeamSql(this.ds, 'p.owner_csm_email', 4, 5)}))`,
    ].join(' AND ');
    const params = [q.band ?? null, q.segment ?? null, scope.all, scope.all ? null : scope.ownerEmail, scope.all ? null : scope.team];
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
    const rows: { account_id: string; score: string; band: string; segment: string | null; scorecard_id: string; scorecard_version: number; computed_at: Date }[] =
      await this.ds.query(
        `SELECT account_id, score, band, segment, scorecard_id, scorecard_version, computed_at FROM ${table}
          WHERE ${where} ORDER BY ${SORT_SQL[q.sort ?? '-score']} LIMIT $6 OFFSET $7`,
        [...params, limit, offset],
      );
    return {
      total: n as number,
      limit,
      offset,
      items: rows.map((r) => ({
        accountId: r.account_id, score: Number(r.score), band: r.band, segment: r.segment,
        scorecard: { id: r.scorecard_id, version: r.scorecard_version }, computedAt: r.computed_at.toISOString(),
      })),
    };
  }

  /** Whether the caller may see this account: their book or their team's (404 otherwise, as if it did not exist). */
  private async visible(accountId: string, who: Principal): Promise<boolean> {
    const scope = accountScope(who, ALL_ACCOUNTS);
    if (scope.all) return true;
    if (!scope.ownerEmail && !scope.team) return false;
    const rows: unknown[] = await this.ds.query(
      `SELECT 1 FROM ${this.ds.getMetadata(AccountProfile).tablePath} p WHERE p.account_id = $1 AND ${ownerInBookOrTeamSql(this.ds, 'p.owner_csm_email', 2, 3)}`,
      [accountId, scope.ownerEmail, scope.team],
    );
    return rows.length > 0;
  }

  private async trend(accountId: string, score: number): Promise<{ d7: number | null; d30: number | null }> {
    const now = this.clock.now().getTime();
    const table = this.ds.getMetadata(HealthChange).tablePath;
    const at = async (days: number) => {
      const [row] = await this.ds.query(
        `SELECT score FROM ${table} WHERE account_id = $1 AND computed_at <= $2 ORDER BY computed_at DESC, seq DESC LIMIT 1`,
        [accountId, new Date(now - days * DAY_MS)],
      );
      return row ? Math.round((score - Number(row.score)) * 100) / 100 : null;
    };
    return { d7: await at(7), d30: await at(30) };
  }

  @Get('scorecards')
  @Roles('admin', 'ops', 'cs-lead', 'csm')
  async scorecards(): Promise<{ scorecards: Scorecard[] }> {
    return { scorecards: (await this.store.current()).scorecards };
  }

  @Get('scorecards/:id')
  @Roles('admin', 'ops', 'cs-lead', 'csm')
  scorecard(@Param('id') id: string): Promise<Scorecard> {
    return this.store.get(id);
  }

  /** Saves an edited scorecard as its next version (validated); the next scores use it. */
  @Put('scorecards/:id')
  @Roles('admin')
  update(@Param('id') id: string, @Body() body: unknown): Promise<Scorecard> {
    return this.store.saveNewVersion(id, body);
  }
}
