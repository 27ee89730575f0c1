import { IsIn, IsInt, IsISO8601, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const SURVEY_KINDS = ['nps', 'csat'] as const;
export type SurveyKind = (typeof SURVEY_KINDS)[number];

/** An NPS (0..10) or CSAT (1..5) answer. */
export class SurveyAnsweredV1 {
  @IsString() @IsNotEmpty() sourceId!: string;
  @IsString() @IsNotEmpty() responseId!: string;
  @IsString() @IsNotEmpty() accountId!: string;
  @IsIn(SURVEY_KINDS) kind!: SurveyKind;
  @IsInt() @Min(0) @Max(10) score!: number;
  @IsOptional() @IsString() @MaxLength(5000) comment?: string;
  @IsOptional() @IsString() userId?: string;
  @IsISO8601() answeredAt!: string;
}
