import { Type } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { EnvBoolean } from '@kizuna/shared/config';

/** escalation-routing's own settings (env var names; defaults as assigned). */
export class EscalationConfig {
  /** How often acknowledgement SLAs are checked for breaches (and waiting escalations routed again). */
  @Type(() => Number) @IsInt() @Min(1000) @Max(3_600_000)
  ESCALATION_SLA_SWEEP_INTERVAL_MS = 60_000;

  /** How long the rule set in force is cached per instance (an edit applies everywhere within this time). */
  @Type(() => Number) @IsInt() @Min(0) @Max(600_000)
  ESCALATION_RULES_CACHE_MS = 5000;

  /**
   * While a simulation steps the clock (the demo, the persona suite): escalations open unassigned and
   * are routed when the player closes the stage, all of the stage's at once, in one order (opened,
   * account, reason), so that who takes an escalation routed by load does not depend on which
   * partition's consumer got there first. Ignored on a real clock.
   */
  @EnvBoolean() @IsBoolean()
  ESCALATION_ROUTE_ON_CLOCK_STEPS = false;
}
