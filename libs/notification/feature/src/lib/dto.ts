import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min,
  ValidateNested,
} from 'class-validator';
import { NotificationChannel, TouchModel } from '@kizuna/shared/contracts';
import { PLAY_TRIGGERS, PRIORITIES, RECIPIENT_ROLES, TRIGGERS, type PlayTrigger, type Priority, type RecipientRole, type TriggerKind } from '@kizuna/notification/domain';
import { DELIVERY_STATES, type DeliveryState } from '@kizuna/notification/data-access';

const CHANNELS = Object.values(NotificationChannel);
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export class InboxQueryDto {
  /** The CSM id. */
  @IsString() @IsNotEmpty() @MaxLength(200) recipient!: string;
  @IsOptional() @IsIn(['true', 'false']) unread?: 'true' | 'false';
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

export class DeliveryQueryDto {
  @IsOptional() @IsIn(DELIVERY_STATES) status?: DeliveryState;
  @IsOptional() @IsString() @MaxLength(200) recipient?: string;
  @IsOptional() @IsIn(CHANNELS) channel?: NotificationChannel;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

export class QuietHoursDto {
  @Matches(HHMM, { message: 'start must be HH:MM (24 h)' }) start!: string;
  @Matches(HHMM, { message: 'end must be HH:MM (24 h)' }) end!: string;
}

export class DigestDto {
  @IsBoolean() enabled!: boolean;
  /** Local hour the digest is sent. */
  @IsInt() @Min(0) @Max(23) hour!: number;
}

export class WebhookEndpointDto {
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'id must be a slug (a-z, 0-9, -), at most 64 characters' }) id!: string;
  @IsString() @MaxLength(2048) url!: string;
  /** `whsec_…` secrets, two during a rotation; omitted: keep the stored ones (or generate one for a new endpoint). */
  @IsOptional() @IsArray() @ArrayMaxSize(2) @IsString({ each: true }) secrets?: string[];
  @IsOptional() @IsArray() @IsIn(TRIGGERS, { each: true }) triggers?: TriggerKind[];
}

export class RecipientDto {
  @IsEmail() @MaxLength(320) email!: string;
  @IsOptional() @IsString() @MaxLength(200) name?: string;
  /** IANA time zone; default UTC. */
  @IsOptional() @IsString() @MaxLength(64) timeZone?: string;
  /** Channels per trigger, e.g. {"escalation.assigned": ["email", "slack", "in-app"]}. */
  @IsOptional() @IsObject() channels?: Record<string, NotificationChannel[]>;
  @IsOptional() @IsString() @MaxLength(2048) slackWebhookUrl?: string;
  @IsOptional() @IsArray() @ArrayMaxSize(10) @ValidateNested({ each: true }) @Type(() => WebhookEndpointDto) webhooks?: WebhookEndpointDto[];
  @IsOptional() @ValidateNested() @Type(() => QuietHoursDto) quietHours?: QuietHoursDto;
  @IsOptional() @ValidateNested() @Type(() => DigestDto) digest?: DigestDto;
}

export class TriggerRuleDto {
  @IsIn(TRIGGERS) trigger!: TriggerKind;
  @IsBoolean() enabled!: boolean;
  @IsArray() @IsIn(RECIPIENT_ROLES, { each: true }) recipients!: RecipientRole[];
  @IsArray() @IsIn(CHANNELS, { each: true }) channels!: NotificationChannel[];
  @IsIn(PRIORITIES) priority!: Priority;
  /** health.large-drop: points. */
  @IsOptional() @IsNumber() @Min(0.1) @Max(100) threshold?: number;
}

export class TriggerRulesDto {
  @IsArray() @ArrayMaxSize(TRIGGERS.length) @ValidateNested({ each: true }) @Type(() => TriggerRuleDto) rules!: TriggerRuleDto[];
}

export class AudienceDto {
  @IsArray() @IsIn(Object.values(TouchModel), { each: true }) touchModels!: TouchModel[];
  /** Segment dimension -> accepted values, e.g. {"contract-size": ["smb"]}. */
  @IsOptional() @IsObject() segments?: Record<string, string[]>;
}

export class PlayDto {
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'id must be a slug (a-z, 0-9, -), at most 64 characters' }) id!: string;
  @IsBoolean() enabled!: boolean;
  @IsIn(PLAY_TRIGGERS) trigger!: PlayTrigger;
  @ValidateNested() @Type(() => AudienceDto) audience!: AudienceDto;
  @IsOptional() @IsArray() @IsString({ each: true }) milestones?: string[];
  @IsOptional() @IsString() @MaxLength(200) feature?: string;
  @IsOptional() @IsInt() @Min(1) @Max(3650) afterDays?: number;
  @IsInt() @Min(0) @Max(3650) frequencyCapDays!: number;
  @IsOptional() @IsObject() links?: Record<string, string>;
  @IsString() @IsNotEmpty() @MaxLength(300) subject!: string;
  @IsString() @IsNotEmpty() @MaxLength(20000) text!: string;
}

export class PlaysDto {
  @IsArray() @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => PlayDto) plays!: PlayDto[];
}

export class OptOutDto {
  @IsEmail() @MaxLength(320) email!: string;
}

export class UnsubscribeQueryDto {
  @IsEmail() @MaxLength(320) email!: string;
  @IsString() @IsNotEmpty() @MaxLength(200) token!: string;
}
