import { IsArray, IsIn, IsInt, IsISO8601, IsNotEmpty, IsOptional, IsString, Min } from 'class-validator';
import { LifecyclePhase, TouchModel } from '../enums';

export class PhaseChangedV1 {
  @IsOptional() @IsIn(Object.values(LifecyclePhase)) from!: LifecyclePhase | null;
  @IsIn(Object.values(LifecyclePhase)) to!: LifecyclePhase;
  /** Why: the rule and the event that caused it. */
  @IsString() @IsNotEmpty() cause!: string;
  @IsISO8601() changedAt!: string;
}

export class TouchModelChangedV1 {
  @IsOptional() @IsIn(Object.values(TouchModel)) from!: TouchModel | null;
  @IsIn(Object.values(TouchModel)) to!: TouchModel;
  @IsString() @IsNotEmpty() cause!: string;
  @IsISO8601() changedAt!: string;
}

export class SegmentChangedV1 {
  /** Segment dimension, e.g. "contract-size", "usage-status", "nps-loyalty". */
  @IsString() @IsNotEmpty() dimension!: string;
  @IsOptional() @IsString() from!: string | null;
  @IsString() @IsNotEmpty() to!: string;
  @IsString() @IsNotEmpty() cause!: string;
  @IsISO8601() changedAt!: string;
}

export class RenewalWindowOpenedV1 {
  @IsISO8601() renewalDate!: string;
  @IsInt() @Min(0) daysBefore!: number;
  @IsISO8601() openedAt!: string;
  /** Why: the renewal date and the window rule (optional; added for consumers that show it). */
  @IsOptional() @IsString() cause?: string;
}

export class OnboardingStalledV1 {
  @IsString() @IsNotEmpty() milestone!: string;
  @IsISO8601() dueAt!: string;
  @IsArray() @IsString({ each: true }) completed!: string[];
  @IsArray() @IsString({ each: true }) missing!: string[];
  @IsISO8601() detectedAt!: string;
  /** Why: the late milestone and its due date (optional; added for consumers that show it). */
  @IsOptional() @IsString() cause?: string;
}
