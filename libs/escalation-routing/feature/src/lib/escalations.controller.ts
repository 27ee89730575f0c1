import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import { EscalationReason } from '@kizuna/shared/contracts';
import type { EscalationRuleSet } from '@kizuna/escalation-routing/domain';
import { ACTOR_HEADER, actorOf } from './actor';
import { EscalationEngine } from './escalation-engine.service';
import { EscalationViews } from './escalation-views.service';
import { EscalationListQueryDto, HandBackDto, KpiQueryDto, ManualEscalationDto, ReassignDto, ResolveDto } from './escalation.dto';
import { RulesStore } from './rules-store.service';
import { SupportKpis } from './support-kpis.service';

/**
 * The CS teams' workflow: escalations (list, context bundle, manual, acknowledge, resolve,
 * reassign, hand back), the rule set (versioned) and support KPIs. Every change is audited with the
 * actor from the x-kizuna-actor header (authentication arrives with issue 10).
 */
@Controller('v1')
export class EscalationsController {
  constructor(
    private readonly engine: EscalationEngine,
    private readonly views: EscalationViews,
    private readonly rules: RulesStore,
    private readonly kpis: SupportKpis,
  ) {}

  @Get('escalations')
  list(@Query() q: EscalationListQueryDto) {
    return this.views.list(
      { ...(q.status ? { status: q.status } : {}), ...(q.assignee ? { assignee: q.assignee } : {}), ...(q.accountId ? { accountId: q.accountId } : {}), ...(q.reason ? { reason: q.reason } : {}) },
      q.limit ?? 50,
      q.offset ?? 0,
    );
  }

  @Get('escalations/:id')
  get(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.views.bundle(id);
  }

  /** A manual escalation (201); joins the open escalation of the same account and reason (200). */
  @Post('escalations')
  @HttpCode(201)
  async create(@Body() body: ManualEscalationDto, @Headers(ACTOR_HEADER) actor?: string) {
    const r = await this.engine.manual({
      accountId: body.accountId, reason: body.reason ?? EscalationReason.Manual, priority: body.priority ?? 'normal', summary: body.summary, ref: body.ref, actor: actorOf(actor),
    });
    return { created: r.created, escalation: await this.views.bundle(r.id) };
  }

  @Post('escalations/:id/acknowledge')
  @HttpCode(200)
  async acknowledge(@Param('id', new ParseUUIDPipe()) id: string, @Headers(ACTOR_HEADER) actor?: string) {
    await this.engine.workflow(id, 'acknowledge', actorOf(actor));
    return this.views.bundle(id);
  }

  @Post('escalations/:id/resolve')
  @HttpCode(200)
  async resolve(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: ResolveDto, @Headers(ACTOR_HEADER) actor?: string) {
    await this.engine.workflow(id, 'resolve', actorOf(actor), { resolution: body.resolution });
    return this.views.bundle(id);
  }

  @Post('escalations/:id/reassign')
  @HttpCode(200)
  async reassign(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: ReassignDto, @Headers(ACTOR_HEADER) actor?: string) {
    await this.engine.workflow(id, 'reassign', actorOf(actor), { csmId: body.csmId, reason: body.reason });
    return this.views.bundle(id);
  }

  @Post('escalations/:id/hand-back')
  @HttpCode(200)
  async handBack(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: HandBackDto, @Headers(ACTOR_HEADER) actor?: string) {
    await this.engine.workflow(id, 'hand-back', actorOf(actor), { note: body.note });
    return this.views.bundle(id);
  }

  /** The rule set in force, with the list of versions. */
  @Get('escalation-rules')
  async currentRules(): Promise<{ rules: EscalationRuleSet; versions: unknown[] }> {
    return { rules: await this.rules.current(), versions: await this.rules.versions() };
  }

  @Get('escalation-rules/versions/:version')
  ruleVersion(@Param('version') version: string): Promise<EscalationRuleSet> {
    const v = Number(version);
    return this.rules.get(Number.isInteger(v) && v > 0 ? v : -1);
  }

  /** Stores the whole rule set (validated) as the next version; it applies within ESCALATION_RULES_CACHE_MS. */
  @Put('escalation-rules')
  updateRules(@Body() body: unknown, @Headers(ACTOR_HEADER) actor?: string): Promise<EscalationRuleSet> {
    return this.rules.saveNewVersion(body, actorOf(actor));
  }

  @Get('support-kpis')
  supportKpis(@Query() q: KpiQueryDto) {
    return this.kpis.compute(q.from, q.to);
  }
}
