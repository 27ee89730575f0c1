import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { trace } from '@opentelemetry/api';
import {
  CLOCK, SupportChannel, type CallRecordedV1, type Clock, type SubscriptionChangedV1, type SurveyAnsweredV1, type TicketUpdatedV1,
} from '@kizuna/shared/contracts';
import { queryRows } from '@kizuna/shared/persistence';
import { CallRecordState } from '@kizuna/ingestion/data-access';
import { matchAccount, type AccountHints, type TicketDraft } from '@kizuna/ingestion/domain';
import { AccountDirectoryService, type UnmatchedDraft } from './account-directory.service';
import { EventIntake } from './event-intake.service';
import type { CallDto, SubscriptionDto, SurveyDto, TicketDto } from './support.dto';

export type IntakeStatus = 'published' | 'duplicate' | 'unmatched' | 'superseded';

export interface IntakeOutcome {
  success: true;
  status: IntakeStatus;
  accountId?: string;
  matchedBy?: string;
}

type Without<T, K extends keyof T> = Omit<T, K>;

interface RecordSpec {
  kind: 'ticket' | 'call' | 'survey' | 'subscription';
  externalId: string;
  messageId: string;
  hints: AccountHints;
  draft: UnmatchedDraft;
  /** For call records: only a newer lastUpdatedAt replaces the stored version. */
  callUpdatedAt?: Date;
}

/**
 * Help-desk tickets, call-center contacts, survey answers and billing changes: deduplicated per
 * source, matched to an account (account id, organization external id, e-mail domain, known
 * contact), published on cs.support.v1 / cs.survey.v1 / cs.billing.v1, or kept as unmatched
 * until a mapping appears.
 */
