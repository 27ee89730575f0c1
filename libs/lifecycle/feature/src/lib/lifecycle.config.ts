import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsOptional, IsString, Max, Min } from 'class-validator';
import { EnvBoolean } from '@kizuna/shared/config';

/** lifecycle's own settings (env var names; defaults as assigned). */
export class LifecycleConfig {
  /** How often the scheduled tick moves accounts through their due time boundaries. */
  @Type(() => Number) @IsInt() @Min(1000)
  LIFECYCLE_TICK_INTERVAL_MS = 60_000;

  /** Accounts per transaction in the tick. */
  @Type(() => Number) @IsInt() @Min(1) @Max(10000)
  LIFECYCLE_TICK_BATCH = 200;

  /**
   * While a simulation steps the clock (the demo, the persona suite): events only log their signals,
   * and the tick at the next close of a stage rebuilds each account that got some from its log (the
   * signals of earlier stages), then moves due accounts through their boundaries. The changes emitted
   * then depend on the stages' signals only, not on the order the consumer read topics and partitions
   * in (read one by one, they took other intermediate paths: more or fewer stalls, touch-model and
   * segment changes). Ignored on a real clock.
   */
  @EnvBoolean() @IsBoolean()
  LIFECYCLE_EVALUATE_ON_CLOCK_STEPS = false;

  /** Gross margin used for LTV when the request does not give one (0 < m <= 1). */
  @Type(() => Number) @IsNumber() @Min(0.0001) @Max(1)
  LIFECYCLE_GROSS_MARGIN = 0.8;

  /** Customer acquisition cost for LTV/CAC when the request does not give one (0: not configured). */
  @Type(() => Number) @IsNumber() @Min(0)
  LIFECYCLE_CAC = 0;

  /** Product events that restart onboarding: `Event Name=reason` pairs, comma-separated. */
  @IsOptional() @IsString()
  LIFECYCLE_RESET_EVENTS = 'New Workspace Created=new-workspace,Admin Changed=admin-changed';

  /** Identify traits `role` values that make a user the account's admin (a new admin restarts onboarding). */
  @IsOptional() @IsString()
  LIFECYCLE_ADMIN_ROLES = 'admin,owner';
}

/** `Event=reason,…` → event name → reason. */
export function parseResetEvents(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of value.split(',')) {
    const [event, reason] = pair.split('=').map((x) => x.trim());
    if (event) out.set(event, reason || 'reset');
  }
  return out;
}
