import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested,
} from 'class-validator';
import { ESCALATION_PRIORITIES, EscalationReason, EscalationState, NotificationChannel, type EscalationPriority } from '@kizuna/shared/contracts';

export class OutOfOfficeDto {
  @IsISO8601() from!: string;
  @IsISO8601() to!: string;
}

export class NotificationChannelDto {
  @IsIn(Object.values(NotificationChannel)) type!: NotificationChannel;
  /** An e-mail address, a Slack channel or user id, a webhook URL, or the user id for in-app. */
  @IsString() @IsNotEmpty() @MaxLength(1000) target!: string;
}

/** `PUT /v1/csms/:id`: the whole CSM record. */
export class CsmDto {
  @IsString() @IsNotEmpty() @MaxLength(256) name!: string;
  @IsEmail() @MaxLength(320) email!: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(128) teamId?: string;
  @IsOptional() @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @MaxLength(64, { each: true }) specialties?: string[];
  @Type(() => Number) @IsInt() @Min(0) @Max(10_000) capacity!: number;
  @IsBoolean() active!: boolean;
  @IsOptional() @ValidateNested() @Type(() => OutOfOfficeDto) outOfOffice?: OutOfOfficeDto | null;
  @IsOptional() @IsArray() @ArrayMaxSize(10) @ValidateNested({ each: true }) @Type(() => NotificationChannelDto) notificationChannels?: NotificationChannelDto[];
}

export class BusinessHoursDto {
  /** IANA time zone, e.g. Asia/Tokyo. */
  @IsString() @IsNotEmpty() timeZone!: string;
  /** Weekdays, 0 = Sunday .. 6 = Saturday. */
  @IsArray() @Type(() => Number) @IsInt({ each: true }) @Min(0, { each: true }) @Max(6, { each: true }) days!: number[];
  @Matches(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'start must be HH:MM (24 h)' }) start!: string;
  @Matches(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'end must be HH:MM (24 h)' }) end!: string;
}

/** `PUT /v1/teams/:id`. */
export class TeamDto {
  @IsString() @IsNotEmpty() @MaxLength(256) name!: string;
  @IsString() @IsNotEmpty() @MaxLength(64) region!: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(128) leadCsmId?: string;
  @ValidateNested() @Type(() => BusinessHoursDto) businessHours!: BusinessHoursDto;
}

export class CsmListQueryDto {
  @IsOptional() @IsString() @MaxLength(128) teamId?: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsIn(['true', 'false']) active?: 'true' | 'false';
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

export class EscalationListQueryDto {
  @IsOptional() @IsIn([...Object.values(EscalationState), 'active'] as string[]) status?: EscalationState | 'active';
  /** A CSM id. */
  @IsOptional() @IsString() @MaxLength(128) assignee?: string;
  @IsOptional() @IsString() @MaxLength(256) accountId?: string;
  @IsOptional() @IsIn(Object.values(EscalationReason)) reason?: EscalationReason;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

/** `POST /v1/escalations`: a manual escalation by a support user. */
export class ManualEscalationDto {
  @IsString() @IsNotEmpty() @MaxLength(256) accountId!: string;
  /** Defaults to "manual"; another reason joins the open escalation of that reason. */
  @IsOptional() @IsIn(Object.values(EscalationReason)) reason?: EscalationReason;
  @IsOptional() @IsIn(ESCALATION_PRIORITIES) priority?: EscalationPriority;
  /** What support saw: the text the CSM reads first. */
  @IsString() @IsNotEmpty() @MaxLength(5000) summary!: string;
  /** The ticket or call id it is about, if any. */
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) ref?: string;
}

export class ResolveDto {
  @IsString() @IsNotEmpty() @MaxLength(5000) resolution!: string;
}

export class ReassignDto {
  @IsString() @IsNotEmpty() @MaxLength(128) csmId!: string;
  @IsString() @IsNotEmpty() @MaxLength(2000) reason!: string;
}

export class HandBackDto {
  /** What support should do or tell the customer: closes the loop. */
  @IsString() @IsNotEmpty() @MaxLength(5000) note!: string;
}

export class KpiQueryDto {
  @IsISO8601() from!: string;
  @IsISO8601() to!: string;
}
