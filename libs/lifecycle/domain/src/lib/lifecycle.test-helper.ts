import { HealthBand, type SubscriptionChange } from '@kizuna/shared/contracts';
import { initialAccountState, type AccountLifecycleState } from './account-state';
import { DEFAULT_LIFECYCLE_RULES, type LifecycleRules } from './lifecycle-rules';
import { applySignal, type AccountTraits, type LifecycleOutput, type LifecycleSignal } from './lifecycle-machine';

/** Test builders: instants are whole days after T0 (fractions allowed). */
export const T0 = '2026-01-01T00:00:00.000Z';
export const day = (n: number): string => new Date(Date.parse(T0) + n * 86_400_000).toISOString();
export const onDay = (n: number): Date => new Date(day(n));

export const R: LifecycleRules = DEFAULT_LIFECYCLE_RULES;

/** Default rules with another value at one place. */
export function rulesWith(change: (r: LifecycleRules) => void): LifecycleRules {
  const r = structuredClone(DEFAULT_LIFECYCLE_RULES);
  change(r);
  return r;
}
/** No onboarding at all: accounts are adopted from their first signal. */
export const NO_ONBOARDING = rulesWith((r) => {
  r.onboarding.milestones = { enterprise: [], smb: [], freemium: [] };
});
/** Enterprise accounts must also configure SSO: a move to enterprise re-opens onboarding. */
export const SSO_RULES = rulesWith((r) => {
  r.onboarding.milestones.enterprise = [...r.onboarding.milestones.enterprise, { event: 'SSO Configured', targetDays: 30 }];
});
/** Reactivated accounts go straight to whatever the facts say. */
export const NO_WINBACK = rulesWith((r) => {
  r.retention.reactivationDays = 0;
});

export const updated = (n: number, traits: AccountTraits): LifecycleSignal => ({ type: 'account-updated', at: day(n), traits });
export const activity = (n: number, event: string, userId = 'u1'): LifecycleSignal => ({ type: 'product-activity', at: day(n), event, userId });
export const subscription = (
  n: number,
  change: SubscriptionChange,
  extra: { effectiveAt?: string; seats?: number; arr?: number; plan?: string; renewalDate?: string } = {},
): LifecycleSignal => ({ type: 'subscription-changed', at: day(n), change, effectiveAt: extra.effectiveAt ?? day(n), ...extra });
export const health = (n: number, band: HealthBand): LifecycleSignal => ({ type: 'health-changed', at: day(n), band });
export const nps = (n: number, score: number): LifecycleSignal => ({ type: 'survey-answered', at: day(n), kind: 'nps', score });
export const csat = (n: number, score: number): LifecycleSignal => ({ type: 'survey-answered', at: day(n), kind: 'csat', score });
export const reset = (n: number, reason = 'new-workspace'): LifecycleSignal => ({ type: 'reset', at: day(n), reason });
export const TICK: LifecycleSignal = { type: 'tick' };

/** A signal and the day it is processed on (`now`). */
export type Step = [signal: LifecycleSignal, nowDay: number];
/** A signal processed on its own day. */
export const on = (signal: LifecycleSignal): Step => {
  if (signal.type === 'tick') throw new Error('a tick needs a day: use tickOn');
  return [signal, (Date.parse(signal.at) - Date.parse(T0)) / 86_400_000];
};
export const tickOn = (n: number): Step => [TICK, n];

/** An SMB account (ARR 20,000: low touch) starting on day 0, renewing on day 365. */
export const START = (extra: AccountTraits = {}): LifecycleSignal =>
  updated(0, { arr: 20_000, plan: 'Pro', seats: 10, industry: 'saas', region: 'emea', contractStart: day(0), renewalDate: day(365), ...extra });
/** The SMB milestones (due on days 3, 7, 14), done on days 1, 2 and 5. */
export const MILESTONES: Step[] = [
  on(activity(1, 'Workspace Created')),
  on(activity(2, 'Teammate Invited')),
  on(activity(5, 'First Report Shared')),
];

export interface Run {
  state: AccountLifecycleState;
  /** Outputs of every step. */
  emitted: LifecycleOutput[];
  /** Outputs of the last step only. */
  last: LifecycleOutput[];
}

export function run(steps: Step[], rules: LifecycleRules = R, from: AccountLifecycleState = initialAccountState('acme')): Run {
  let state = from;
  const emitted: LifecycleOutput[] = [];
  let last: LifecycleOutput[] = [];
  for (const [signal, n] of steps) {
    const r = applySignal(state, signal, rules, onDay(n));
    state = r.state;
    emitted.push(...r.emitted);
    last = r.emitted;
  }
  return { state, emitted, last };
}

type OutputData = { [K in LifecycleOutput['type']]: Extract<LifecycleOutput, { type: K }>['data'] };

/** The payloads of the outputs of one type. */
export function ofType<T extends LifecycleOutput['type']>(outputs: LifecycleOutput[], type: T): OutputData[T][] {
  const out: OutputData[T][] = [];
  for (const o of outputs) if (o.type === type) out.push(o.data as OutputData[T]);
  return out;
}

/** A small deterministic PRNG (mulberry32) for the property tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
