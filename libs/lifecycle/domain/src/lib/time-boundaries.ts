import { reactivatedAtOf, onboardingProgressOf, accountStartOf, type AccountLifecycleState } from './account-state';
import type { LifecycleRules } from './lifecycle-rules';
import { addDays, compareIso } from './time';

/**
 * The instants at which the derived values (phase, touch model, segments, one-off outputs) may
 * change with no signal arriving: the clock alone crossing them. A service ticks the machine at
 * each of them in turn (`applySignal(state, { type: 'tick' }, rules, boundary)`), so that
 * time-driven transitions are dated when they happened, not when a sweep noticed them, and a
 * replay of the same signals gives the same history.
 *
 * The list errs on the side of more: a tick at an instant where nothing changes emits nothing.
 */
export function timeBoundaries(s: AccountLifecycleState, rules: LifecycleRules): string[] {
  const out: (string | null)[] = [];
  const sub = s.subscription;
  // Cancellation takes effect.
  out.push(sub.lastCancellation?.effectiveAt ?? null);
  // Win-back window ends.
  const reactivatedAt = reactivatedAtOf(sub);
  if (reactivatedAt !== null) out.push(addDays(reactivatedAt, rules.retention.reactivationDays));
  // Renewal window opens and (grace) closes.
  const renewalDate = s.profile.renewalDate?.value ?? null;
  if (renewalDate !== null) out.push(addDays(renewalDate, -rules.renewal.windowDays), addDays(renewalDate, rules.renewal.graceDays));
  // Expansion starts (an upgrade effective later) and ends; a downgrade takes effect.
  const seatGrowthAt = s.seats.first !== null && s.seats.max !== null && s.seats.max.value > s.seats.first.value ? s.seats.max.at : null;
  for (const since of [sub.lastUpgradeAt, seatGrowthAt]) {
    if (since !== null) out.push(since, addDays(since, rules.expansion.days));
  }
  out.push(sub.lastDowngradeAt);
  // Milestones fall due (onboarding stalled).
  for (const m of onboardingProgressOf(s, rules).milestones) if (m.completedAt === null) out.push(m.dueAt);
  // Usage status: no longer new; dormant.
  const start = accountStartOf(s);
  if (start !== null) out.push(addDays(start, rules.usage.newDays));
  if (s.activity.lastAt !== null) out.push(addDays(s.activity.lastAt, rules.usage.dormantDays));
  else if (start !== null) out.push(start);
  return [...new Set(out.filter((x): x is string => x !== null))].sort(compareIso);
}

/** The first time boundary strictly after `after` (an ISO instant), or null when none is left. */
export function nextTimeBoundary(s: AccountLifecycleState, rules: LifecycleRules, after: string): string | null {
  for (const b of timeBoundaries(s, rules)) if (compareIso(b, after) > 0) return b;
  return null;
}
