import { ContractSize, HealthBand, LifecyclePhase, TouchModel } from '@kizuna/shared/contracts';
import { milestonesFor, type LifecycleRules } from './lifecycle-rules';
import { contractSizeOf, type SegmentFacts, type Segments } from './segments';
import { addDays, compareIso, latest } from './time';

/**
 * The plain state the lifecycle machine works on: one per account, plain JSON (ISO strings,
 * numbers, records, arrays; no Date, no class), so it can be stored as a JSONB column or spread
 * over columns as it is.
 *
 * It has three parts:
 *
 * 1. FACTS: what the signals said, each merged so that the ORDER AND REPETITION OF SIGNALS DO NOT
 *    MATTER: a value carries the instant it was true (`Dated`) and the latest one wins (with a
 *    deterministic tie-break on equal instants); firsts are minimums, lasts maximums, milestones a
 *    set with the earliest completion. Merging is commutative, associative and idempotent.
 * 2. DERIVED: phase, touch model, segments, subscription status, … recomputed from the facts at
 *    `now` on every signal (so equal facts always give equal derived values); kept to know what
 *    changed (the outputs are the differences) and for readers.
 * 3. BOOKKEEPING: which one-off outputs (renewal window opened, onboarding stalled) were already
 *    emitted, so a redelivery or a tick does not emit them again.
 */

/** A value with the instant it was true (the signal's own time, not when it was processed). */
export interface Dated<T> {
  value: T;
  at: string;
}

/**
 * - `none`: no subscription change seen yet (e.g. a freemium account billing never mentioned);
 * - `active`: subscribed (started, renewed, reactivated, or any other change without a standing cancellation);
 * - `cancel-scheduled`: cancelled, but the cancellation takes effect later (`cancelEffectiveAt`);
 * - `cancelled`: the cancellation has taken effect: the account is churned.
 */
export type SubscriptionStatus = 'none' | 'active' | 'cancel-scheduled' | 'cancelled';

/** A change that (re)activates the subscription and so overrides an earlier cancellation. */
export type ActivationChange = 'started' | 'renewed' | 'reactivated';

export interface SubscriptionFacts {
  /** Latest `at` of any subscription change (null: none seen). */
  lastChangeAt: string | null;
  /** Earliest `effectiveAt` of a 'started' change (a fallback for the account's start). */
  startedAt: string | null;
  /** The latest cancellation (by `at`), with when it takes effect. Never deleted: an activation with a later `at` overrides it. */
  lastCancellation: { at: string; effectiveAt: string } | null;
  /** The latest started/renewed/reactivated change (by `at`). */
  lastActivation: { at: string; change: ActivationChange } | null;
  /** Latest max(at, effectiveAt) of a 'renewed' change: a renewal covers every renewal date whose window started at or before it. */
  lastRenewalAt: string | null;
  /** Latest `effectiveAt` of an 'upgraded' change. */
  lastUpgradeAt: string | null;
  /** Latest `effectiveAt` of a 'downgraded' change. */
  lastDowngradeAt: string | null;
  /** Latest `at` of a 'payment-failed' change (recorded for readers; no phase depends on it). */
  lastPaymentFailedAt: string | null;
}

export interface AccountLifecycleState {
  accountId: string;

  // ---- Derived (as of `evaluatedAt`) ---------------------------------------------------------

