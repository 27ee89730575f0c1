import { Type } from 'class-transformer';
import {
  IsArray, IsIn, IsInt, IsISO8601, IsNotEmpty, IsNumber, IsOptional, IsString, Max, Min, ValidateNested,
} from 'class-validator';
import { HealthBand } from '../enums';

export class HealthMoverV1 {
  @IsString() @IsNotEmpty() component!: string;
  @IsString() @IsNotEmpty() measure!: string;
  /** Points this measure moved the score by (signed). */
  @IsNumber() deltaPoints!: number;
}

export class HealthScoreChangedV1 {
  @IsNumber() @Min(0) @Max(100) score!: number;
  @IsIn(Object.values(HealthBand)) band!: HealthBand;
  @IsOptional() @IsNumber() @Min(0) @Max(100) previousScore!: number | null;
  @IsOptional() @IsIn(Object.values(HealthBand)) previousBand!: HealthBand | null;
  @IsString() @IsNotEmpty() scorecardId!: string;
  @IsInt() @Min(0) scorecardVersion!: number;
  @IsArray() @ValidateNested({ each: true }) @Type(() => HealthMoverV1) topMovers!: HealthMoverV1[];
  @IsISO8601() computedAt!: string;
}
