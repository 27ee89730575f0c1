import { HealthBand, LifecyclePhase, SUBSCRIPTION_CHANGES } from '@kizuna/shared/contracts';
import type {
  OnboardingStalledV1,
  PhaseChangedV1,
  RenewalWindowOpenedV1,
  SegmentChangedV1,
  SubscriptionChange,
  SurveyKind,
  TouchModelChangedV1,
} from '@kizuna/shared/contracts';
import {
  accountStartOf,
  contractSizeOfState,
  type ActivationChange,
  type AccountLifecycleState,
  type OnboardingProgress,
  type PhaseRule,
  lowerScore,
  mergeEarliest,
  mergeLatest,
  mergeMax,
  onboardingProgressOf,
  onboardingStartOf,
  reactivatedAtOf,
  segmentFactsOf,
  subscriptionStatusOf,
  worseBand,
} from './account-state';
import { milestoneEvents, type LifecycleRules } from './lifecycle-rules';
import { deriveSegments, diffSegments } from './segments';
import { decideTouchModel } from './touch-model';
import { addDays, compareIso, daysBetween, earliest, latest, ms, toIso } from './time';

/*
 * ================================================================================================
 *  THE LIFECYCLE STATE MACHINE
 * ================================================================================================
 *
 * applySignal(state, signal, rules, now) → { state, emitted }
 *
 * 1. The signal's facts are MERGED into the state (order-insensitive, idempotent: see
 *    account-state.ts). A tick carries no fact.
 * 2. The phase, touch model and segments are DERIVED from the merged facts at `now`. The outputs
 *    are the differences from the previous derived values, plus the one-off renewal-window-opened
 *    and onboarding-stalled outputs. So the same facts always end in the same phase, touch model
 *    and segments, whatever the order or repetition of the signals that brought them.
 *
 * The phase is the first of these that holds (precedence, highest first):
 *
 *   level  phase       rule                     holds when
 *   0      churned     cancellation-effective   a standing cancellation has taken effect (now >= effectiveAt)
 *   1      retention   cancellation-scheduled   a standing cancellation takes effect later
 *   1      retention   reactivated              reactivated after a churn, for retention.reactivationDays
 *   2      onboarding  onboarding-incomplete    a milestone of the current contract size is not done since
 *                      / reset                  the latest reset ('reset' when a reset signal caused it)
 *   3      retention   health-risk              the health band is one of retention.riskBands
 *   4      renewal     renewal-window           renewal date - windowDays <= now < renewal date + graceDays,
 *                                               and no renewal recorded since the window opened
 *   5      expansion   expansion                an upgrade or a seat growth (new high above the first seat
 *                                               count) less than expansion.days ago, not downgraded since
 *   6      adoption    adopted                  none of the above
 *
 * Why this order: churn and a scheduled cancellation outrank everything (the subscription is the
 * hard fact); onboarding outranks health risk (a young account scores low by construction, its
 * risk shows as "onboarding stalled" instead); risk outranks the renewal window (an at-risk
 * renewal is a save); the renewal window outranks expansion (an upgrade during a renewal is part
 * of the renewal).
 *
 * Every phase change emits phase-changed with `cause` = "<rule>: <explanation>; signal: <signal>".
 * Moving UP (to a lower level number) the rule is the new phase's; moving DOWN it is the rule that
 * released the old phase (its explanation then also says why the new phase holds).
 *
 * The transition table (from → to: the rules that cause it; '—' none). Every edge is reachable
 * and unit-tested (lifecycle-machine.spec.ts); PHASE_TRANSITIONS below is the same table as data.
 *
 *  from \ to   onboarding              adoption                 expansion                renewal                  retention                 churned
 *  (none)      onboarding-incomplete,  adopted                  expansion                renewal-window           health-risk,              cancellation-effective
 *              reset                                                                                              cancellation-scheduled
 *  onboarding  —                       onboarding-complete      onboarding-complete      onboarding-complete      onboarding-complete,      cancellation-effective
 *                                                                                                                 cancellation-scheduled
 *  adoption    reset,                  —                        expansion                renewal-window           health-risk,              cancellation-effective
 *              onboarding-incomplete                                                                              cancellation-scheduled
 *  expansion   reset,                  expansion-ended,         —                        renewal-window           health-risk,              cancellation-effective
 *              onboarding-incomplete   downgraded                                                                 cancellation-scheduled
 *  renewal     reset,                  renewed,                 renewed,                 —                        health-risk,              cancellation-effective
 *              onboarding-incomplete   renewal-date-changed,    renewal-date-changed,                             cancellation-scheduled
 *                                      renewal-overdue          renewal-overdue
 *  retention   reset,                  health-recovered,        health-recovered,        health-recovered,        —                         cancellation-effective
 *              onboarding-incomplete,  cancellation-withdrawn,  cancellation-withdrawn,  cancellation-withdrawn,
 *              cancellation-withdrawn, reactivation-window-     reactivation-window-     reactivation-window-
 *              reactivation-window-    ended                    ended                    ended
 *              ended
 *  churned     reactivated             reactivated              reactivated              reactivated              reactivated,              —
 *                                                                                                                 cancellation-rescheduled
 *
 * Notes on the edges:
 * - churned → retention is the default way back: a reactivated account spends
 *   retention.reactivationDays (default 30) in retention (win-back), then whatever the facts say
 *   (usually adoption). With reactivationDays = 0 it goes straight to onboarding / adoption /
 *   expansion / renewal. A withdrawal before the cancellation took effect is not a reactivation:
 *   retention (cancellation-scheduled) → the facts' phase at once (cancellation-withdrawn).
 *   churned → retention (cancellation-rescheduled): a later cancellation with a future effective
 *   date replaced the effective one (billing corrected itself).
 * - A cancellation churns only when it takes effect: before, the account is in retention; a tick
 *   (or any signal) at or after effectiveAt churns it. Nothing is deleted: an activation recorded
 *   after the cancellation undoes it, at any time.
 * - onboarding → retention via onboarding-complete: health was in a risk band all along.
 * - X → onboarding via onboarding-incomplete: the contract size changed to one whose milestones
 *   are not all done (the default rules use the same milestones for every size, so only custom
 *   rules do this). Via reset: a reset signal (new workspace, admin changed).
 * - A reset does not move a churned account or one in retention for a subscription reason; the
 *   restarted onboarding shows once they leave those phases.
 * - renewal → adoption/expansion: renewed (a 'renewed' change at or after the window opened),
 *   renewal-date-changed (the date moved out of the window), renewal-overdue (more than graceDays
 *   past the renewal date with neither a renewal nor a cancellation: the date is taken as stale).
 */