  /** Current phase; null until the first signal carrying a fact about the account. */
  phase: LifecyclePhase | null;
  /** The rule that holds the account in `phase` (e.g. 'health-risk' vs 'cancellation-scheduled' for retention). */
  phaseRule: PhaseRule | null;
  /** When the account entered `phase` (the `now` of that evaluation). */
  phaseSince: string | null;
  /** The cause of the last phase change, as emitted (rule, explanation and signal). */
  phaseCause: string | null;
  touchModel: TouchModel | null;
  touchModelSince: string | null;
  /** Why the touch model is what it is now (threshold and health shift), kept current on every evaluation. */
  touchModelReason: string | null;
  /** The cause of the last touch model change, as emitted (reason and signal). */
  touchModelCause: string | null;
  /** Segment dimension → value (see SEGMENT_DIMENSIONS). */
  segments: Segments;
  /** Segment dimension → the cause of its last change, as emitted. */
  segmentCauses: Record<string, string>;
  subscriptionStatus: SubscriptionStatus;
  /** When the standing cancellation takes (or took) effect; null unless cancel-scheduled or cancelled. */
  cancelEffectiveAt: string | null;
  /** The account's start: contract start trait, else the first subscription start, else the first product activity, else the first signal. */
  startedAt: string | null;
  /** The current onboarding's start: the account's start, or the latest reset when later. Milestone due dates count from here. */
  onboardingStartedAt: string | null;
  /** When the last milestone required by the current contract size was done; null while onboarding is incomplete. */
  onboardingCompletedAt: string | null;
  /** The `now` of the last evaluation (null: never evaluated). */
  evaluatedAt: string | null;

  // ---- Facts ---------------------------------------------------------------------------------

  /** Earliest `at` of any signal that carried a fact (ticks do not count). */
  firstSeenAt: string | null;
  /** Latest value of each account trait (from account updates and, for arr/plan/renewalDate, subscription changes). */
  profile: {
    arr: Dated<number> | null;
    plan: Dated<string> | null;
    industry: Dated<string> | null;
    region: Dated<string> | null;
    /** ISO instant of the next renewal. */
    renewalDate: Dated<string> | null;
    /** ISO instant the contract started. */
    contractStart: Dated<string> | null;
  };
  /**
   * Seat counts seen (from account updates and subscription changes): the earliest observation
   * (the baseline), the highest (earliest instant it was reached) and the latest. Seat growth is a
   * new high above the baseline: `max.value > first.value`, at `max.at`.
   */
  seats: { first: Dated<number> | null; max: Dated<number> | null; latest: Dated<number> | null };
  /** Product activity (any event): earliest and latest instants. */
  activity: { firstAt: string | null; lastAt: string | null };
  /**
   * Onboarding milestones done since the latest reset: event name → earliest completion at or
   * after the reset (every completion when there was no reset). A set: repeats and reorderings
   * keep the earliest date. Only events that are milestones of some contract size are recorded.
   */
  milestonesDone: Record<string, string>;
  /**
   * Latest completion ever of each milestone event. When a reset arrives AFTER events that
   * followed it, a milestone done both before and after the reset is kept with this date (the
   * latest sighting, an upper bound of its real post-reset date): its being done is exact, its
   * date approximate in that one case.
   */
  milestonesLastSeen: Record<string, string>;
  /** The latest reset (new workspace, admin changed): onboarding starts over from it. */
  lastReset: { at: string; reason: string } | null;
  subscription: SubscriptionFacts;
  /** Latest health band (by the score's computedAt). */
  health: Dated<HealthBand> | null;
  /** Latest NPS answer (by answeredAt): score 0..10. */
  latestNps: Dated<number> | null;

  // ---- Bookkeeping (one-off outputs) -----------------------------------------------------------

  /** The renewal date whose window-opened output was emitted (one per renewal date). */
  renewalWindowOpenedFor: string | null;
  /** `<milestone>@<dueAt>` for each onboarding-stalled output emitted and still relevant. */
  stalledNotified: string[];
}

/**
 * The rule that puts (or keeps) an account in a phase, or takes it out of one. The first word of
 * every phase-changed `cause`.
 */
export type PhaseRule =
  // entering (the rule that holds the account in its new phase)
  | 'cancellation-effective'
  | 'cancellation-scheduled'
  | 'reactivated'
  | 'onboarding-incomplete'
  | 'reset'
  | 'health-risk'
  | 'renewal-window'
  | 'expansion'
  | 'adopted'
  // leaving (why the old phase no longer holds, when the new one ranks lower)
  | 'cancellation-rescheduled'
  | 'cancellation-withdrawn'
  | 'reactivation-window-ended'
  | 'onboarding-complete'
  | 'health-recovered'
  | 'renewed'
  | 'renewal-date-changed'
  | 'renewal-overdue'
  | 'downgraded'
  | 'expansion-ended';

