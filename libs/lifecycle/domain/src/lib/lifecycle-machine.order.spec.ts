import { HealthBand, LifecyclePhase, TouchModel } from '@kizuna/shared/contracts';
import { initialAccountState, type AccountLifecycleState } from './account-state';
import { applySignal, decidePhase, type LifecycleSignal } from './lifecycle-machine';
import { activity, day, health, nps, onDay, prng, R, reset, START, subscription, TICK, updated } from './lifecycle.test-helper';

/**
 * Order tolerance, property-style: the same signals, shuffled and with duplicates, processed with
 * any (monotonic) clock, end in the same phase, touch model, segments and facts as the signals in
 * order, once evaluated at the same final `now`.
 */

const milestones = (a = 1, b = 2, c = 5): LifecycleSignal[] => [
  activity(a, 'Workspace Created'),
  activity(b, 'Teammate Invited'),
  activity(c, 'First Report Shared'),
];

interface History {
  name: string;
  signals: LifecycleSignal[];
  end: number;
  expected: { phase: LifecyclePhase; touchModel: TouchModel; segments: Record<string, string> };
  /** The history has a reset that milestones straddle: their post-reset dates are exact only in order. */
  lateResetApproximation?: boolean;
}

const histories: History[] = [
  {
    name: 'adopted, at risk and back, seats up and down, upgraded: expansion',
    signals: [
      START(),
      ...milestones(),
      health(10, HealthBand.Caution),
      health(12, HealthBand.Danger),
      health(15, HealthBand.Good),
      nps(20, 9),
      nps(25, 4),
      updated(30, { seats: 14 }),
      updated(31, { seats: 12 }),
      updated(40, { industry: 'fintech' }),
      activity(50, 'Report Viewed'),
      subscription(60, 'upgraded', { arr: 60_000 }),
    ],
    end: 100,
    expected: {
      phase: LifecyclePhase.Expansion,
      touchModel: TouchModel.High,
      segments: { 'contract-size': 'smb', 'usage-status': 'dormant', 'nps-loyalty': 'detractor', 'health-band': 'good', industry: 'fintech', region: 'emea' },
    },
  },
  {
    name: 'cancelled, churned, reactivated, in danger: retention (win-back)',
    signals: [
      START(),
      ...milestones(),
      subscription(40, 'cancelled', { effectiveAt: day(70) }),
      subscription(45, 'payment-failed'),
      subscription(80, 'reactivated'),
      health(85, HealthBand.Danger),
      activity(90, 'Report Viewed'),
    ],
    end: 95,
    expected: {
      phase: LifecyclePhase.Retention,
      touchModel: TouchModel.High,
      segments: { 'contract-size': 'smb', 'usage-status': 'active', 'health-band': 'danger', industry: 'saas', region: 'emea' },
    },
  },
  {
    name: 'onboarded, reset, part of the milestones redone: onboarding',
    signals: [START(), ...milestones(), reset(20), activity(21, 'Workspace Created'), activity(22, 'Workspace Created'), activity(25, 'Teammate Invited')],
    end: 30,
    expected: { phase: LifecyclePhase.Onboarding, touchModel: TouchModel.Low, segments: { 'contract-size': 'smb', 'usage-status': 'active', industry: 'saas', region: 'emea' } },
    lateResetApproximation: true,
  },
  {
    name: 'renewal date moved, cancelled before it: churned',
    signals: [
      START(),
      ...milestones(),
      updated(100, { renewalDate: day(200) }),
      subscription(100, 'cancelled', { effectiveAt: day(120) }),
      health(110, HealthBand.Caution),
      nps(111, 7),
    ],
    end: 130,
    expected: {
      phase: LifecyclePhase.Churned,
      touchModel: TouchModel.Low,
      segments: { 'contract-size': 'smb', 'usage-status': 'dormant', 'nps-loyalty': 'passive', 'health-band': 'caution', industry: 'saas', region: 'emea' },
    },
  },
  {
    name: 'healthy and active near the renewal date: renewal',
    signals: [START(), ...milestones(), health(10, HealthBand.Good), activity(280, 'Report Viewed'), nps(281, 8), updated(282, { region: 'apac' })],
    end: 290,
    expected: {
      phase: LifecyclePhase.Renewal,
      touchModel: TouchModel.Low,
      segments: { 'contract-size': 'smb', 'usage-status': 'active', 'nps-loyalty': 'passive', 'health-band': 'good', industry: 'saas', region: 'apac' },
    },
  },
  {
    name: 'a trial converted to a paid plan while in danger: retention (health risk)',
    signals: [
      updated(0, { plan: 'Free Trial', arr: 0, seats: 3, contractStart: day(0) }),
      ...milestones(),
      health(6, HealthBand.Danger),
      updated(30, { plan: 'Pro', arr: 12_000, seats: 3 }),
      activity(35, 'Report Viewed'),
    ],
    end: 40,
    expected: { phase: LifecyclePhase.Retention, touchModel: TouchModel.High, segments: { 'contract-size': 'smb', 'usage-status': 'active', 'health-band': 'danger' } },
  },
];

