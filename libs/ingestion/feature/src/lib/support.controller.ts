import {
  BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res, UnauthorizedException, UseGuards, type RawBodyRequest,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { verifyZendeskSignature, zendeskTicket, type ZendeskWebhook } from '@kizuna/ingestion/domain';
import { AccountDirectoryService, type UnmatchedView } from './account-directory.service';
import { NoBearerAuth } from '@kizuna/shared/service-kit';
import { AdminGuard } from './admin.guard';
import { SourceRegistry } from './source-registry.service';
import { CallDto, PageQueryDto, SubscriptionDto, SurveyDto, TicketDto } from './support.dto';
import { SupportIntakeService, type IntakeOutcome } from './support-intake.service';
import { WriteKeyAuth } from './write-key';

/**
 * Support, call-center, survey and billing intake. Each caller is a source authenticated by its
 * write key (HTTP Basic username). Answers 200 with what happened: published (with the account
 * and how it was matched), duplicate, superseded (an older call record) or unmatched (kept).
 */
@NoBearerAuth('write-key')
@Controller('v1')
export class SupportController {
  constructor(
    private readonly auth: WriteKeyAuth,
    private readonly intake: SupportIntakeService,
    private readonly directory: AccountDirectoryService,
    private readonly registry: SourceRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post('support/tickets')
  @HttpCode(200)
  async ticket(@Req() req: FastifyRequest, @Body() body: TicketDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<IntakeOutcome> {
    return this.intake.ticket(await this.auth.source(req, undefined, reply), this.intake.ticketFromDto(body));
  }

  @Post('support/calls')
  @HttpCode(200)
  async call(@Req() req: FastifyRequest, @Body() body: CallDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<IntakeOutcome> {
    return this.intake.call(await this.auth.source(req, undefined, reply), body);
  }

  @Post('surveys')
  @HttpCode(200)
  async survey(@Req() req: FastifyRequest, @Body() body: SurveyDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<IntakeOutcome> {
    return this.intake.survey(await this.auth.source(req, undefined, reply), body);
  }

  @Post('subscriptions')
  @HttpCode(200)
  async subscription(@Req() req: FastifyRequest, @Body() body: SubscriptionDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<IntakeOutcome> {
    return this.intake.subscription(await this.auth.source(req, undefined, reply), body);
  }

  /**
   * Zendesk event-subscription webhooks (`zen:event-type:ticket.*`), verified with the source's
   * signing secret: base64 HMAC-SHA256 of timestamp + raw body, at most 5 minutes old.
   */
  @Post('sources/zendesk/webhook')
  @HttpCode(200)
  async zendesk(@Req() req: RawBodyRequest<FastifyRequest>, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<IntakeOutcome | { success: true; status: 'ignored'; reason: string }> {
    const sourceId = await this.auth.source(req, undefined, reply);
    const secrets = await this.registry.webhookSecrets(sourceId);
    if (secrets.length === 0) throw new UnauthorizedException('no webhook signing secret is configured for this source');
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const check = verifyZendeskSignature(
      secrets,
      header('x-zendesk-webhook-signature-timestamp'),
      header('x-zendesk-webhook-signature'),
      req.rawBody ?? Buffer.from(JSON.stringify(body)),
      this.clock.now(),
    );
    if (!check.ok) throw new UnauthorizedException(`invalid Zendesk signature: ${check.reason}`);
    const webhook = this.zendeskShape(body);
    const draft = zendeskTicket(webhook, this.clock.now());
    if (!draft) return { success: true, status: 'ignored', reason: `event type ${webhook.type} is not used by Kizuna` };
    if ('error' in draft) throw new BadRequestException(draft.error);
    return this.intake.ticket(sourceId, draft, `zendesk-event:${webhook.id}`);
  }

  /** Support records not matched to an account yet (admin). */
  @Get('support/unmatched')
  @NoBearerAuth('own-guard')
  @UseGuards(AdminGuard)
  unmatched(@Query() q: PageQueryDto): Promise<{ total: number; items: UnmatchedView[] }> {
    return this.directory.listUnmatched(q.limit ?? 100, q.offset ?? 0);
  }

  private zendeskShape(body: unknown): ZendeskWebhook {
    const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const problems: string[] = [];
    if (typeof b['id'] !== 'string' || !b['id']) problems.push('id: the webhook event id is required');
    if (typeof b['type'] !== 'string' || !b['type']) problems.push('type: required, e.g. "zen:event-type:ticket.created"');
    if (typeof b['detail'] !== 'object' || b['detail'] === null) problems.push('detail: required object');
    if (problems.length) throw new BadRequestException(problems.join('; '));
    const w: ZendeskWebhook = { id: b['id'] as string, type: b['type'] as string, detail: b['detail'] as Record<string, unknown> };
    if (typeof b['time'] === 'string') w.time = b['time'];
    return w;
  }
}
