import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

/** escalation-routing's own settings (env var names; defaults as assigned). */
export class EscalationConfig {
  /** How often acknowledgement SLAs are checked for breaches (and waiting escalations routed again). */
  @Type(() => Number) @IsInt() @Min(1000) @Max(3_600_000)
  ESCALATION_SLA_SWEEP_INTERVAL_MS = 60_000;

  /** How long the rule set in force is cached per instance (an edit applies everywhere within this time). */
  @Type(() => Number) @IsInt() @Min(0) @Max(600_000)
  ESCALATION_RULES_CACHE_MS = 5000;
}
