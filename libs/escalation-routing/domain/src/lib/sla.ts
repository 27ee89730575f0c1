import type { EscalationPriority } from '@kizuna/shared/contracts';
import { addBusinessMinutes, businessDayMinutes, type BusinessHours } from './business-hours';
import type { SlaRules } from './escalation-rules';

const MINUTE = 60_000;

/**
 * When an escalation of this priority must be acknowledged, counted from `from`: calendar time for
 * minutes/hours, the owning team's business hours (else the default ones) for business units.
 */
export function acknowledgeDueAt(from: Date, priority: EscalationPriority, sla: SlaRules, teamHours?: BusinessHours | null): Date {
  const target = sla.acknowledge[priority];
  const hours = teamHours ?? sla.defaultBusinessHours;
  switch (target.unit) {
    case 'minutes':
      return new Date(from.getTime() + target.amount * MINUTE);
    case 'hours':
      return new Date(from.getTime() + target.amount * 60 * MINUTE);
    case 'business-hours':
      return addBusinessMinutes(from, target.amount * 60, hours);
    case 'business-days':
      return addBusinessMinutes(from, target.amount * businessDayMinutes(hours), hours);
  }
}

/** Is acknowledgement overdue at `now`? */
export const isAcknowledgeOverdue = (dueAt: Date | null, now: Date): boolean => dueAt !== null && dueAt.getTime() <= now.getTime();