// ---- Signals ---------------------------------------------------------------------------------

/** Account traits as an account update carries them (AccountTraitsV1; `seats` is its `seatsPurchased`). Absent or null: not sent. */
export interface AccountTraits {
  arr?: number | null;
  plan?: string | null;
  seats?: number | null;
  industry?: string | null;
  region?: string | null;
  /** ISO instant of the next renewal. */
  renewalDate?: string | null;
  /** ISO instant the contract started. */
  contractStart?: string | null;
}

/** Why onboarding starts over, e.g. 'new-workspace' or 'admin-changed' (free text, non-empty). */
export type ResetReason = string;

/**
 * What the machine reacts to. `at` is when it happened in the world (event timestamp,
 * computedAt, answeredAt, the billing change's recording time): facts are ordered by it, never by
 * arrival. A tick has no `at`: it is `now` passing.
 */
export type LifecycleSignal =
  | { type: 'product-activity'; at: string; event: string; userId?: string }
  | { type: 'account-updated'; at: string; traits: AccountTraits }
  | {
      type: 'subscription-changed';
      at: string;
      change: SubscriptionChange;
      /** When the change takes effect (a cancellation churns only then). */
      effectiveAt: string;
      seats?: number | null;
      arr?: number | null;
      plan?: string | null;
      /** The (new) renewal date, e.g. the term end of a renewal. */
      renewalDate?: string | null;
    }
  | { type: 'health-changed'; at: string; band: HealthBand }
  | { type: 'survey-answered'; at: string; kind: SurveyKind; score: number }
  | { type: 'reset'; at: string; reason: ResetReason }
  | { type: 'tick' };

// ---- Outputs ---------------------------------------------------------------------------------

/** The contract events' payloads, tagged with their CloudEvents type (see EventMap). */
export type LifecycleOutput =
  | { type: 'cs.lifecycle.phase.changed.v1'; data: PhaseChangedV1 }
  | { type: 'cs.lifecycle.touch-model.changed.v1'; data: TouchModelChangedV1 }
  | { type: 'cs.lifecycle.segment.changed.v1'; data: SegmentChangedV1 }
  | { type: 'cs.lifecycle.renewal-window.opened.v1'; data: RenewalWindowOpenedV1 }
  | { type: 'cs.lifecycle.onboarding.stalled.v1'; data: OnboardingStalledV1 };

export interface ApplyResult {
  state: AccountLifecycleState;
  emitted: LifecycleOutput[];
}