@Injectable()
export class SupportIntakeService {
  constructor(
    private readonly ds: DataSource,
    private readonly intake: EventIntake,
    private readonly directory: AccountDirectoryService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  ticketFromDto(dto: TicketDto): TicketDraft {
    const hints: AccountHints = {};
    if (dto.accountId) hints.accountId = dto.accountId;
    if (dto.organizationExternalId) hints.organizationExternalId = dto.organizationExternalId;
    if (dto.requesterEmail) hints.email = dto.requesterEmail;
    const draft: TicketDraft = {
      ticketId: dto.id,
      hints,
      channel: dto.channel ?? SupportChannel.Other,
      tags: (dto.tags ?? []).map((t) => t.toLowerCase()),
      priority: dto.priority ?? 'normal',
      status: dto.status,
      reopenedCount: dto.reopenedCount ?? 0,
      needsCs: dto.needsCs ?? false,
      createdAt: new Date(dto.createdAt).toISOString(),
      updatedAt: new Date(dto.updatedAt).toISOString(),
    };
    if (dto.requesterEmail) draft.requesterEmail = dto.requesterEmail.toLowerCase();
    if (dto.category) draft.category = dto.category;
    if (dto.subject) draft.subject = dto.subject;
    if (dto.satisfaction !== undefined) draft.satisfaction = dto.satisfaction;
    return draft;
  }

  /** A ticket as it stands; `messageId` identifies this delivery (a retry carries the same). */
  ticket(sourceId: string, t: TicketDraft, messageId = `ticket:${t.ticketId}:${t.updatedAt}`): Promise<IntakeOutcome> {
    const { hints: _hints, ...fields } = t;
    const data: Without<TicketUpdatedV1, 'accountId'> = { sourceId, ...fields };
    return this.record(sourceId, {
      kind: 'ticket', externalId: t.ticketId, messageId, hints: t.hints,
      draft: { type: 'cs.support.ticket.updated.v1', data: data as unknown as Record<string, unknown> },
    });
  }

  call(sourceId: string, c: CallDto): Promise<IntakeOutcome> {
    const data: Without<CallRecordedV1, 'accountId'> = {
      sourceId,
      contactId: c.contactId,
      startedAt: new Date(c.startedAt).toISOString(),
      talkSeconds: c.talkSeconds ?? 0,
      holdSeconds: c.holdSeconds ?? 0,
      transfers: c.transfers ?? 0,
      callbackRequested: c.callbackRequested ?? false,
      needsCs: c.needsCs ?? false,
      lastUpdatedAt: new Date(c.lastUpdatedAt).toISOString(),
      ...(c.queue ? { queue: c.queue } : {}),
      ...(c.agentId ? { agentId: c.agentId } : {}),
      ...(c.endedAt ? { endedAt: new Date(c.endedAt).toISOString() } : {}),
      ...(c.reasonCode ? { reasonCode: c.reasonCode } : {}),
      ...(c.disposition ? { disposition: c.disposition } : {}),
      ...(c.sentiment !== undefined ? { sentiment: c.sentiment } : {}),
    };
    const hints: AccountHints = {};
    if (c.accountId) hints.accountId = c.accountId;
    if (c.callerEmail) hints.email = c.callerEmail;
    return this.record(sourceId, {
      kind: 'call', externalId: c.contactId, messageId: `call:${c.contactId}:${data.lastUpdatedAt}`, hints,
      draft: { type: 'cs.support.call.recorded.v1', data: data as unknown as Record<string, unknown> },
      callUpdatedAt: new Date(c.lastUpdatedAt),
    });
  }

  survey(sourceId: string, s: SurveyDto): Promise<IntakeOutcome> {
    if (s.kind === 'csat' && (s.score < 1 || s.score > 5)) throw new BadRequestException('score: a CSAT answer is 1 to 5');
    const data: Without<SurveyAnsweredV1, 'accountId'> = {
      sourceId, responseId: s.responseId, kind: s.kind, score: s.score, answeredAt: new Date(s.answeredAt).toISOString(),
      ...(s.comment ? { comment: s.comment } : {}),
      ...(s.userId ? { userId: s.userId } : {}),
    };
    const hints: AccountHints = {};
    if (s.accountId) hints.accountId = s.accountId;
    if (s.respondentEmail) hints.email = s.respondentEmail;
    return this.record(sourceId, {
      kind: 'survey', externalId: s.responseId, messageId: `survey:${s.responseId}`, hints,
      draft: { type: 'cs.survey.answered.v1', data: data as unknown as Record<string, unknown> },
    });
  }

  subscription(sourceId: string, b: SubscriptionDto): Promise<IntakeOutcome> {
    const data: Without<SubscriptionChangedV1, 'accountId'> = {
      sourceId, changeId: b.changeId, subscriptionId: b.subscriptionId, change: b.change, effectiveAt: new Date(b.effectiveAt).toISOString(),
      ...(b.plan ? { plan: b.plan } : {}),
      ...(b.seats !== undefined ? { seats: b.seats } : {}),
      ...(b.mrr !== undefined ? { mrr: b.mrr } : {}),
      ...(b.arr !== undefined ? { arr: b.arr } : {}),
      ...(b.currency ? { currency: b.currency.toUpperCase() } : {}),
      ...(b.termStart ? { termStart: new Date(b.termStart).toISOString() } : {}),
      ...(b.termEnd ? { termEnd: new Date(b.termEnd).toISOString() } : {}),
    };
    return this.record(sourceId, {
      kind: 'subscription', externalId: b.changeId, messageId: `billing:${b.changeId}`, hints: { accountId: b.accountId },
      draft: { type: 'cs.billing.subscription.changed.v1', data: data as unknown as Record<string, unknown> },
    });
  }

  private async record(sourceId: string, r: RecordSpec): Promise<IntakeOutcome> {
    const at = this.clock.now();
    const outcome = await this.ds.transaction(async (m): Promise<IntakeOutcome> => {
      const fresh = await this.intake.claim(m, sourceId, [r.messageId], at);
      if (!fresh.has(r.messageId)) return { success: true, status: 'duplicate' };
      if (r.callUpdatedAt && !(await this.newestCallVersion(m, sourceId, r.externalId, r.callUpdatedAt))) {
        return { success: true, status: 'superseded' };
      }
      const match = matchAccount(r.hints, await this.directory.lookup(m, [r.hints]));
      if (!match) {
        await this.directory.keepUnmatched(m, { sourceId, kind: r.kind, externalId: r.externalId, messageId: r.messageId, email: r.hints.email, draft: r.draft, at });
        return { success: true, status: 'unmatched' };
      }
      await this.intake.publish([this.directory.matchedEvent(sourceId, r.messageId, r.draft, match.accountId)]);
      return { success: true, status: 'published', accountId: match.accountId, matchedBy: match.matchedBy };
    });
    trace.getActiveSpan()?.setAttributes({
      'kizuna.intake.kind': r.kind,
      'kizuna.intake.status': outcome.status,
      ...(outcome.accountId ? { 'kizuna.account_id': outcome.accountId } : {}),
    });
    return outcome;
  }

  /** Stores this version if it is newer than the stored one; false when an equal or newer one was seen. */
  private async newestCallVersion(m: EntityManager, sourceId: string, contactId: string, at: Date): Promise<boolean> {
    const rows = await queryRows(
      m,
      `INSERT INTO ${m.connection.getMetadata(CallRecordState).tablePath} AS c (source_id, contact_id, last_updated_at)
       VALUES ($1, $2, $3)
       ON CONFLICT (source_id, contact_id) DO UPDATE SET last_updated_at = EXCLUDED.last_updated_at
         WHERE c.last_updated_at < EXCLUDED.last_updated_at
       RETURNING contact_id`,
      [sourceId, contactId, at],
    );
    return rows.length > 0;
  }
}
