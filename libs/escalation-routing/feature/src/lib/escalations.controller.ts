import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import { EscalationReason } from '@kizuna/shared/contracts';
import type { EscalationRuleSet } from '@kizuna/escalation-routing/domain';
import { CurrentPrincipal, Roles, hasRole, type Principal } from '@kizuna/shared/service-kit';
import { EscalationAccess } from './escalation-access.service';
import { EscalationEngine } from './escalation-engine.service';
import { EscalationViews } from './escalation-views.service';
import { EscalationListQueryDto, HandBackDto, KpiQueryDto, ManualEscalationDto, ReassignDto, ResolveDto } from './escalation.dto';
import { RulesStore } from './rules-store.service';
import { SupportKpis } from './support-kpis.service';

/**
 * The CS teams' workflow: escalations (list, context bundle, manual, acknowledge, resolve,
 * reassign, hand back), the rule set (versioned) and support KPIs. Every change is audited with the
 * authenticated subject (the token's `sub`) as actor. Access: admin everything; csm and cs-lead see
 * and act on the escalations of their book and team (EscalationAccess; 404 otherwise); support opens
 * manual escalations and reads every escalation's summary with its hand-back (not the context
 * bundle); the rules are read by admin and cs-lead and changed by admin; support KPIs are read by
 * admin, cs-lead, ops and support.
 */
@Controller('v1')
export class EscalationsController {
  constructor(
    private readonly engine: EscalationEngine,
    private readonly views: EscalationViews,
    private readonly rules: RulesStore,
    private readonly kpis: SupportKpis,
    private readonly access: EscalationAccess,
  ) {}

  @Get('escalations')
  @Roles('admin', 'cs-lead', 'csm', 'support')
  list(@Query() q: EscalationListQueryDto, @CurrentPrincipal() who: Principal) {
    return this.views.list(
      { ...(q.status ? { status: q.status } : {}), ...(q.assignee ? { assignee: q.assignee } : {}), ...(q.accountId ? { accountId: q.accountId } : {}), ...(q.reason ? { reason: q.reason } : {}) },
      q.limit ?? 50,
      q.offset ?? 0,
      (first) => this.access.condition(who, first),
    );
  }

  @Get('escalations/:id')
  @Roles('admin', 'cs-lead', 'csm', 'support')
  async get(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    await this.access.assertEscalation(id, who);
    return this.view(id, who);
  }

  /** A manual escalation (201); joins the open escalation of the same account and reason (200). */
  @Post('escalations')
  @Roles('admin', 'cs-lead', 'csm', 'support')
  @HttpCode(201)
  async create(@Body() body: ManualEscalationDto, @CurrentPrincipal() who: Principal) {
    await this.access.assertAccount(body.accountId, who);
    const r = await this.engine.manual({
      accountId: body.accountId, reason: body.reason ?? EscalationReason.Manual, priority: body.priority ?? 'normal', summary: body.summary, ref: body.ref, actor: who.sub,
    });
    return { created: r.created, escalation: await this.view(r.id, who) };
  }

  @Post('escalations/:id/acknowledge')
  @Roles('admin', 'cs-lead', 'csm')
  @HttpCode(200)
  async acknowledge(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() who: Principal) {
    await this.access.assertEscalation(id, who);
    await this.engine.workflow(id, 'acknowledge', who.sub);
    return this.view(id, who);
  }

  @Post('escalations/:id/resolve')
  @Roles('admin', 'cs-lead', 'csm')
  @HttpCode(200)
  async resolve(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: ResolveDto, @CurrentPrincipal() who: Principal) {
    await this.access.assertEscalation(id, who);
    await this.engine.workflow(id, 'resolve', who.sub, { resolution: body.resolution });
    return this.view(id, who);
  }

  @Post('escalations/:id/reassign')
  @Roles('admin', 'cs-lead', 'csm')
  @HttpCode(200)
  async reassign(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: ReassignDto, @CurrentPrincipal() who: Principal) {
    await this.access.assertEscalation(id, who);
    await this.engine.workflow(id, 'reassign', who.sub, { csmId: body.csmId, reason: body.reason });
    return this.view(id, who);
  }

  @Post('escalations/:id/hand-back')
  @Roles('admin', 'cs-lead', 'csm')
  @HttpCode(200)
  async handBack(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: HandBackDto, @CurrentPrincipal() who: Principal) {
    await this.access.assertEscalation(id, who);
    await this.engine.workflow(id, 'hand-back', who.sub, { note: body.note });
    return this.view(id, who);
  }

  /** The rule set in force, with the list of versions. */
  @Get('escalation-rules')
  @Roles('admin', 'cs-lead')
  async currentRules(): Promise<{ rules: EscalationRuleSet; versions: unknown[] }> {
    return { rules: await this.rules.current(), versions: await this.rules.versions() };
  }

  @Get('escalation-rules/versions/:version')
  @Roles('admin', 'cs-lead')
  ruleVersion(@Param('version') version: string): Promise<EscalationRuleSet> {
    const v = Number(version);
    return this.rules.get(Number.isInteger(v) && v > 0 ? v : -1);
  }

  /** Stores the whole rule set (validated) as the next version; it applies within ESCALATION_RULES_CACHE_MS. */
  @Put('escalation-rules')
  @Roles('admin')
  updateRules(@Body() body: unknown, @CurrentPrincipal() who: Principal): Promise<EscalationRuleSet> {
    return this.rules.saveNewVersion(body, who.sub);
  }

  @Get('support-kpis')
  @Roles('admin', 'cs-lead', 'ops', 'support')
  supportKpis(@Query() q: KpiQueryDto) {
    return this.kpis.compute(q.from, q.to);
  }

  /** The context bundle, or for support (without a CS role) the summary with the hand-back. */
  private async view(id: string, who: Principal) {
    if (hasRole(who, 'admin', 'cs-lead', 'csm')) return this.views.bundle(id);
    return this.views.summary(id);
  }
}