/** The transition table as data: from (or 'none') → to → the rules that can cause that edge. */
export const PHASE_TRANSITIONS: Readonly<Record<LifecyclePhase | 'none', Readonly<Partial<Record<LifecyclePhase, readonly PhaseRule[]>>>>> = (() => {
  const { Onboarding: O, Adoption: A, Expansion: E, Renewal: R, Retention: T, Churned: C } = LifecyclePhase;
  const released = ['health-recovered', 'cancellation-withdrawn', 'reactivation-window-ended'] as const;
  const renewalEnd = ['renewed', 'renewal-date-changed', 'renewal-overdue'] as const;
  const risk = ['health-risk', 'cancellation-scheduled'] as const;
  const back = ['reset', 'onboarding-incomplete'] as const;
  return {
    none: { [O]: ['onboarding-incomplete', 'reset'], [A]: ['adopted'], [E]: ['expansion'], [R]: ['renewal-window'], [T]: risk, [C]: ['cancellation-effective'] },
    [O]: { [A]: ['onboarding-complete'], [E]: ['onboarding-complete'], [R]: ['onboarding-complete'], [T]: ['onboarding-complete', 'cancellation-scheduled'], [C]: ['cancellation-effective'] },
    [A]: { [O]: back, [E]: ['expansion'], [R]: ['renewal-window'], [T]: risk, [C]: ['cancellation-effective'] },
    [E]: { [O]: back, [A]: ['expansion-ended', 'downgraded'], [R]: ['renewal-window'], [T]: risk, [C]: ['cancellation-effective'] },
    [R]: { [O]: back, [A]: renewalEnd, [E]: renewalEnd, [T]: risk, [C]: ['cancellation-effective'] },
    [T]: { [O]: [...back, 'cancellation-withdrawn', 'reactivation-window-ended'], [A]: released, [E]: released, [R]: released, [C]: ['cancellation-effective'] },
    [C]: { [O]: ['reactivated'], [A]: ['reactivated'], [E]: ['reactivated'], [R]: ['reactivated'], [T]: ['reactivated', 'cancellation-rescheduled'] },
  };
})();

// ---- Derived views -----------------------------------------------------------------------------

export interface RenewalWindow {
  renewalDate: string | null;
  /** renewalDate - windowDays. */
  opensAt: string | null;
  /** renewalDate + graceDays. */
  closesAt: string | null;
  /**
   * - `none`: no renewal date known;
   * - `not-yet`: before the window;
   * - `open`: in the window (or in the grace days after the date), not renewed;
   * - `renewed`: a renewal was recorded at or after the window opened;
   * - `overdue`: past the grace days without a renewal (the date is taken as stale).
   */
  status: 'none' | 'not-yet' | 'open' | 'renewed' | 'overdue';
}

export function renewalWindowOf(s: AccountLifecycleState, rules: LifecycleRules, now: Date): RenewalWindow {
  const renewalDate = s.profile.renewalDate?.value ?? null;
  if (renewalDate === null) return { renewalDate, opensAt: null, closesAt: null, status: 'none' };
  const opensAt = addDays(renewalDate, -rules.renewal.windowDays);
  const closesAt = addDays(renewalDate, rules.renewal.graceDays);
  const t = now.getTime();
  let status: RenewalWindow['status'];
  if (s.subscription.lastRenewalAt !== null && compareIso(s.subscription.lastRenewalAt, opensAt) >= 0) status = 'renewed';
  else if (t < ms(opensAt)) status = 'not-yet';
  else if (t < ms(closesAt)) status = 'open';
  else status = 'overdue';
  return { renewalDate, opensAt, closesAt, status };
}

export interface Expansion {
  /** When the latest expansion happened (upgrade effective or seat high reached), or null. */
  since: string | null;
  by: 'upgrade' | 'seat-growth' | null;
  /** since + expansion.days. */
  endsAt: string | null;
  /** A downgrade effective after the expansion (and not in the future), which ends it. */
  downgradedAt: string | null;
  active: boolean;
}

export function expansionOf(s: AccountLifecycleState, rules: LifecycleRules, now: Date): Expansion {
  const { first, max } = s.seats;
  const seatGrowthAt = first !== null && max !== null && max.value > first.value ? max.at : null;
  const upgradeAt = s.subscription.lastUpgradeAt;
  const since = latest(upgradeAt, seatGrowthAt);
  if (since === null) return { since, by: null, endsAt: null, downgradedAt: null, active: false };
  const by = since === upgradeAt ? 'upgrade' : 'seat-growth';
  const endsAt = addDays(since, rules.expansion.days);
  const t = now.getTime();
  const d = s.subscription.lastDowngradeAt;
  const downgradedAt = d !== null && compareIso(d, since) >= 0 && ms(d) <= t ? d : null;
  const active = ms(since) <= t && t < ms(endsAt) && downgradedAt === null;
  return { since, by, endsAt, downgradedAt, active };
}

export interface PhaseDecision {
  phase: LifecyclePhase;
  /** The rule that holds the account in `phase`. */
  rule: PhaseRule;
  /** Why, in words, with the facts. */
  detail: string;
}

const list = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

function onboardingDetail(p: OnboardingProgress, s: AccountLifecycleState): string {
  const total = p.milestones.length;
  const reset = s.lastReset !== null && p.startedAt === s.lastReset.at ? ` since reset at ${s.lastReset.at} (${s.lastReset.reason})` : '';
  return `${p.missing.length} of ${total} ${p.size} milestones missing${reset}: ${list(p.missing)}`;
}

