import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, Max, Min } from 'class-validator';
import { EnvBoolean } from '@kizuna/shared/config';

/** health-scoring's own settings (env var names; defaults as assigned). */
export class HealthConfig {
  /** A score change of at least this many points (or any band change) is emitted on cs.health.v1. */
  @Type(() => Number) @IsNumber() @Min(0) @Max(100)
  HEALTH_MIN_DELTA = 1;

  /** ARR from which an account is scored with the enterprise scorecard. */
  @Type(() => Number) @IsNumber() @Min(0)
  HEALTH_ENTERPRISE_ARR = 100_000;

  /** How often every account is re-scored on the clock (silence decays scores). */
  @Type(() => Number) @IsInt() @Min(1000)
  HEALTH_SWEEP_INTERVAL_MS = 3_600_000;

  /**
   * While a simulation steps the clock (the demo, the persona suite): events only record facts, and
   * accounts are scored (and changes emitted) by the sweep, which then runs each time the player
   * closes a stage. Scoring each account once per stage, whatever runs the events were consumed in,
   * makes the emitted changes the same on every play of a stream. Ignored on a real clock.
   */
  @EnvBoolean() @IsBoolean()
  HEALTH_SCORE_ON_CLOCK_STEPS = false;

  /** Accounts per statement in the sweep. */
  @Type(() => Number) @IsInt() @Min(1) @Max(10000)
  HEALTH_SWEEP_BATCH = 500;

  /**
   * Accounts per range in a backfill: one statement (and transaction) per range counts their facts,
   * scores them and writes the scores, the changes and one outbox row standing for them. Larger ranges spread the statement's
   * fixed costs, but cost more per account past a few thousand (bigger hash tables): 5,000 backfilled 1,000,000 accounts
   * 6-10 % faster than 10,000 (docs/benchmarks.md). A range's rows stay locked for the streaming path until it commits.
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  HEALTH_BACKFILL_BATCH = 5_000;

  /**
   * Ranges a backfill runs at once, each in its own transaction and connection: about one per core
   * Postgres may use, plus one to use the time the others wait for reads and writes (on two cores,
   * three were 7-10 % faster than two: docs/benchmarks.md).
   */
  @Type(() => Number) @IsInt() @Min(1) @Max(16)
  HEALTH_BACKFILL_CONCURRENCY = 3;
}
