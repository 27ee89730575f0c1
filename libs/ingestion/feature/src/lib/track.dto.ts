import { Equals, IsISO8601, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of `POST /v1/track` (the Segment HTTP tracking spec). */
export class TrackCallDto {
  @IsOptional() @Equals('track')
  type?: 'track';

  @IsOptional() @IsString() @MaxLength(256)
  userId?: string;

  @IsOptional() @IsString() @MaxLength(256)
  anonymousId?: string;

  @IsString() @IsNotEmpty() @MaxLength(512)
  event!: string;

  @IsOptional() @IsObject()
  properties?: Record<string, unknown>;

  @IsOptional() @IsObject()
  context?: Record<string, unknown>;

  @IsOptional() @IsObject()
  integrations?: Record<string, unknown>;

  @IsOptional() @IsISO8601()
  timestamp?: string;

  @IsOptional() @IsISO8601()
  sentAt?: string;

  @IsOptional() @IsString() @MaxLength(256)
  messageId?: string;

  @IsOptional() @IsString()
  writeKey?: string;
}