/** The phase the facts imply at `now` (see the precedence table above). */
export function decidePhase(s: AccountLifecycleState, rules: LifecycleRules, now: Date): PhaseDecision {
  const status = subscriptionStatusOf(s.subscription, now);
  const cancellation = s.subscription.lastCancellation;
  if (status === 'cancelled' && cancellation !== null) {
    return { phase: LifecyclePhase.Churned, rule: 'cancellation-effective', detail: `the cancellation recorded at ${cancellation.at} took effect at ${cancellation.effectiveAt}` };
  }
  if (status === 'cancel-scheduled' && cancellation !== null) {
    return { phase: LifecyclePhase.Retention, rule: 'cancellation-scheduled', detail: `cancellation recorded at ${cancellation.at} takes effect at ${cancellation.effectiveAt}` };
  }
  const reactivatedAt = reactivatedAtOf(s.subscription);
  if (reactivatedAt !== null && rules.retention.reactivationDays > 0) {
    const until = addDays(reactivatedAt, rules.retention.reactivationDays);
    if (now.getTime() < ms(until)) {
      return { phase: LifecyclePhase.Retention, rule: 'reactivated', detail: `reactivated at ${reactivatedAt} after churning; win-back until ${until}` };
    }
  }
  const progress = onboardingProgressOf(s, rules);
  if (!progress.complete) {
    return { phase: LifecyclePhase.Onboarding, rule: 'onboarding-incomplete', detail: onboardingDetail(progress, s) };
  }
  const band = s.health?.value ?? null;
  if (band !== null && rules.retention.riskBands.includes(band)) {
    return { phase: LifecyclePhase.Retention, rule: 'health-risk', detail: `health band ${band} (since ${s.health?.at}) is a risk band (${list(rules.retention.riskBands)})` };
  }
  const renewal = renewalWindowOf(s, rules, now);
  if (renewal.status === 'open') {
    return {
      phase: LifecyclePhase.Renewal,
      rule: 'renewal-window',
      detail: `renewal on ${renewal.renewalDate}; the ${rules.renewal.windowDays}-day window opened at ${renewal.opensAt}`,
    };
  }
  const expansion = expansionOf(s, rules, now);
  if (expansion.active) {
    const what =
      expansion.by === 'upgrade'
        ? `upgrade effective ${expansion.since}`
        : `seats grew from ${s.seats.first?.value} to ${s.seats.max?.value} at ${expansion.since}`;
    return { phase: LifecyclePhase.Expansion, rule: 'expansion', detail: `${what}; expansion until ${expansion.endsAt}` };
  }
  return { phase: LifecyclePhase.Adoption, rule: 'adopted', detail: 'onboarding complete; no risk, renewal window or recent expansion' };
}

/** Precedence level of a phase held by a rule (lower = higher precedence). */
function level(phase: LifecyclePhase, rule: PhaseRule | null): number {
  switch (phase) {
    case LifecyclePhase.Churned:
      return 0;
    case LifecyclePhase.Retention:
      return rule === 'health-risk' ? 3 : 1;
    case LifecyclePhase.Onboarding:
      return 2;
    case LifecyclePhase.Renewal:
      return 4;
    case LifecyclePhase.Expansion:
      return 5;
    case LifecyclePhase.Adoption:
      return 6;
  }
}

