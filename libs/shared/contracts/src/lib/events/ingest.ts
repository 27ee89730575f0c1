import { IsInt, IsISO8601, IsNotEmpty, IsOptional, IsString, Min } from 'class-validator';

/** Input that ingestion could not accept, kept so that nothing is silently lost. */
export class IngestRejectedV1 {
  @IsOptional() @IsString() sourceId?: string;
  /** The endpoint it arrived on, e.g. "/v1/batch". */
  @IsString() @IsNotEmpty() endpoint!: string;
  /** Index within a batch, when it came in one. */
  @IsOptional() @IsInt() @Min(0) index?: number;
  @IsString() @IsNotEmpty() reason!: string;
  /** The rejected input as received (JSON text). */
  @IsString() raw!: string;
  @IsISO8601() receivedAt!: string;
}
