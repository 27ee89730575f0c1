import { Type } from 'class-transformer';
import {
  IsEmail, IsInt, IsISO8601, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, MaxLength, Min, ValidateNested,
} from 'class-validator';

/** Account attributes carried by Segment `group` traits. */
export class AccountTraitsV1 {
  @IsOptional() @IsString() @MaxLength(512) name?: string;
  @IsOptional() @IsString() @MaxLength(128) industry?: string;
  @IsOptional() @IsString() @MaxLength(128) plan?: string;
  @IsOptional() @IsInt() @Min(0) seatsPurchased?: number;
  @IsOptional() @IsNumber() @Min(0) arr?: number;
  @IsOptional() @IsNumber() @Min(0) mrr?: number;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsEmail() ownerCsmEmail?: string;
  @IsOptional() @IsISO8601() contractStart?: string;
  @IsOptional() @IsISO8601() renewalDate?: string;
}

export class UserIdentifiedV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() messageId!: string;
  @IsOptional() @IsString() @IsNotEmpty() userId?: string;
  @IsOptional() @IsString() @IsNotEmpty() anonymousId?: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsObject() traits!: Record<string, unknown>;
  @IsISO8601() timestamp!: string;
}

export class AccountUpdatedV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() messageId!: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsOptional() @IsString() userId?: string;
  @IsOptional() @IsString() anonymousId?: string;
  @ValidateNested() @Type(() => AccountTraitsV1) traits!: AccountTraitsV1;
  /** Traits as sent, including ones Kizuna does not interpret. */
  @IsObject() rawTraits!: Record<string, unknown>;
  @IsISO8601() timestamp!: string;
}

export class UserAliasedV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() messageId!: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsString() @IsNotEmpty() previousId!: string;
  @IsString() @IsNotEmpty() userId!: string;
  @IsISO8601() timestamp!: string;
}

export const DIRECTORY_KINDS = ['identify', 'group', 'alias'] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];
export const isDirectoryKind = (v: string): v is DirectoryKind => (DIRECTORY_KINDS as readonly string[]).includes(v);
