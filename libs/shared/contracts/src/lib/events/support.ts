import {
  IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsISO8601, IsNotEmpty, IsNumber, IsOptional, IsString, Max, MaxLength, Min,
} from 'class-validator';
import { SupportChannel } from '../enums';

export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];
export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** A help-desk ticket as it stands after a change (created, updated, solved, reopened...). */
export class TicketUpdatedV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() ticketId!: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsOptional() @IsEmail() requesterEmail?: string;
  @IsIn(Object.values(SupportChannel)) channel!: SupportChannel;
  @IsOptional() @IsString() @MaxLength(256) category?: string;
  @IsArray() @IsString({ each: true }) tags!: string[];
  @IsIn(TICKET_PRIORITIES) priority!: TicketPriority;
  @IsOptional() @IsString() @MaxLength(2000) subject?: string;
  @IsIn(TICKET_STATUSES) status!: TicketStatus;
  @IsInt() @Min(0) reopenedCount!: number;
  /** CSAT given on the ticket, 1..5. */
  @IsOptional() @IsInt() @Min(1) @Max(5) satisfaction?: number;
  /** The agent's explicit "needs CS" flag. */
  @IsBoolean() needsCs!: boolean;
  @IsISO8601() createdAt!: string;
  @IsISO8601() updatedAt!: string;
}

/** A call-center contact record (at least once, possibly updated; newest lastUpdatedAt wins). */
export class CallRecordedV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() contactId!: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsOptional() @IsString() queue?: string;
  @IsOptional() @IsString() agentId?: string;
  @IsISO8601() startedAt!: string;
  @IsOptional() @IsISO8601() endedAt?: string;
  @IsInt() @Min(0) talkSeconds!: number;
  @IsInt() @Min(0) holdSeconds!: number;
  @IsInt() @Min(0) transfers!: number;
  @IsOptional() @IsString() reasonCode?: string;
  @IsOptional() @IsString() disposition?: string;
  /** -1 (very negative) .. 1 (very positive). */
  @IsOptional() @IsNumber() @Min(-1) @Max(1) sentiment?: number;
  @IsBoolean() callbackRequested!: boolean;
  @IsBoolean() needsCs!: boolean;
  @IsISO8601() lastUpdatedAt!: string;
}
