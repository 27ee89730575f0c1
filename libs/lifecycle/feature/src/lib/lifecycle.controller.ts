import { BadRequestException, Body, Controller, Get, Inject, NotFoundException, Param, Put, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsNumber, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { CLOCK, LifecyclePhase, TouchModel, type Clock } from '@kizuna/shared/contracts';
import { ownerInBookOrTeamSql, queryRows } from '@kizuna/shared/persistence';
import { CurrentPrincipal, Roles, accountScope, type Principal } from '@kizuna/shared/service-kit';
import { AccountLifecycle, LifecycleTransition } from '@kizuna/lifecycle/data-access';
import {
  contractSizeOfState, expansionOf, onboardingProgressOf, renewalWindowOf, type AccountLifecycleState,
} from '@kizuna/lifecycle/domain';
import { LifecycleKpis, parseSegment, segmentCondition, type KpiResponse } from './lifecycle-kpis.service';
import { LifecycleRulesStore, type RulesVersion } from './lifecycle-rules.store';

export class AccountListQueryDto {
  @IsOptional() @IsIn(Object.values(LifecyclePhase)) phase?: LifecyclePhase;
  @IsOptional() @IsIn(Object.values(TouchModel)) touchModel?: TouchModel;
  /** `dimension:value` (e.g. `contract-size:smb`) or a value in any dimension. */
  @IsOptional() @IsString() @MaxLength(200) segment?: string;
  /** Renewal date between now and this many days from now (churned accounts left out). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(3650) renewalWithinDays?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

export class KpiQueryDto {
  /** Period start (inclusive); default 90 days before `to`. */
  @IsOptional() @IsISO8601() from?: string;
  /** Period end (exclusive); default now. */
  @IsOptional() @IsISO8601() to?: string;
  @IsOptional() @IsString() @MaxLength(200) segment?: string;
  /** Gross margin for LTV (0 < m <= 1); default LIFECYCLE_GROSS_MARGIN. */
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0.0001) @Max(1) grossMargin?: number;
  /** Customer acquisition cost of the period for LTV/CAC; default LIFECYCLE_CAC. */
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0.01) cac?: number;
}

export class RulesQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) version?: number;
}

/** Roles that read every account; csm and cs-lead read their book and their team's. */
const ALL_ACCOUNTS = ['admin'] as const;

interface TransitionView {
  from: string | null;
  to: string | null;
  at: string;
  cause: string | null;
  eventId: string;
}

/**
 * Accounts' lifecycle (profile, phase and history, touch model, segments, milestones), KPIs and the
 * rules. Access: admin reads every account; csm and cs-lead read the accounts whose owner CSM email
 * is their token's `email` or the e-mail of a roster member of their token's `team` (cs.roster.v1,
 * projected into roster_member_projection); any other answers 404 and is left out of lists. KPIs
 * (aggregates) for admin, cs-lead and ops; the rules are read by admin and cs-lead and changed by admin.
 */