/** Why the previous phase no longer holds (used when the new phase ranks lower). */
function releaseRule(prev: AccountLifecycleState, next: AccountLifecycleState, rules: LifecycleRules, now: Date): { rule: PhaseRule; detail: string } {
  const sub = next.subscription;
  const activation = sub.lastActivation;
  const cancellation = sub.lastCancellation;
  switch (prev.phase) {
    case LifecyclePhase.Churned: {
      if (subscriptionStatusOf(sub, now) === 'cancel-scheduled' && cancellation !== null) {
        return { rule: 'cancellation-rescheduled', detail: `the standing cancellation (recorded at ${cancellation.at}) takes effect at ${cancellation.effectiveAt}` };
      }
      return { rule: 'reactivated', detail: `subscription ${activation?.change ?? 'active'} at ${activation?.at ?? sub.lastChangeAt}, after the cancellation recorded at ${cancellation?.at}` };
    }
    case LifecyclePhase.Retention:
      if (prev.phaseRule === 'cancellation-scheduled') {
        return { rule: 'cancellation-withdrawn', detail: `subscription ${activation?.change ?? 'active'} at ${activation?.at} before the cancellation took effect` };
      }
      if (prev.phaseRule === 'reactivated') {
        const at = reactivatedAtOf(sub);
        return { rule: 'reactivation-window-ended', detail: at === null ? 'no longer a reactivation' : `${rules.retention.reactivationDays} days since the reactivation at ${at}` };
      }
      return { rule: 'health-recovered', detail: `health band ${next.health?.value ?? 'unknown'} is not a risk band` };
    case LifecyclePhase.Onboarding: {
      const p = onboardingProgressOf(next, rules);
      return { rule: 'onboarding-complete', detail: `all ${p.milestones.length} ${p.size} milestones done (last at ${p.completedAt})` };
    }
    case LifecyclePhase.Renewal: {
      // Renewed: a renewal recorded at or after the window of the renewal date the account was in renewal for.
      const was = prev.profile.renewalDate?.value ?? null;
      const renewedAt = sub.lastRenewalAt;
      if (was !== null && renewedAt !== null && compareIso(renewedAt, addDays(was, -rules.renewal.windowDays)) >= 0) {
        return { rule: 'renewed', detail: `renewal recorded at ${renewedAt} for the renewal on ${was}` };
      }
      const w = renewalWindowOf(next, rules, now);
      if (w.status === 'overdue') {
        return { rule: 'renewal-overdue', detail: `renewal date ${w.renewalDate} passed more than ${rules.renewal.graceDays} days ago without a renewal` };
      }
      return { rule: 'renewal-date-changed', detail: w.renewalDate === null ? 'no renewal date' : `renewal date now ${w.renewalDate} (window opens ${w.opensAt})` };
    }
    case LifecyclePhase.Expansion: {
      const e = expansionOf(next, rules, now);
      if (e.downgradedAt !== null) return { rule: 'downgraded', detail: `downgrade effective ${e.downgradedAt}` };
      return { rule: 'expansion-ended', detail: e.since === null ? 'no expansion' : `${rules.expansion.days} days since the expansion at ${e.since}` };
    }
    default:
      return { rule: 'adopted', detail: 'no other phase applies' };
  }
}

// ---- Signal handling ---------------------------------------------------------------------------

