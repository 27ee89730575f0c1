import { Type } from 'class-transformer';
import {
  IsArray, IsEmail, IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, ValidateNested,
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

export class EscalationEvidenceV1 {
  @IsIn(['ticket', 'call', 'survey', 'health', 'lifecycle', 'manual']) kind!: string;
  @IsString() @IsNotEmpty() ref!: string;
  @IsString() summary!: string;
  @IsISO8601() at!: string;
}

/** Context carried with every escalation event so notification needs no lookups back. */
export class EscalationContextV1 {
  @IsOptional() @IsString() accountName?: string;
  @IsOptional() @IsIn(Object.values(HealthBand)) band?: HealthBand;
  @IsOptional() @IsIn(Object.values(LifecyclePhase)) phase?: LifecyclePhase;
  @IsOptional() @IsIn(Object.values(TouchModel)) touchModel?: TouchModel;
}

/** One payload for every escalation change; the CloudEvents type says which change. */
export class EscalationChangedV1 {
  @IsString() @IsNotEmpty() escalationId!: string;
  @IsIn(Object.values(EscalationReason)) reason!: EscalationReason;
  @IsIn(Object.values(EscalationState)) state!: EscalationState;
  @IsIn(ESCALATION_PRIORITIES) priority!: EscalationPriority;
  @IsOptional() @ValidateNested() @Type(() => EscalationAssigneeV1) assignee?: EscalationAssigneeV1;
  @IsArray() @ValidateNested({ each: true }) @Type(() => EscalationEvidenceV1) evidence!: EscalationEvidenceV1[];
  @ValidateNested() @Type(() => EscalationContextV1) context!: EscalationContextV1;
  @IsOptional() @IsString() note?: string;
  @IsISO8601() changedAt!: string;
}
