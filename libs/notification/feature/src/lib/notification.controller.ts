import {
  BadRequestException, Body, ConflictException, Controller, Delete, ForbiddenException, Get, Header, HttpCode, Inject, NotFoundException, Param, Post,
  Put, Query,
} from '@nestjs/common';
import { DataSource, type FindOptionsWhere } from 'typeorm';
import { CLOCK, type Clock } from '@kizuna/shared/contracts';
import { CurrentPrincipal, NoBearerAuth, Roles, hasRole, type Principal } from '@kizuna/shared/service-kit';
import { ChannelTarget, ContactOptOut, Delivery, NotificationRow } from '@kizuna/notification/data-access';
import { escapeHtml, isTrigger, type Play, type TriggerRule } from '@kizuna/notification/domain';
import { DeliveryQueryDto, InboxQueryDto, OptOutDto, PlaysDto, RecipientDto, TriggerRulesDto, UnsubscribeQueryDto } from './dto';
import { DeliveryWorker } from './delivery-worker.service';
import { NotificationSettings } from './notification-settings.service';
import { PlayRunner } from './play-runner.service';
import { RecipientPreferences } from './recipient-preferences.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = (id: string, what: string) => {
  if (!UUID.test(id)) throw new NotFoundException(`no ${what} ${id}`);
  return id;
};

export function deliveryView(d: Delivery) {
  return {
    id: d.id, notificationId: d.notificationId, triggerEventId: d.triggerEventId, trigger: d.trigger, recipient: d.recipient, accountId: d.accountId,
    channel: d.channel, address: d.address, mode: d.mode, status: d.status, held: d.held, attempts: d.attempts, throttled: d.throttled,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null, deliveredAt: d.deliveredAt?.toISOString() ?? null,
    providerResponse: d.providerResponse, lastError: d.lastError, attemptLog: d.attemptLog,
    createdAt: d.createdAt.toISOString(), updatedAt: d.updatedAt.toISOString(),
  };
}

function notificationView(n: NotificationRow) {
  const c = n.content;
  return {
    id: n.id, recipient: n.recipient, trigger: n.trigger, priority: n.priority, accountId: n.accountId, accountName: c.accountName || null,
    title: n.title, summary: c.summary, facts: Object.fromEntries(c.facts), evidence: c.evidence, triggerEventId: n.triggerEventId,
    read: n.readAt !== null, readAt: n.readAt?.toISOString() ?? null, createdAt: n.createdAt.toISOString(),
  };
}

/** Whether the caller may read or act for this recipient (CSM id): admin any, a csm or cs-lead their own. */
const isSelf = (who: Principal, csmId: string) => hasRole(who, 'admin') || (who.csm !== null && who.csm === csmId);

/**
 * The in-app inbox, the delivery log (dead letters, retry), recipients' preferences, trigger rules, plays and opt-outs.
 * Access: a csm or cs-lead reads their own inbox and preferences (`csm` claim = recipient id; any other
 * recipient answers 404 or an empty inbox); admin and ops read the delivery log and retry; admin
 * configures rules, plays, recipients and opt-ins; support records opt-outs; the unsubscribe link
 * carries its own signature.
 */