/** A fresh account: no facts, no phase. */
export function initialAccountState(accountId: string): AccountLifecycleState {
  return {
    accountId,
    phase: null,
    phaseRule: null,
    phaseSince: null,
    phaseCause: null,
    touchModel: null,
    touchModelSince: null,
    touchModelReason: null,
    touchModelCause: null,
    segments: {},
    segmentCauses: {},
    subscriptionStatus: 'none',
    cancelEffectiveAt: null,
    startedAt: null,
    onboardingStartedAt: null,
    onboardingCompletedAt: null,
    evaluatedAt: null,
    firstSeenAt: null,
    profile: { arr: null, plan: null, industry: null, region: null, renewalDate: null, contractStart: null },
    seats: { first: null, max: null, latest: null },
    activity: { firstAt: null, lastAt: null },
    milestonesDone: {},
    milestonesLastSeen: {},
    lastReset: null,
    subscription: {
      lastChangeAt: null,
      startedAt: null,
      lastCancellation: null,
      lastActivation: null,
      lastRenewalAt: null,
      lastUpgradeAt: null,
      lastDowngradeAt: null,
      lastPaymentFailedAt: null,
    },
    health: null,
    latestNps: null,
    renewalWindowOpenedFor: null,
    stalledNotified: [],
  };
}

// ---- Order-insensitive merges ------------------------------------------------------------------

/** Default tie-break: the larger value (numbers numerically, strings by code unit). */
export function compareValues<T>(a: T, b: T): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * The later of two dated values; on equal instants the one `prefer` ranks higher (> 0), so the
 * result does not depend on which arrived first. `prefer(a, b) > 0` means a wins.
 */
export function mergeLatest<T>(current: Dated<T> | null, incoming: Dated<T>, prefer: (a: T, b: T) => number = compareValues): Dated<T> {
  if (current === null) return incoming;
  const c = compareIso(incoming.at, current.at);
  if (c > 0 || (c === 0 && prefer(incoming.value, current.value) > 0)) return incoming;
  return current;
}

/** The earlier of two dated values; on equal instants the one `prefer` ranks higher. */
export function mergeEarliest<T>(current: Dated<T> | null, incoming: Dated<T>, prefer: (a: T, b: T) => number = compareValues): Dated<T> {
  if (current === null) return incoming;
  const c = compareIso(incoming.at, current.at);
  if (c < 0 || (c === 0 && prefer(incoming.value, current.value) > 0)) return incoming;
  return current;
}

/** The larger value; on equal values the earlier instant (when that high was first reached). */
export function mergeMax(current: Dated<number> | null, incoming: Dated<number>): Dated<number> {
  if (current === null) return incoming;
  if (incoming.value > current.value) return incoming;
  if (incoming.value === current.value && compareIso(incoming.at, current.at) < 0) return incoming;
  return current;
}

const BAND_SEVERITY: Record<HealthBand, number> = { [HealthBand.Good]: 0, [HealthBand.Caution]: 1, [HealthBand.Danger]: 2 };

/** Tie-break for health bands reported at the same instant: the worse band wins. */
export function worseBand(a: HealthBand, b: HealthBand): number {
  return BAND_SEVERITY[a] - BAND_SEVERITY[b];
}

/** Tie-break for NPS answers at the same instant: the lower score wins (the cautious reading). */
export function lowerScore(a: number, b: number): number {
  return b - a;
}

// ---- Derived facts -------------------------------------------------------------------------------

/** The account's start (see AccountLifecycleState.startedAt). */
export function accountStartOf(s: AccountLifecycleState): string | null {
  return s.profile.contractStart?.value ?? s.subscription.startedAt ?? s.activity.firstAt ?? s.firstSeenAt;
}

/** The current onboarding's start: the account's start or the latest reset, whichever is later. */
export function onboardingStartOf(s: AccountLifecycleState): string | null {
  return latest(accountStartOf(s), s.lastReset?.at ?? null);
}