@Controller('v1')
export class LifecycleController {
  constructor(
    private readonly ds: DataSource,
    private readonly kpis: LifecycleKpis,
    private readonly rules: LifecycleRulesStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('accounts/:accountId')
  @Roles('admin', 'cs-lead', 'csm')
  async account(@Param('accountId') accountId: string, @CurrentPrincipal() who: Principal) {
    const row = await this.ds.getRepository(AccountLifecycle).findOneBy({ accountId });
    if (!row || !(await this.visible(accountId, who))) throw new NotFoundException(`no lifecycle for account ${accountId} yet`);
    const s = row.state as unknown as AccountLifecycleState;
    const { rules } = await this.rules.current();
    const now = this.clock.now();
    const transitions = await queryRows<{ kind: string; dimension: string | null; from_value: string | null; to_value: string | null; at: Date; cause: string | null; event_id: string }>(
      this.ds,
      `SELECT kind, dimension, from_value, to_value, at, cause, event_id FROM ${this.ds.getMetadata(LifecycleTransition).tablePath}
        WHERE account_id = $1 ORDER BY at, seq`,
      [accountId],
    );
    const of = (kind: string): (TransitionView & { dimension: string | null })[] =>
      transitions
        .filter((t) => t.kind === kind)
        .map((t) => ({ from: t.from_value, to: t.to_value, at: t.at.toISOString(), cause: t.cause, eventId: t.event_id, dimension: t.dimension }));
    const strip = (xs: (TransitionView & { dimension: string | null })[]): TransitionView[] => xs.map(({ dimension: _d, ...rest }) => rest);
    const progress = onboardingProgressOf(s, rules);
    return {
      accountId,
      profile: {
        name: row.name,
        ownerCsmEmail: row.ownerCsmEmail,
        industry: s.profile.industry?.value ?? null,
        region: s.profile.region?.value ?? null,
        plan: s.profile.plan?.value ?? null,
        contractSize: contractSizeOfState(s, rules) ?? null,
        arr: s.profile.arr?.value ?? null,
        mrr: row.mrr,
        seats: s.seats.latest?.value ?? null,
        contractStart: s.profile.contractStart?.value ?? null,
        renewalDate: s.profile.renewalDate?.value ?? null,
        startedAt: s.startedAt,
        status: s.subscriptionStatus,
        cancelEffectiveAt: s.cancelEffectiveAt,
      },
      phase: { current: s.phase, rule: s.phaseRule, since: s.phaseSince, cause: s.phaseCause, history: strip(of('phase')) },
      touchModel: { current: s.touchModel, reason: s.touchModelReason, since: s.touchModelSince, cause: s.touchModelCause, history: strip(of('touch-model')) },
      segments: {
        current: s.segments,
        causes: s.segmentCauses,
        history: of('segment').map((t) => ({ dimension: t.dimension, from: t.from, to: t.to, at: t.at, cause: t.cause, eventId: t.eventId })),
      },
      onboarding: {
        contractSize: progress.size,
        startedAt: progress.startedAt,
        complete: progress.complete,
        completedAt: progress.completedAt,
        milestones: progress.milestones,
        stalled: of('onboarding-stalled').map((t) => ({ milestone: t.dimension, dueAt: t.to, detectedAt: t.at, cause: t.cause })),
      },
      renewal: { ...renewalWindowOf(s, rules, now), windowsOpened: of('renewal-window').map((t) => ({ renewalDate: t.to, openedAt: t.at })) },
      expansion: expansionOf(s, rules, now),
      evaluatedAt: s.evaluatedAt,
    };
  }

  @Get('accounts')
  @Roles('admin', 'cs-lead', 'csm')
  async list(@Query() q: AccountListQueryDto, @CurrentPrincipal() who: Principal) {
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const conditions: string[] = ['phase IS NOT NULL'];
    const params: unknown[] = [];
    const add = (sql: (n: number) => string, ...values: unknown[]) => {
      conditions.push(sql(params.length + 1));
      params.push(...values);
    };
    const scope = accountScope(who, ALL_ACCOUNTS);
    if (!scope.all) add((n) => ownerInBookOrTeamSql(this.ds, 'lower(owner_csm_email)', n, n + 1), scope.ownerEmail, scope.team);
    if (q.phase) add((n) => `phase = $${n}`, q.phase);
    if (q.touchModel) add((n) => `touch_model = $${n}`, q.touchModel);
    if (q.segment) {
      const cond = segmentCondition(parseSegment(q.segment), params.length + 1);
      conditions.push(cond.sql);
      params.push(...cond.params);
    }
    if (q.renewalWithinDays !== undefined) {
      const now = this.clock.now();
      add((n) => `renewal_date >= $${n} AND renewal_date <= $${n + 1} AND phase IS DISTINCT FROM 'churned'`, now, new Date(now.getTime() + q.renewalWithinDays * 86_400_000));
    }
    const where = `WHERE ${conditions.join(' AND ')}`;
    const table = this.ds.getMetadata(AccountLifecycle).tablePath;
    const [{ n }] = await queryRows<{ n: number }>(this.ds, `SELECT count(*)::int AS n FROM ${table} ${where}`, params) as [{ n: number }];
    const rows = await queryRows<{
      account_id: string; name: string | null; phase: string | null; touch_model: string | null; segments: Record<string, string>; renewal_date: Date | null;
      mrr: string; owner_csm_email: string | null; phase_since: string | null; touch_model_reason: string | null;
    }>(
      this.ds,
      `SELECT account_id, name, phase, touch_model, segments, renewal_date, mrr, owner_csm_email,
              state ->> 'phaseSince' AS phase_since, state ->> 'touchModelReason' AS touch_model_reason FROM ${table} ${where}
        ORDER BY renewal_date ASC NULLS LAST, account_id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    );
    return {
      total: n,
      limit,
      offset,
      items: rows.map((r) => ({
        accountId: r.account_id,
        name: r.name,
        ownerCsmEmail: r.owner_csm_email,
        phase: r.phase,
        phaseSince: r.phase_since,
        touchModel: r.touch_model,
        touchModelReason: r.touch_model_reason,
        segments: r.segments,
        mrr: Number(r.mrr),
        renewalDate: r.renewal_date?.toISOString() ?? null,
      })),
    };
  }

  /** Whether the caller may see this account: their book or their team's (404 otherwise, as if it did not exist). */
  private async visible(accountId: string, who: Principal): Promise<boolean> {
    const scope = accountScope(who, ALL_ACCOUNTS);
    if (scope.all) return true;
    if (!scope.ownerEmail && !scope.team) return false;
    const rows = await queryRows<{ one: number }>(
      this.ds,
      `SELECT 1 AS one FROM ${this.ds.getMetadata(AccountLifecycle).tablePath} WHERE account_id = $1 AND ${ownerInBookOrTeamSql(this.ds, 'lower(owner_csm_email)', 2, 3)}`,
      [accountId, scope.ownerEmail, scope.team],
    );
    return rows.length > 0;
  }

  @Get('kpis')
  @Roles('admin', 'cs-lead', 'ops')
  async kpiReport(@Query() q: KpiQueryDto): Promise<KpiResponse> {
    const d = this.kpis.defaultPeriod();
    const to = q.to ? new Date(q.to).toISOString() : d.to;
    const from = q.from ? new Date(q.from).toISOString() : new Date(Date.parse(to) - 90 * 86_400_000).toISOString();
    if (Date.parse(from) >= Date.parse(to)) throw new BadRequestException('from: must be before to');
    return this.kpis.compute({ from, to }, q.segment, q.grossMargin, q.cac);
  }

  @Get('lifecycle-rules')
  @Roles('admin', 'cs-lead')
  getRules(@Query() q: RulesQueryDto): Promise<RulesVersion> {
    return this.rules.get(q.version);
  }

  /** Validates the rules (every problem listed) and stores them as the next version; the next evaluations use them. */
  @Put('lifecycle-rules')
  @Roles('admin')
  putRules(@Body() body: unknown): Promise<RulesVersion> {
    return this.rules.save(body);
  }
}
