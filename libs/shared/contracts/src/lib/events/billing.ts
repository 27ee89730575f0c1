import { IsIn, IsInt, IsISO8601, IsNotEmpty, IsNumber, IsOptional, IsString, Length, Min } from 'class-validator';

export const SUBSCRIPTION_CHANGES = [
  'started', 'renewed', 'upgraded', 'downgraded', 'cancelled', 'reactivated', 'payment-failed',
] as const;
export type SubscriptionChange = (typeof SUBSCRIPTION_CHANGES)[number];

export class SubscriptionChangedV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() changeId!: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsString() @IsNotEmpty() subscriptionId!: string;
  @IsIn(SUBSCRIPTION_CHANGES) change!: SubscriptionChange;
  @IsOptional() @IsString() plan?: string;
  @IsOptional() @IsInt() @Min(0) seats?: number;
  @IsOptional() @IsNumber() @Min(0) mrr?: number;
  @IsOptional() @IsNumber() @Min(0) arr?: number;
  @IsOptional() @IsString() @Length(3, 3) currency?: string;
  @IsOptional() @IsISO8601() termStart?: string;
  @IsOptional() @IsISO8601() termEnd?: string;
  /** When the change takes effect (a cancellation churns only then). */
  @IsISO8601() effectiveAt!: string;
}