/**
 * Subscription status at `now`. The latest cancellation stands unless an activation (started,
 * renewed, reactivated) was recorded after it; on equal instants the activation wins, so there is
 * never a churn that later data cannot undo. A standing cancellation is 'cancel-scheduled' before
 * its effectiveAt and 'cancelled' from it on.
 */
export function subscriptionStatusOf(sub: SubscriptionFacts, now: Date): SubscriptionStatus {
  const c = sub.lastCancellation;
  const a = sub.lastActivation;
  if (c !== null && (a === null || compareIso(a.at, c.at) < 0)) {
    return Date.parse(c.effectiveAt) <= now.getTime() ? 'cancelled' : 'cancel-scheduled';
  }
  return sub.lastChangeAt === null ? 'none' : 'active';
}

/**
 * When a churned account was brought back: the latest activation, when it came after a
 * cancellation that had already taken effect (a withdrawal before the effective date is not a
 * reactivation). Null otherwise.
 */
export function reactivatedAtOf(sub: SubscriptionFacts): string | null {
  const c = sub.lastCancellation;
  const a = sub.lastActivation;
  if (c === null || a === null) return null;
  if (compareIso(a.at, c.at) < 0) return null;
  return compareIso(a.at, c.effectiveAt) >= 0 ? a.at : null;
}

/** The facts the segments are computed from. */
export function segmentFactsOf(s: AccountLifecycleState): SegmentFacts {
  return {
    arr: s.profile.arr?.value ?? null,
    plan: s.profile.plan?.value ?? null,
    startedAt: accountStartOf(s),
    lastActivityAt: s.activity.lastAt,
    latestNps: s.latestNps?.value ?? null,
    healthBand: s.health?.value ?? null,
    industry: s.profile.industry?.value ?? null,
    region: s.profile.region?.value ?? null,
  };
}

export function contractSizeOfState(s: AccountLifecycleState, rules: LifecycleRules): ContractSize | undefined {
  return contractSizeOf({ arr: s.profile.arr?.value ?? null, plan: s.profile.plan?.value ?? null }, rules.contractSize);
}

export interface MilestoneProgress {
  event: string;
  targetDays: number;
  /** onboarding start + targetDays (null while the start is unknown). */
  dueAt: string | null;
  /** Earliest completion since the latest reset, or null. */
  completedAt: string | null;
}

export interface OnboardingProgress {
  /** The contract size whose milestones apply (the rules' fallback while unknown). */
  size: ContractSize;
  startedAt: string | null;
  milestones: MilestoneProgress[];
  /** Event names done / not done, in the rules' order. */
  completed: string[];
  missing: string[];
  complete: boolean;
  /** The latest completion when complete (the onboarding's end), else null. */
  completedAt: string | null;
}

/** Where the account stands against the milestones of its current contract size. */
export function onboardingProgressOf(s: AccountLifecycleState, rules: LifecycleRules): OnboardingProgress {
  const known = contractSizeOfState(s, rules);
  const size = known ?? rules.onboarding.unknownSize;
  const startedAt = onboardingStartOf(s);
  const milestones = milestonesFor(rules, known).map((m) => ({
    event: m.event,
    targetDays: m.targetDays,
    dueAt: startedAt === null ? null : addDays(startedAt, m.targetDays),
    completedAt: Object.prototype.hasOwnProperty.call(s.milestonesDone, m.event) ? s.milestonesDone[m.event] : null,
  }));
  const completed = milestones.filter((m) => m.completedAt !== null).map((m) => m.event);
  const missing = milestones.filter((m) => m.completedAt === null).map((m) => m.event);
  const complete = missing.length === 0;
  let completedAt: string | null = null;
  if (complete) for (const m of milestones) completedAt = latest(completedAt, m.completedAt);
  // No milestones at all: complete from the start.
  if (complete && milestones.length === 0) completedAt = startedAt;
  return { size, startedAt, milestones, completed, missing, complete, completedAt };
}
