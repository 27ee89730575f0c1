import { Type } from 'class-transformer';
import {
  IsArray, IsEmail, IsIn, IsISO8601, IsNotEmpty, IsNumber, IsOptional, IsString, Max, Min, ValidateNested,
} from 'class-validator';
import { EscalationReason, EscalationState, HealthBand, LifecyclePhase, TouchModel } from '../enums';

export const ESCALATION_PRIORITIES = ['low', 'normal', 'high'] as const;
export type EscalationPriority = (typeof ESCALATION_PRIORITIES)[number];

export class EscalationAssigneeV1 {
  @IsString() @IsNotEmpty() csmId!: string;
  @IsString() @IsNotEmpty() name!: string;
  @IsEmail() email!: string;
  /** Why this person (routing step and its evidence). */
  @IsString() @IsNotEmpty() why!: string;
}

export const ESCALATION_EVIDENCE_KINDS = ['ticket', 'call', 'survey', 'health', 'lifecycle', 'manual', 'product'] as const;
export type EscalationEvidenceKind = (typeof ESCALATION_EVIDENCE_KINDS)[number];

export class EscalationEvidenceV1 {
  /** What the evidence is; "product" is a product signal (e.g. "Seat Limit Reached"). */
  @IsIn(ESCALATION_EVIDENCE_KINDS) kind!: string;
  @IsString() @IsNotEmpty() ref!: string;
  @IsString() summary!: string;
  @IsISO8601() at!: string;
}

/** A CSM named in an escalation event besides the assignee (team lead, previous assignee). */
export class EscalationPersonV1 {
  @IsString() @IsNotEmpty() csmId!: string;
  @IsString() @IsNotEmpty() name!: string;
  @IsEmail() email!: string;
}

/** Context carried with every escalation event so notification needs no lookups back. */
export class EscalationContextV1 {
  @IsOptional() @IsString() accountName?: string;
  @IsOptional() @IsIn(Object.values(HealthBand)) band?: HealthBand;
  @IsOptional() @IsNumber() @Min(0) @Max(100) healthScore?: number;
  @IsOptional() @IsIn(Object.values(LifecyclePhase)) phase?: LifecyclePhase;
  @IsOptional() @IsIn(Object.values(TouchModel)) touchModel?: TouchModel;
  @IsOptional() @IsNumber() @Min(0) arr?: number;
  @IsOptional() @IsString() region?: string;
  /** Human-readable movers of the health score, e.g. "engagement.activeUsers -12". */
  @IsOptional() @IsArray() @IsString({ each: true }) topMovers?: string[];
}

/** One payload for every escalation change; the CloudEvents type says which change. */
export class EscalationChangedV1 {
  @IsString() @IsNotEmpty() escalationId!: string;
  @IsIn(Object.values(EscalationReason)) reason!: EscalationReason;
  @IsIn(Object.values(EscalationState)) state!: EscalationState;
  @IsIn(ESCALATION_PRIORITIES) priority!: EscalationPriority;
  @IsOptional() @ValidateNested() @Type(() => EscalationAssigneeV1) assignee?: EscalationAssigneeV1;
  /** The assignee before a reassignment. */
  @IsOptional() @ValidateNested() @Type(() => EscalationPersonV1) previousAssignee?: EscalationPersonV1;
  /** The lead of the team that owns the escalation (notified on SLA breach). */
  @IsOptional() @ValidateNested() @Type(() => EscalationPersonV1) teamLead?: EscalationPersonV1;
  @IsOptional() @IsString() team?: string;
  /** Who made the change: a user id, or "system" for rules and SLAs. */
  @IsOptional() @IsString() actor?: string;
  /** When acknowledgement is due under the SLA. */
  @IsOptional() @IsISO8601() ackDueAt?: string;
  @IsArray() @ValidateNested({ each: true }) @Type(() => EscalationEvidenceV1) evidence!: EscalationEvidenceV1[];
  @ValidateNested() @Type(() => EscalationContextV1) context!: EscalationContextV1;
  @IsOptional() @IsString() note?: string;
  @IsISO8601() changedAt!: string;
}