/** Shuffles (Fisher-Yates) and inserts duplicates (each signal again with probability 0.3). */
function scramble(signals: LifecycleSignal[], random: () => number): LifecycleSignal[] {
  const out = [...signals];
  for (const s of signals) if (random() < 0.3) out.push(s);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

type Clock = 'end' | 'monotonic';

/** Processes the signals: `end` processes everything at the final instant (a replay), `monotonic` at the latest event time seen so far (a live consumer receiving out of order). */
function play(signals: LifecycleSignal[], end: number, clock: Clock): AccountLifecycleState {
  let state = initialAccountState('acme');
  let now = Number.NEGATIVE_INFINITY;
  for (const s of signals) {
    if (s.type !== 'tick') now = Math.max(now, Date.parse(s.at));
    state = applySignal(state, s, R, clock === 'end' ? onDay(end) : new Date(now)).state;
  }
  return applySignal(state, TICK, R, onDay(end)).state;
}

/** What must not depend on the order: the derived values and the facts. */
function outcome(s: AccountLifecycleState, exactMilestoneDates: boolean) {
  return {
    phase: s.phase,
    touchModel: s.touchModel,
    segments: s.segments,
    subscriptionStatus: s.subscriptionStatus,
    cancelEffectiveAt: s.cancelEffectiveAt,
    startedAt: s.startedAt,
    onboardingStartedAt: s.onboardingStartedAt,
    firstSeenAt: s.firstSeenAt,
    profile: s.profile,
    seats: s.seats,
    activity: s.activity,
    milestones: exactMilestoneDates ? s.milestonesDone : Object.keys(s.milestonesDone).sort(),
    milestonesLastSeen: s.milestonesLastSeen,
    lastReset: s.lastReset,
    subscription: s.subscription,
    health: s.health,
    latestNps: s.latestNps,
  };
}

describe('order tolerance', () => {
  describe.each(histories.map((h) => [h.name, h] as const))('%s', (_name, h) => {
    const exact = !h.lateResetApproximation;
    const inOrder = play(h.signals, h.end, 'end');

    it('ends where expected in order', () => {
      expect({ phase: inOrder.phase, touchModel: inOrder.touchModel, segments: inOrder.segments }).toEqual(h.expected);
      expect(decidePhase(inOrder, R, onDay(h.end)).phase).toBe(inOrder.phase);
    });

    it.each<Clock>(['end', 'monotonic'])('ends the same when shuffled and duplicated (60 seeds, clock: %s)', (clock) => {
      const reference = outcome(inOrder, exact);
      for (let seed = 1; seed <= 60; seed++) {
        const signals = scramble(h.signals, prng(seed * 7919 + h.end));
        const final = play(signals, h.end, clock);
        expect({ seed, ...outcome(final, exact) }).toEqual({ seed, ...reference });
      }
    });

    it('ends the same in reverse order, and with every signal twice', () => {
      expect(outcome(play([...h.signals].reverse(), h.end, 'monotonic'), exact)).toEqual(outcome(inOrder, exact));
      expect(outcome(play(h.signals.flatMap((s) => [s, s]), h.end, 'end'), exact)).toEqual(outcome(inOrder, exact));
    });
  });

  it('with a reset arriving last, the redone milestones are dated by their latest sighting (the one documented approximation)', () => {
    const h = histories[2];
    const resetLast = [...h.signals.filter((s) => s.type !== 'reset'), reset(20)];
    const late = play(resetLast, h.end, 'end');
    const inOrder = play(h.signals, h.end, 'end');
    expect(inOrder.milestonesDone).toEqual({ 'Workspace Created': day(21), 'Teammate Invited': day(25) });
    expect(late.milestonesDone).toEqual({ 'Workspace Created': day(22), 'Teammate Invited': day(25) });
    expect(late.phase).toBe(inOrder.phase);
  });
});
