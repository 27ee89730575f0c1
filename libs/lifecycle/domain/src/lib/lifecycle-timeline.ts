import { initialAccountState, type AccountLifecycleState } from './account-state';
import type { LifecycleRules } from './lifecycle-rules';
import { applySignal, normaliseSignal, type LifecycleOutput, type LifecycleSignal } from './lifecycle-machine';
import { nextTimeBoundary } from './time-boundaries';
import { compareIso } from './time';

/**
 * The machine on a timeline: every signal is evaluated at its own instant (`at`), and the clock
 * alone moves the account at each time boundary in between (ticks at those instants), so every
 * output is dated when it happened in the world. Replaying the same signals, sorted by
 * (at, key), gives the same history whatever order they arrived in.
 *
 * A service keeps, per account, the state and its HORIZON (the instant it was last evaluated at
 * and the key of the signal evaluated then). A signal after the horizon is simply applied
 * (`applyInOrder`); one at or before it means the history from that point is wrong, and the
 * account is rebuilt from all its signals (`replay`).
 */

/** A stored signal: `key` is unique per account and breaks ties between equal instants. */
export interface KeyedSignal {
  key: string;
  signal: Exclude<LifecycleSignal, { type: 'tick' }>;
}

/** Monthly recurring revenue the state implies: 0 once churned (or never paying), else ARR / 12. */
export function mrrOf(s: AccountLifecycleState): number {
  if (s.subscriptionStatus === 'cancelled') return 0;
  return (s.profile.arr?.value ?? 0) / 12;
}

export interface MrrChange {
  at: string;
  mrr: number;
}

export interface Horizon {
  /** The instant the state was last evaluated at (null: never). */
  at: string | null;
  /** The key of the signal evaluated at `at`, or null when that was a tick. */
  key: string | null;
}

export interface TimelineResult {
  state: AccountLifecycleState;
  horizon: Horizon;
  /** Outputs, each dated by its own instant (changedAt / openedAt / detectedAt). */
  emitted: LifecycleOutput[];
  /** MRR after each change, at the instant it changed. */
  mrr: MrrChange[];
}

/** Order of signals on the timeline: by instant, then by key. */
export function compareKeyed(a: KeyedSignal, b: KeyedSignal): number {
  return compareIso(a.signal.at, b.signal.at) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** True when `s` comes strictly after the horizon (it can be applied without a replay). */
export function isAfterHorizon(s: KeyedSignal, h: Horizon): boolean {
  if (h.at === null) return true;
  const c = compareIso(s.signal.at, h.at);
  return c > 0 || (c === 0 && h.key !== null && s.key > h.key);
}

class Timeline {
  readonly emitted: LifecycleOutput[] = [];
  readonly mrr: MrrChange[] = [];
  constructor(
    public state: AccountLifecycleState,
    public horizon: Horizon,
    private readonly rules: LifecycleRules,
  ) {}

  private step(signal: LifecycleSignal, at: string, key: string | null): void {
    const before = this.state.evaluatedAt === null ? null : mrrOf(this.state);
    const r = applySignal(this.state, signal, this.rules, new Date(at));
    this.state = r.state;
    this.emitted.push(...r.emitted);
    if (this.state.evaluatedAt !== null) {
      const after = mrrOf(this.state);
      if (after !== before) this.mrr.push({ at, mrr: after });
      this.horizon = { at, key };
    }
  }

  /** Ticks at every time boundary after the horizon and before `until` (or at it, when inclusive). */
  advance(until: string, inclusive: boolean): void {
    for (;;) {
      const from = this.horizon.at;
      if (from === null) return;
      const b = nextTimeBoundary(this.state, this.rules, from);
      if (b === null) return;
      const c = compareIso(b, until);
      if (c > 0 || (c === 0 && !inclusive)) return;
      this.step({ type: 'tick' }, b, null);
    }
  }

  apply(s: KeyedSignal): void {
    this.advance(s.signal.at, false);
    this.step(s.signal, s.signal.at, s.key);
  }

  result(): TimelineResult {
    return { state: this.state, horizon: this.horizon, emitted: this.emitted, mrr: this.mrr };
  }
}

/** Normalises a stored signal's instants (so keys and instants compare as strings). */
export function keyed(key: string, signal: KeyedSignal['signal']): KeyedSignal {
  return { key, signal: normaliseSignal(signal) as KeyedSignal['signal'] };
}

/**
 * Applies signals that all come after the horizon (in any order among themselves: they are
 * sorted). Throws RangeError when one does not (the caller must replay instead).
 */
export function applyInOrder(state: AccountLifecycleState, horizon: Horizon, signals: readonly KeyedSignal[], rules: LifecycleRules): TimelineResult {
  const t = new Timeline(state, horizon, rules);
  for (const s of [...signals].sort(compareKeyed)) {
    if (!isAfterHorizon(s, t.horizon)) throw new RangeError(`signal ${s.key} at ${s.signal.at} is not after the horizon ${t.horizon.at}`);
    t.apply(s);
  }
  return t.result();
}

/**
 * Rebuilds an account from all its signals (any order, duplicates by key ignored), then ticks
 * every time boundary up to `until` (inclusive), e.g. the previous horizon or the clock.
 */
export function replay(accountId: string, signals: readonly KeyedSignal[], rules: LifecycleRules, until: string | null): TimelineResult {
  const unique = new Map<string, KeyedSignal>();
  for (const s of signals) unique.set(s.key, s);
  const t = new Timeline(initialAccountState(accountId), { at: null, key: null }, rules);
  for (const s of [...unique.values()].sort(compareKeyed)) t.apply(s);
  if (until !== null) t.advance(until, true);
  return t.result();
}

/** Moves an account through every time boundary up to `until` (inclusive): the scheduled tick. */
export function advanceTo(state: AccountLifecycleState, horizon: Horizon, until: string, rules: LifecycleRules): TimelineResult {
  const t = new Timeline(state, horizon, rules);
  t.advance(until, true);
  return t.result();
}