function finiteAtLeastZero(v: unknown, path: string, integer: boolean): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${path}: must be ${integer ? 'an integer' : 'a finite number'} >= 0, got ${String(v)}`);
  }
  return v;
}

function optionalString(v: unknown, path: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new RangeError(`${path}: must be a string`);
  return v.trim() === '' ? null : v;
}

function optionalIso(v: unknown, path: string): string | null {
  if (v === undefined || v === null) return null;
  return toIso(v, path);
}

function nonEmpty(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new RangeError(`${path}: must be a non-empty string`);
  return v;
}

/**
 * Checks a signal and returns a copy with every instant normalised (toISOString). Throws
 * RangeError naming the field for anything unusable (the caller should treat it as permanent:
 * retrying will not help).
 */
export function normaliseSignal(signal: LifecycleSignal): LifecycleSignal {
  const s: unknown = signal;
  if (typeof s !== 'object' || s === null) throw new RangeError('signal: must be an object');
  switch (signal.type) {
    case 'tick':
      return { type: 'tick' };
    case 'product-activity':
      return {
        type: signal.type,
        at: toIso(signal.at, 'signal.at'),
        event: nonEmpty(signal.event, 'signal.event'),
        ...(signal.userId !== undefined ? { userId: signal.userId } : {}),
      };
    case 'account-updated': {
      const t: unknown = signal.traits;
      if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new RangeError('signal.traits: must be an object');
      return {
        type: signal.type,
        at: toIso(signal.at, 'signal.at'),
        traits: {
          arr: finiteAtLeastZero(signal.traits.arr, 'signal.traits.arr', false),
          plan: optionalString(signal.traits.plan, 'signal.traits.plan'),
          seats: finiteAtLeastZero(signal.traits.seats, 'signal.traits.seats', true),
          industry: optionalString(signal.traits.industry, 'signal.traits.industry'),
          region: optionalString(signal.traits.region, 'signal.traits.region'),
          renewalDate: optionalIso(signal.traits.renewalDate, 'signal.traits.renewalDate'),
          contractStart: optionalIso(signal.traits.contractStart, 'signal.traits.contractStart'),
        },
      };
    }
    case 'subscription-changed':
      if (!(SUBSCRIPTION_CHANGES as readonly string[]).includes(signal.change)) {
        throw new RangeError(`signal.change: must be one of ${list(SUBSCRIPTION_CHANGES)}, got '${String(signal.change)}'`);
      }
      return {
        type: signal.type,
        at: toIso(signal.at, 'signal.at'),
        change: signal.change,
        effectiveAt: toIso(signal.effectiveAt, 'signal.effectiveAt'),
        seats: finiteAtLeastZero(signal.seats, 'signal.seats', true),
        arr: finiteAtLeastZero(signal.arr, 'signal.arr', false),
        plan: optionalString(signal.plan, 'signal.plan'),
        renewalDate: optionalIso(signal.renewalDate, 'signal.renewalDate'),
      };
    case 'health-changed':
      if (!(Object.values(HealthBand) as string[]).includes(signal.band)) {
        throw new RangeError(`signal.band: must be one of ${list(Object.values(HealthBand))}, got '${String(signal.band)}'`);
      }
      return { type: signal.type, at: toIso(signal.at, 'signal.at'), band: signal.band };
    case 'survey-answered':
      if (signal.kind !== 'nps' && signal.kind !== 'csat') throw new RangeError(`signal.kind: must be 'nps' or 'csat', got '${String(signal.kind)}'`);
      if (!Number.isInteger(signal.score) || signal.score < 0 || signal.score > 10) {
        throw new RangeError(`signal.score: must be an integer 0..10, got ${String(signal.score)}`);
      }
      return { type: signal.type, at: toIso(signal.at, 'signal.at'), kind: signal.kind, score: signal.score };
    case 'reset':
      return { type: signal.type, at: toIso(signal.at, 'signal.at'), reason: nonEmpty(signal.reason, 'signal.reason') };
    default: {
      const unknownType: unknown = (signal as { type?: unknown }).type;
      throw new RangeError(`signal.type: unknown signal type '${String(unknownType)}'`);
    }
  }
}

/** A short description of a signal for causes, e.g. `subscription-changed cancelled effective … at …`. */
export function describeSignal(signal: LifecycleSignal, now: Date): string {
  switch (signal.type) {
    case 'tick':
      return `tick at ${now.toISOString()}`;
    case 'product-activity':
      return `product-activity '${signal.event}'${signal.userId ? ` by ${signal.userId}` : ''} at ${signal.at}`;
    case 'account-updated': {
      const keys = Object.entries(signal.traits)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k]) => k);
      return `account-updated (${keys.join(', ') || 'no traits'}) at ${signal.at}`;
    }
    case 'subscription-changed':
      return `subscription-changed ${signal.change} effective ${signal.effectiveAt} at ${signal.at}`;
    case 'health-changed':
      return `health-changed ${signal.band} at ${signal.at}`;
    case 'survey-answered':
      return `survey-answered ${signal.kind} ${signal.score} at ${signal.at}`;
    case 'reset':
      return `reset ${signal.reason} at ${signal.at}`;
  }
}

const ACTIVATION_RANK: Record<ActivationChange, number> = { started: 0, renewed: 1, reactivated: 2 };

function recordSeats(s: AccountLifecycleState, value: number, at: string): void {
  const d = { value, at };
  s.seats.first = mergeEarliest(s.seats.first, d);
  s.seats.max = mergeMax(s.seats.max, d);
  s.seats.latest = mergeLatest(s.seats.latest, d);
}

function recordMilestone(s: AccountLifecycleState, event: string, at: string): void {
  s.milestonesLastSeen[event] = latest(s.milestonesLastSeen[event] ?? null, at) ?? at;
  if (s.lastReset !== null && compareIso(at, s.lastReset.at) < 0) return; // before the current onboarding
  s.milestonesDone[event] = earliest(s.milestonesDone[event] ?? null, at) ?? at;
}

function recordReset(s: AccountLifecycleState, at: string, reason: string): void {
  const current = s.lastReset;
  if (current !== null) {
    const c = compareIso(at, current.at);
    if (c < 0 || (c === 0 && reason <= current.reason)) return; // an older (or the same) reset: nothing changes
  }
  s.lastReset = { at, reason };
  // Milestones done before the reset no longer count; keep those seen again since (see milestonesLastSeen).
  for (const [event, doneAt] of Object.entries(s.milestonesDone)) {
    if (compareIso(doneAt, at) >= 0) continue;
    const lastSeen = s.milestonesLastSeen[event];
    if (lastSeen !== undefined && compareIso(lastSeen, at) >= 0) s.milestonesDone[event] = lastSeen;
    else delete s.milestonesDone[event];
  }
}

/** Merges a (normalised) signal's facts into `s` (mutates it). */
function recordFacts(s: AccountLifecycleState, signal: LifecycleSignal, rules: LifecycleRules): void {
  if (signal.type === 'tick') return;
  s.firstSeenAt = earliest(s.firstSeenAt, signal.at);
  const p = s.profile;
  switch (signal.type) {
    case 'product-activity':
      s.activity.firstAt = earliest(s.activity.firstAt, signal.at);
      s.activity.lastAt = latest(s.activity.lastAt, signal.at);
      if (milestoneEvents(rules).has(signal.event)) recordMilestone(s, signal.event, signal.at);
      return;
    case 'account-updated': {
      const t = signal.traits;
      const at = signal.at;
      if (t.arr !== undefined && t.arr !== null) p.arr = mergeLatest(p.arr, { value: t.arr, at });
      if (t.plan !== undefined && t.plan !== null) p.plan = mergeLatest(p.plan, { value: t.plan, at });
      if (t.industry !== undefined && t.industry !== null) p.industry = mergeLatest(p.industry, { value: t.industry, at });
      if (t.region !== undefined && t.region !== null) p.region = mergeLatest(p.region, { value: t.region, at });
      if (t.renewalDate !== undefined && t.renewalDate !== null) p.renewalDate = mergeLatest(p.renewalDate, { value: t.renewalDate, at });
      if (t.contractStart !== undefined && t.contractStart !== null) p.contractStart = mergeLatest(p.contractStart, { value: t.contractStart, at });
      if (t.seats !== undefined && t.seats !== null) recordSeats(s, t.seats, at);
      return;
    }
    case 'subscription-changed': {
      const sub = s.subscription;
      const at = signal.at;
      sub.lastChangeAt = latest(sub.lastChangeAt, at);
      if (signal.arr !== undefined && signal.arr !== null) p.arr = mergeLatest(p.arr, { value: signal.arr, at });
      if (signal.plan !== undefined && signal.plan !== null) p.plan = mergeLatest(p.plan, { value: signal.plan, at });
      if (signal.renewalDate !== undefined && signal.renewalDate !== null) p.renewalDate = mergeLatest(p.renewalDate, { value: signal.renewalDate, at });
      if (signal.seats !== undefined && signal.seats !== null) recordSeats(s, signal.seats, at);
      switch (signal.change) {
        case 'started':
        case 'renewed':
        case 'reactivated': {
          if (signal.change === 'started') sub.startedAt = earliest(sub.startedAt, signal.effectiveAt);
          if (signal.change === 'renewed') sub.lastRenewalAt = latest(sub.lastRenewalAt, latest(at, signal.effectiveAt));
          const a = sub.lastActivation;
          const change = signal.change;
          if (a === null || compareIso(at, a.at) > 0 || (compareIso(at, a.at) === 0 && ACTIVATION_RANK[change] > ACTIVATION_RANK[a.change])) {
            sub.lastActivation = { at, change };
          }
          return;
        }
        case 'cancelled': {
          const c = sub.lastCancellation;
          const incoming = { at, effectiveAt: signal.effectiveAt };
          // Latest recorded wins; on equal instants the later effective date (the smaller claim).
          if (c === null || compareIso(at, c.at) > 0 || (compareIso(at, c.at) === 0 && compareIso(signal.effectiveAt, c.effectiveAt) > 0)) {
            sub.lastCancellation = incoming;
          }
          return;
        }
        case 'upgraded':
          sub.lastUpgradeAt = latest(sub.lastUpgradeAt, signal.effectiveAt);
          return;
        case 'downgraded':
          sub.lastDowngradeAt = latest(sub.lastDowngradeAt, signal.effectiveAt);
          return;
        case 'payment-failed':
          sub.lastPaymentFailedAt = latest(sub.lastPaymentFailedAt, at);
          return;
      }
      break;
    }
    case 'health-changed':
      s.health = mergeLatest(s.health, { value: signal.band, at: signal.at }, worseBand);
      return;
    case 'survey-answered':
      if (signal.kind === 'nps') s.latestNps = mergeLatest(s.latestNps, { value: signal.score, at: signal.at }, lowerScore);
      return;
    case 'reset':
      recordReset(s, signal.at, signal.reason);
      return;
  }
}

/**
 * Applies one signal: merges its facts, re-derives everything at `now` and returns the new state
 * (the input is not modified) and the outputs, in this order: phase changed, touch model changed,
 * segment changed (per dimension), renewal window opened, onboarding stalled (per milestone).
 *
 * - Pure and deterministic: same state, signal, rules and now → same result. `rules` must have
 *   passed validateLifecycleRules.
 * - Order-tolerant: the derived phase, touch model and segments depend only on the merged facts
 *   and `now`, so any order or repetition of the same signals ends in the same values.
 * - Idempotent: applying the same signal again emits nothing new.
 * - Nothing is emitted before the first signal that carries a fact (a tick on a fresh state).
 * - Output instants (changedAt, openedAt, detectedAt) are `now`: pass the processing clock; for a
 *   replay of history, pass each event's time instead if the outputs should be dated as then.
 *
 * Throws RangeError for an unusable signal (unparseable instant, negative ARR, unknown type…) or
 * an invalid `now`.
 */
export function applySignal(state: AccountLifecycleState, signal: LifecycleSignal, rules: LifecycleRules, now: Date): ApplyResult {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new RangeError('now: must be a valid Date');
  const sig = normaliseSignal(signal);
  const next = structuredClone(state);
  recordFacts(next, sig, rules);
  if (next.firstSeenAt === null) return { state: next, emitted: [] };

  const nowIso = now.toISOString();
  const label = describeSignal(sig, now);
  const emitted: LifecycleOutput[] = [];

  next.evaluatedAt = nowIso;
  next.startedAt = accountStartOf(next);
  next.onboardingStartedAt = onboardingStartOf(next);
  next.subscriptionStatus = subscriptionStatusOf(next.subscription, now);
  next.cancelEffectiveAt =
    (next.subscriptionStatus === 'cancel-scheduled' || next.subscriptionStatus === 'cancelled') && next.subscription.lastCancellation !== null
      ? next.subscription.lastCancellation.effectiveAt
      : null;
  const progress = onboardingProgressOf(next, rules);
  next.onboardingCompletedAt = progress.completedAt;

  // Phase.
  const decision = decidePhase(next, rules, now);
  if (decision.phase === LifecyclePhase.Onboarding && sig.type === 'reset') decision.rule = 'reset';
  if (decision.phase !== state.phase) {
    let cause: string;
    if (state.phase === null || level(decision.phase, decision.rule) < level(state.phase, state.phaseRule)) {
      cause = `${decision.rule}: ${decision.detail}`;
    } else {
      const released = releaseRule(state, next, rules, now);
      cause = `${released.rule}: ${released.detail}; now ${decision.phase} (${decision.rule}: ${decision.detail})`;
    }
    cause += `; signal: ${label}`;
    emitted.push({ type: 'cs.lifecycle.phase.changed.v1', data: { from: state.phase, to: decision.phase, cause, changedAt: nowIso } });
    next.phase = decision.phase;
    next.phaseSince = nowIso;
    next.phaseCause = cause;
  }
  next.phaseRule = decision.rule;

  // Touch model.
  const touch = decideTouchModel(
    { arr: next.profile.arr?.value ?? null, contractSize: contractSizeOfState(next, rules), healthBand: next.health?.value ?? null },
    rules.touchModel,
  );
  if (touch.touchModel !== state.touchModel) {
    const cause = `touch-model: ${touch.reason}; signal: ${label}`;
    emitted.push({ type: 'cs.lifecycle.touch-model.changed.v1', data: { from: state.touchModel, to: touch.touchModel, cause, changedAt: nowIso } });
    next.touchModel = touch.touchModel;
    next.touchModelSince = nowIso;
    next.touchModelCause = cause;
  }
  next.touchModelReason = touch.reason;

  // Segments.
  const { segments, reasons } = deriveSegments(segmentFactsOf(next), rules, now);
  for (const data of diffSegments(state.segments, segments, (dimension) => `${dimension}: ${reasons[dimension as keyof typeof reasons] ?? 'changed'}; signal: ${label}`, nowIso)) {
    emitted.push({ type: 'cs.lifecycle.segment.changed.v1', data });
    next.segmentCauses[data.dimension] = data.cause;
  }
  next.segments = segments;

  // Renewal window (once per renewal date; not for a cancelled or cancelling subscription).
  const window = renewalWindowOf(next, rules, now);
  const cancelling = next.subscriptionStatus === 'cancel-scheduled' || next.subscriptionStatus === 'cancelled';
  if (window.status === 'open' && window.renewalDate !== null && !cancelling && next.renewalWindowOpenedFor !== window.renewalDate) {
    emitted.push({
      type: 'cs.lifecycle.renewal-window.opened.v1',
      data: { renewalDate: window.renewalDate, daysBefore: Math.max(0, Math.ceil(daysBetween(nowIso, window.renewalDate))), openedAt: nowIso },
    });
    next.renewalWindowOpenedFor = window.renewalDate;
  }

  // Onboarding stalled (once per missing milestone and due date; not once churned).
  const overdue = progress.milestones.filter((m) => m.completedAt === null && m.dueAt !== null && ms(m.dueAt) <= now.getTime());
  const keys = overdue.map((m) => `${m.event}@${m.dueAt}`);
  if (next.phase === LifecyclePhase.Churned) {
    next.stalledNotified = next.stalledNotified.filter((k) => keys.includes(k));
  } else {
    overdue.forEach((m, i) => {
      if (next.stalledNotified.includes(keys[i]) || m.dueAt === null) return;
      emitted.push({
        type: 'cs.lifecycle.onboarding.stalled.v1',
        data: { milestone: m.event, dueAt: m.dueAt, completed: [...progress.completed], missing: [...progress.missing], detectedAt: nowIso },
      });
    });
    next.stalledNotified = keys;
  }

  return { state: next, emitted };
}

/** Applies signals in turn (all at the same `now`), returning the final state and every output. */
export function applySignals(state: AccountLifecycleState, signals: readonly LifecycleSignal[], rules: LifecycleRules, now: Date): ApplyResult {
  let current = state;
  const emitted: LifecycleOutput[] = [];
  for (const signal of signals) {
    const r = applySignal(current, signal, rules, now);
    current = r.state;
    emitted.push(...r.emitted);
  }
  return { state: current, emitted };
}