@Controller('v1')
export class NotificationController {
  constructor(
    private readonly ds: DataSource,
    private readonly worker: DeliveryWorker,
    private readonly settings: NotificationSettings,
    private readonly preferences: RecipientPreferences,
    private readonly plays: PlayRunner,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('notifications')
  @Roles('admin', 'cs-lead', 'csm')
  async inbox(@Query() q: InboxQueryDto, @CurrentPrincipal() who: Principal) {
    if (!isSelf(who, q.recipient)) return { total: 0, items: [] };
    const qb = this.ds.getRepository(NotificationRow).createQueryBuilder('n').where('n.recipient = :r AND n.in_app', { r: q.recipient });
    if (q.unread === 'true') qb.andWhere('n.read_at IS NULL');
    if (q.unread === 'false') qb.andWhere('n.read_at IS NOT NULL');
    const [rows, total] = await qb.orderBy('n.created_at', 'DESC').addOrderBy('n.id').take(q.limit ?? 50).skip(q.offset ?? 0).getManyAndCount();
    return { total, items: rows.map(notificationView) };
  }

  @Post('notifications/:id/read')
  @Roles('admin', 'cs-lead', 'csm')
  @HttpCode(200)
  async markRead(@Param('id') id: string, @CurrentPrincipal() who: Principal) {
    const repo = this.ds.getRepository(NotificationRow);
    const n = await repo.findOneBy({ id: uuid(id, 'notification'), inApp: true });
    if (!n || !isSelf(who, n.recipient)) throw new NotFoundException(`no notification ${id}`);
    if (!n.readAt) {
      n.readAt = this.clock.now();
      await repo.update({ id: n.id }, { readAt: n.readAt });
    }
    return notificationView(n);
  }

  @Get('deliveries')
  @Roles('admin', 'ops')
  async deliveries(@Query() q: DeliveryQueryDto) {
    const where: FindOptionsWhere<Delivery> = {
      ...(q.status ? { status: q.status } : {}), ...(q.recipient ? { recipient: q.recipient } : {}), ...(q.channel ? { channel: q.channel } : {}),
    };
    const [rows, total] = await this.ds.getRepository(Delivery).findAndCount({ where, order: { updatedAt: 'DESC', id: 'ASC' }, take: q.limit ?? 50, skip: q.offset ?? 0 });
    return { total, items: rows.map(deliveryView) };
  }

  @Get('deliveries/:id')
  @Roles('admin', 'ops')
  async delivery(@Param('id') id: string) {
    const d = await this.ds.getRepository(Delivery).findOneBy({ id: uuid(id, 'delivery') });
    if (!d) throw new NotFoundException(`no delivery ${id}`);
    return deliveryView(d);
  }

  /** Tries a failed or dead-lettered delivery again now, with a fresh set of attempts; re-enables its endpoint. */
  @Post('deliveries/:id/retry')
  @Roles('admin', 'ops')
  @HttpCode(202)
  async retry(@Param('id') id: string) {
    const now = this.clock.now();
    const d = await this.ds.transaction(async (m) => {
      const repo = m.getRepository(Delivery);
      const row = await repo.findOne({ where: { id: uuid(id, 'delivery') }, lock: { mode: 'pessimistic_write' } });
      if (!row) throw new NotFoundException(`no delivery ${id}`);
      if (row.status !== 'failed' && row.status !== 'dead-lettered') throw new ConflictException(`delivery ${id} is ${row.status}: only failed or dead-lettered deliveries can be retried`);
      Object.assign(row, { status: 'pending', attempts: 0, nextAttemptAt: now, leaseUntil: null, held: false, updatedAt: now });
      await repo.save(row);
      await m.getRepository(ChannelTarget).update({ targetKey: row.targetKey }, { disabledAt: null, failingSince: null, nextSendAt: null });
      return row;
    });
    this.worker.kick();
    return deliveryView(d);
  }

  @Get('recipients/:csmId')
  @Roles('admin', 'cs-lead', 'csm')
  async recipient(@Param('csmId') csmId: string, @CurrentPrincipal() who: Principal) {
    const r = isSelf(who, csmId) ? await this.preferences.get(csmId) : null;
    if (!r) throw new NotFoundException(`no recipient ${csmId}`);
    return r;
  }

  @Put('recipients/:csmId')
  @Roles('admin', 'cs-lead', 'csm')
  async putRecipient(@Param('csmId') csmId: string, @Body() dto: RecipientDto, @CurrentPrincipal() who: Principal) {
    if (csmId.length > 200) throw new BadRequestException('csmId: at most 200 characters');
    if (!isSelf(who, csmId)) throw new NotFoundException(`no recipient ${csmId}`);
    return this.preferences.put(csmId, dto);
  }

  @Get('trigger-rules')
  @Roles('admin', 'cs-lead')
  async triggerRules() {
    const { version, value } = await this.settings.triggerRules(true);
    return { version, rules: value };
  }

  @Put('trigger-rules')
  @Roles('admin')
  async putTriggerRules(@Body() dto: TriggerRulesDto) {
    const triggers = dto.rules.map((r) => r.trigger);
    if (new Set(triggers).size !== triggers.length) throw new BadRequestException('rules: one rule per trigger');
    if (!triggers.every(isTrigger)) throw new BadRequestException('rules: unknown trigger');
    const { version, value } = await this.settings.saveTriggerRules(dto.rules as TriggerRule[], this.clock.now());
    return { version, rules: value };
  }

  @Get('plays')
  @Roles('admin', 'cs-lead')
  async getPlays() {
    const { version, value } = await this.settings.plays(true);
    return { version, plays: value };
  }

  @Put('plays')
  @Roles('admin')
  async putPlays(@Body() dto: PlaysDto) {
    const problems: string[] = [];
    const ids = dto.plays.map((p) => p.id);
    if (new Set(ids).size !== ids.length) problems.push('plays: ids must be unique');
    for (const p of dto.plays) {
      if (p.trigger === 'feature.not-adopted' && !p.feature) problems.push(`plays.${p.id}: a feature.not-adopted play names its feature`);
      for (const [dim, values] of Object.entries(p.audience.segments ?? {})) {
        if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) problems.push(`plays.${p.id}.audience.segments.${dim}: a list of strings`);
      }
      for (const [k, v] of Object.entries(p.links ?? {})) if (typeof v !== 'string') problems.push(`plays.${p.id}.links.${k}: a string`);
    }
    if (problems.length) throw new BadRequestException(problems);
    const { version, value } = await this.settings.savePlays(dto.plays as Play[], this.clock.now());
    return { version, plays: value };
  }

  @Post('opt-outs')
  @Roles('admin', 'support')
  @HttpCode(204)
  async optOut(@Body() dto: OptOutDto): Promise<void> {
    await this.ds.getRepository(ContactOptOut).upsert({ email: dto.email.toLowerCase(), via: 'api' }, ['email']);
  }

  @Delete('opt-outs/:email')
  @Roles('admin')
  @HttpCode(204)
  async optIn(@Param('email') email: string): Promise<void> {
    const r = await this.ds.getRepository(ContactOptOut).delete({ email: email.toLowerCase() });
    if (!r.affected) throw new NotFoundException(`${email} has not opted out`);
  }

  /** The link in every play e-mail (signed with NOTIFICATION_SECRET_KEY). */
  @Get('unsubscribe')
  @NoBearerAuth('signed-link')
  @Header('content-type', 'text/html; charset=utf-8')
  async unsubscribe(@Query() q: UnsubscribeQueryDto): Promise<string> {
    if (!this.plays.unsubscribeTokenValid(q.email, q.token)) throw new ForbiddenException('this unsubscribe link is not valid');
    await this.ds.getRepository(ContactOptOut).upsert({ email: q.email.toLowerCase(), via: 'unsubscribe-link' }, ['email']);
    return `<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribed</title></head><body><p>${escapeHtml(q.email)} will receive no more of these e-mails.</p></body></html>`;
  }
}
