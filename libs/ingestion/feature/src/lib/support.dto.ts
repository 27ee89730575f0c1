import { Type } from 'class-transformer';
import {
  IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsISO8601, IsNotEmpty, IsNumber, IsOptional, IsString, Length, Max, MaxLength, Min,
} from 'class-validator';
import {
  SUBSCRIPTION_CHANGES, SURVEY_KINDS, SupportChannel, TICKET_PRIORITIES, TICKET_STATUSES,
  type SubscriptionChange, type SurveyKind, type TicketPriority, type TicketStatus,
} from '@kizuna/shared/contracts';

/** `POST /v1/support/tickets`: a ticket from any help desk, as it stands after a change. */
export class TicketDto {
  @IsString() @IsNotEmpty() @MaxLength(256) id!: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) accountId?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) organizationExternalId?: string;
  @IsOptional() @IsEmail() requesterEmail?: string;
  @IsOptional() @IsIn(Object.values(SupportChannel)) channel?: SupportChannel;
  @IsOptional() @IsString() @MaxLength(256) category?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) @MaxLength(128, { each: true }) tags?: string[];
  @IsOptional() @IsIn(TICKET_PRIORITIES) priority?: TicketPriority;
  @IsOptional() @IsString() @MaxLength(2000) subject?: string;
  @IsIn(TICKET_STATUSES) status!: TicketStatus;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) reopenedCount?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(5) satisfaction?: number;
  /** The agent's "needs CS" flag. */
  @IsOptional() @IsBoolean() needsCs?: boolean;
  @IsISO8601() createdAt!: string;
  @IsISO8601() updatedAt!: string;
}

/** `POST /v1/support/calls`: a call-center contact record (at least once; newest lastUpdatedAt wins). */
export class CallDto {
  @IsString() @IsNotEmpty() @MaxLength(256) contactId!: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) accountId?: string;
  @IsOptional() @IsEmail() callerEmail?: string;
  @IsOptional() @IsString() @MaxLength(64) callerNumber?: string;
  @IsOptional() @IsString() @MaxLength(256) queue?: string;
  @IsOptional() @IsString() @MaxLength(256) agentId?: string;
  @IsISO8601() startedAt!: string;
  @IsOptional() @IsISO8601() endedAt?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) talkSeconds?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) holdSeconds?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) transfers?: number;
  @IsOptional() @IsString() @MaxLength(256) reasonCode?: string;
  @IsOptional() @IsString() @MaxLength(256) disposition?: string;
  @IsOptional() @Type(() => Number) @IsNumber() @Min(-1) @Max(1) sentiment?: number;
  @IsOptional() @IsBoolean() callbackRequested?: boolean;
  @IsOptional() @IsBoolean() needsCs?: boolean;
  @IsISO8601() lastUpdatedAt!: string;
}

/** `POST /v1/surveys`: an NPS (0..10) or CSAT (1..5) answer. */
export class SurveyDto {
  @IsString() @IsNotEmpty() @MaxLength(256) responseId!: string;
  @IsIn(SURVEY_KINDS) kind!: SurveyKind;
  @Type(() => Number) @IsInt() @Min(0) @Max(10) score!: number;
  @IsOptional() @IsString() @MaxLength(5000) comment?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) accountId?: string;
  @IsOptional() @IsEmail() respondentEmail?: string;
  @IsOptional() @IsString() @MaxLength(256) userId?: string;
  @IsISO8601() answeredAt!: string;
}

/** `POST /v1/subscriptions`: a subscription or billing change. */
export class SubscriptionDto {
  @IsString() @IsNotEmpty() @MaxLength(256) changeId!: string;
  @IsString() @IsNotEmpty() @MaxLength(256) accountId!: string;
  @IsString() @IsNotEmpty() @MaxLength(256) subscriptionId!: string;
  @IsIn(SUBSCRIPTION_CHANGES) change!: SubscriptionChange;
  @IsOptional() @IsString() @MaxLength(128) plan?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) seats?: number;
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0) mrr?: number;
  @IsOptional() @Type(() => Number) @IsNumber() @Min(0) arr?: number;
  @IsOptional() @IsString() @Length(3, 3) currency?: string;
  @IsOptional() @IsISO8601() termStart?: string;
  @IsOptional() @IsISO8601() termEnd?: string;
  @IsISO8601() effectiveAt!: string;
}

export class WebhookSecretDto {
  /** The signing secret the help desk shows for this webhook. */
  @IsString() @Length(16, 512) secret!: string;
  /** How long the previous secret keeps verifying (rotation). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(7 * 24 * 3600) graceSeconds?: number;
}

export class PageQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}
