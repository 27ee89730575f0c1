import { ContractSize, HealthBand, LifecyclePhase, TouchModel, validatePayload } from '@kizuna/shared/contracts';
import { initialAccountState, type AccountLifecycleState } from './account-state';
import {
  applySignal,
  applySignals,
  decidePhase,
  describeSignal,
  expansionOf,
  normaliseSignal,
  renewalWindowOf,
  type LifecycleSignal,
} from './lifecycle-machine';
import {
  activity,
  csat,
  day,
  health,
  MILESTONES,
  nps,
  ofType,
  on,
  onDay,
  R,
  reset,
  rulesWith,
  run,
  START,
  subscription,
  TICK,
  tickOn,
  updated,
  type Step,
} from './lifecycle.test-helper';

const { Onboarding: O, Adoption: A, Expansion: E, Renewal: RN, Retention: T, Churned: C } = LifecyclePhase;
const ADOPTION: Step[] = [on(START()), ...MILESTONES];

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('applySignal: basics', () => {
  it('a tick on a fresh account does nothing (no fact, no phase)', () => {
    const r = applySignal(initialAccountState('acme'), TICK, R, onDay(0));
    expect(r.emitted).toEqual([]);
    expect(r.state.phase).toBeNull();
    expect(r.state.evaluatedAt).toBeNull();
  });

  it('the first fact emits the phase, touch model and segments from null, in that order', () => {
    const r = run([on(START())]);
    const label = `account-updated (arr, plan, seats, industry, region, renewalDate, contractStart) at ${day(0)}`;
    expect(r.emitted).toEqual([
      {
        type: 'cs.lifecycle.phase.changed.v1',
        data: {
          from: null,
          to: O,
          cause: `onboarding-incomplete: 3 of 3 smb milestones missing: 'Workspace Created', 'Teammate Invited', 'First Report Shared'; signal: ${label}`,
          changedAt: day(0),
        },
      },
      { type: 'cs.lifecycle.touch-model.changed.v1', data: { from: null, to: TouchModel.Low, cause: `touch-model: ARR 20000 >= 10000: low; signal: ${label}`, changedAt: day(0) } },
      { type: 'cs.lifecycle.segment.changed.v1', data: { dimension: 'contract-size', from: null, to: 'smb', cause: `contract-size: ARR 20000 > 0 and < 100000; signal: ${label}`, changedAt: day(0) } },
      {
        type: 'cs.lifecycle.segment.changed.v1',
        data: { dimension: 'usage-status', from: null, to: 'new', cause: `usage-status: started ${day(0)}, less than 14 days ago; signal: ${label}`, changedAt: day(0) },
      },
      { type: 'cs.lifecycle.segment.changed.v1', data: { dimension: 'industry', from: null, to: 'saas', cause: `industry: trait 'saas'; signal: ${label}`, changedAt: day(0) } },
      { type: 'cs.lifecycle.segment.changed.v1', data: { dimension: 'region', from: null, to: 'emea', cause: `region: trait 'emea'; signal: ${label}`, changedAt: day(0) } },
    ]);
    expect(r.state).toMatchObject({
      phase: O,
      phaseRule: 'onboarding-incomplete',
      phaseSince: day(0),
      touchModel: TouchModel.Low,
      touchModelSince: day(0),
      touchModelReason: 'ARR 20000 >= 10000: low',
      touchModelCause: `touch-model: ARR 20000 >= 10000: low; signal: ${label}`,
      segments: { 'contract-size': 'smb', 'usage-status': 'new', industry: 'saas', region: 'emea' },
      subscriptionStatus: 'none',
      startedAt: day(0),
      onboardingStartedAt: day(0),
      onboardingCompletedAt: null,
      evaluatedAt: day(0),
    });
    expect(r.state.segmentCauses['region']).toBe(`region: trait 'emea'; signal: ${label}`);
  });

  it('does not modify the state or the signal it is given', () => {
    const before = deepFreeze(run(ADOPTION).state);
    const copy = structuredClone(before);
    const signal = deepFreeze(subscription(10, 'upgraded', { arr: 30_000, seats: 20 }));
    const r = applySignal(before, signal, R, onDay(10));
    expect(before).toEqual(copy);
    expect(r.state).not.toBe(before);
    expect(r.state.phase).toBe(E);
  });

  it('works on state that went through JSON (the stored form)', () => {
    const state = run(ADOPTION).state;
    const stored = JSON.parse(JSON.stringify(state)) as AccountLifecycleState;
    expect(stored).toEqual(state);
    const signal = health(10, HealthBand.Danger);
    expect(applySignal(stored, signal, R, onDay(10))).toEqual(applySignal(state, signal, R, onDay(10)));
  });

  it.each<[string, LifecycleSignal, number]>([
    ['product activity', activity(6, 'Report Viewed'), 6],
    ['a milestone', activity(6, 'Workspace Created'), 6],
    ['an account update', updated(6, { arr: 60_000, seats: 14, region: 'apac' }), 6],
    ['an upgrade', subscription(6, 'upgraded', { seats: 12 }), 6],
    ['a cancellation', subscription(6, 'cancelled', { effectiveAt: day(30) }), 6],
    ['a health change', health(6, HealthBand.Danger), 6],
    ['an NPS answer', nps(6, 3), 6],
    ['a reset', reset(6), 6],
    ['a tick', TICK, 6],
  ])('is idempotent: %s applied again emits nothing and changes nothing', (_name, signal, n) => {
    const once = applySignal(run(ADOPTION).state, signal, R, onDay(n));
    const twice = applySignal(once.state, signal, R, onDay(n));
    expect(twice.emitted).toEqual([]);
    expect(twice.state).toEqual(once.state);
  });

  it('every output of a long story satisfies its contract class', () => {
    const r = run([
      on(START()),
      ...MILESTONES,
      tickOn(4),
      on(health(10, HealthBand.Danger)),
      on(nps(11, 10)),
      on(subscription(12, 'upgraded', { seats: 30, arr: 120_000 })),
      on(health(20, HealthBand.Good)),
      tickOn(280),
      on(subscription(300, 'cancelled', { effectiveAt: day(365) })),
      tickOn(365),
      on(subscription(370, 'reactivated')),
      on(reset(371, 'admin-changed')),
      tickOn(420),
    ]);
    expect(r.emitted.length).toBeGreaterThan(15);
    for (const o of r.emitted) expect(() => validatePayload(o.type, o.data)).not.toThrow();
    expect(new Set(r.emitted.map((o) => o.type))).toEqual(
      new Set([
        'cs.lifecycle.phase.changed.v1',
        'cs.lifecycle.touch-model.changed.v1',
        'cs.lifecycle.segment.changed.v1',
        'cs.lifecycle.renewal-window.opened.v1',
        'cs.lifecycle.onboarding.stalled.v1',
      ]),
    );
  });

  it('applySignals folds applySignal and concatenates the outputs', () => {
    const signals = [START(), activity(1, 'Workspace Created'), health(2, HealthBand.Caution)];
    const folded = applySignals(initialAccountState('acme'), signals, R, onDay(3));
    let state = initialAccountState('acme');
    const emitted = [];
    for (const s of signals) {
      const r = applySignal(state, s, R, onDay(3));
      state = r.state;
      emitted.push(...r.emitted);
    }
    expect(folded).toEqual({ state, emitted });
  });
});

describe('applySignal: onboarding', () => {
  it('keeps the earliest completion of a milestone, whatever the order and repetitions', () => {
    const r = run([on(START()), on(activity(4, 'Workspace Created')), on(activity(2, 'Workspace Created')), on(activity(3, 'Workspace Created'))]);
    expect(r.state.milestonesDone).toEqual({ 'Workspace Created': day(2) });
    expect(r.state.milestonesLastSeen).toEqual({ 'Workspace Created': day(4) });
  });

  it('records only milestone events, and completion dates the onboarding', () => {
    const r = run([...ADOPTION, on(activity(6, 'Report Viewed'))]);
    expect(Object.keys(r.state.milestonesDone).sort()).toEqual(['First Report Shared', 'Teammate Invited', 'Workspace Created']);
    expect(r.state.onboardingCompletedAt).toBe(day(5));
    expect(r.state.activity).toEqual({ firstAt: day(1), lastAt: day(6) });
  });

  it('a reset clears the milestones done before it and restarts the due dates from it', () => {
    const r = run([...ADOPTION, on(reset(10)), on(activity(11, 'Workspace Created'))]);
    expect(r.state.phase).toBe(O);
    expect(r.state.milestonesDone).toEqual({ 'Workspace Created': day(11) });
    expect(r.state.onboardingStartedAt).toBe(day(10));
    expect(r.state.startedAt).toBe(day(0)); // the account's start does not move
    expect(r.state.lastReset).toEqual({ at: day(10), reason: 'new-workspace' });
  });

  it('a milestone event older than the reset does not count after it', () => {
    const r = run([on(START()), on(reset(10)), on(activity(5, 'Workspace Created'))]);
    expect(r.state.milestonesDone).toEqual({});
    expect(r.state.milestonesLastSeen).toEqual({ 'Workspace Created': day(5) });
  });

  it('a reset arriving after the milestones that followed it keeps them (dated by their latest sighting)', () => {
    const steps: Step[] = [on(START()), on(activity(1, 'Workspace Created')), on(activity(12, 'Workspace Created')), on(activity(13, 'Teammate Invited'))];
    const late = run([...steps, [reset(10), 14]]);
    expect(late.state.milestonesDone).toEqual({ 'Workspace Created': day(12), 'Teammate Invited': day(13) });
    const inOrder = run([on(START()), on(activity(1, 'Workspace Created')), on(reset(10)), on(activity(12, 'Workspace Created')), on(activity(13, 'Teammate Invited'))]);
    expect(inOrder.state.milestonesDone).toEqual(late.state.milestonesDone);
  });

  it('an older reset arriving late changes nothing', () => {
    const a = run([...ADOPTION, on(reset(10)), on(activity(11, 'Workspace Created'))]);
    const b = applySignal(a.state, reset(8, 'admin-changed'), R, onDay(12));
    expect(b.state.lastReset).toEqual(a.state.lastReset);
    expect(b.state.milestonesDone).toEqual(a.state.milestonesDone);
  });

  it('emits onboarding stalled once per overdue milestone, with what is done and missing', () => {
    const r = run([on(START()), on(activity(1, 'Workspace Created')), tickOn(6), tickOn(7)]);
    expect(ofType(r.emitted, 'cs.lifecycle.onboarding.stalled.v1')).toEqual([
      { milestone: 'Teammate Invited', dueAt: day(7), completed: ['Workspace Created'], missing: ['Teammate Invited', 'First Report Shared'], detectedAt: day(7) },
    ]);
    const later = run([tickOn(8), tickOn(14), tickOn(15)], R, r.state);
    expect(ofType(later.emitted, 'cs.lifecycle.onboarding.stalled.v1')).toEqual([
      { milestone: 'First Report Shared', dueAt: day(14), completed: ['Workspace Created'], missing: ['Teammate Invited', 'First Report Shared'], detectedAt: day(14) },
    ]);
    expect(later.state.stalledNotified).toEqual([`Teammate Invited@${day(7)}`, `First Report Shared@${day(14)}`]);
  });

  it('emits every milestone overdue at once when first detected late', () => {
    const r = run([on(START()), tickOn(20)]);
    expect(ofType(r.emitted, 'cs.lifecycle.onboarding.stalled.v1').map((s) => s.milestone)).toEqual(['Workspace Created', 'Teammate Invited', 'First Report Shared']);
  });

  it('a milestone done late clears its stall; a reset re-arms the stalls for the new due dates', () => {
    const r = run([on(START()), tickOn(4), on(activity(5, 'Workspace Created'))]);
    expect(r.state.stalledNotified).toEqual([]);
    const again = run([on(reset(6)), tickOn(7), tickOn(9)], R, r.state);
    expect(ofType(again.emitted, 'cs.lifecycle.onboarding.stalled.v1')).toEqual([
      { milestone: 'Workspace Created', dueAt: day(9), completed: [], missing: ['Workspace Created', 'Teammate Invited', 'First Report Shared'], detectedAt: day(9) },
    ]);
  });

  it('does not emit stalls for a churned account', () => {
    const r = run([on(START()), on(subscription(1, 'cancelled')), tickOn(20)]);
    expect(r.state.phase).toBe(C);
    expect(ofType(r.emitted, 'cs.lifecycle.onboarding.stalled.v1')).toEqual([]);
  });

  it('uses the fallback milestones while the contract size is unknown, and the freemium ones for a trial', () => {
    const unknown = run([on(updated(0, { region: 'emea' })), tickOn(3)]);
    expect(ofType(unknown.emitted, 'cs.lifecycle.onboarding.stalled.v1').map((s) => s.dueAt)).toEqual([day(3)]); // smb: 3 days
    const trial = run([on(updated(0, { plan: 'Free Trial' })), tickOn(1)]);
    expect(ofType(trial.emitted, 'cs.lifecycle.onboarding.stalled.v1').map((s) => s.dueAt)).toEqual([day(1)]); // freemium: 1 day
  });

  it('counts due dates from the contract start when known, else the first subscription start, first activity or first signal', () => {
    expect(run([on(updated(2, { arr: 1 })), on(updated(3, { contractStart: day(1) }))]).state.startedAt).toBe(day(1));
    expect(run([on(updated(3, { arr: 1 })), on(subscription(4, 'started', { effectiveAt: day(2) }))]).state.startedAt).toBe(day(2));
    expect(run([on(health(3, HealthBand.Good)), on(activity(4, 'Report Viewed'))]).state.startedAt).toBe(day(4));
    expect(run([on(health(3, HealthBand.Good))]).state.startedAt).toBe(day(3));
  });
});

describe('applySignal: subscription', () => {
  it('a cancellation churns only when it takes effect', () => {
    const scheduled = run([...ADOPTION, on(subscription(20, 'cancelled', { effectiveAt: day(60) }))]);
    expect(scheduled.state).toMatchObject({ phase: T, subscriptionStatus: 'cancel-scheduled', cancelEffectiveAt: day(60) });
    const before = run([tickOn(59.99)], R, scheduled.state);
    expect(before.state.phase).toBe(T);
    expect(ofType(before.last, 'cs.lifecycle.phase.changed.v1')).toEqual([]);
    const at = run([tickOn(60)], R, before.state);
    expect(at.state).toMatchObject({ phase: C, subscriptionStatus: 'cancelled', cancelEffectiveAt: day(60) });
  });

  it('any signal at or after the effective date churns, not only a tick', () => {
    const r = run([...ADOPTION, on(subscription(20, 'cancelled', { effectiveAt: day(60) })), on(activity(61, 'Report Viewed'))]);
    expect(r.state.phase).toBe(C);
  });

  it('a retroactive cancellation (effective before it was recorded) churns at once', () => {
    const r = run([...ADOPTION, on(subscription(20, 'cancelled', { effectiveAt: day(15) }))]);
    expect(r.state.phase).toBe(C);
  });

  it('never a churn that data cannot undo: an activation recorded after the cancellation restores the account, even arriving late', () => {
    const churned = run([...ADOPTION, on(subscription(20, 'cancelled'))]);
    expect(churned.state.phase).toBe(C);
    // The reactivation happened on day 25 but is only processed on day 40.
    const back = run([[subscription(25, 'reactivated'), 40]], R, churned.state);
    expect(back.state.subscriptionStatus).toBe('active');
    expect(back.state.phase).toBe(T); // win-back until day 55
    expect(run([tickOn(55)], R, back.state).state.phase).toBe(A);
  });

  it('an activation recorded before the cancellation does not undo it', () => {
    const r = run([...ADOPTION, on(subscription(20, 'cancelled')), [subscription(15, 'reactivated'), 21]]);
    expect(r.state.phase).toBe(C);
  });

  it('on equal instants the activation wins over the cancellation', () => {
    const r = run([...ADOPTION, on(subscription(20, 'cancelled')), on(subscription(20, 'reactivated'))]);
    expect(r.state.subscriptionStatus).toBe('active');
  });

  it('payment failures are recorded and change no phase', () => {
    const r = run([...ADOPTION, on(subscription(10, 'payment-failed'))]);
    expect(r.last.filter((o) => o.type === 'cs.lifecycle.phase.changed.v1')).toEqual([]);
    expect(r.state.subscription.lastPaymentFailedAt).toBe(day(10));
    expect(r.state.subscriptionStatus).toBe('active');
  });

  it('takes ARR, plan, seats and the renewal date from subscription changes', () => {
    const r = run([...ADOPTION, on(subscription(10, 'renewed', { arr: 120_000, plan: 'Enterprise', seats: 40, renewalDate: day(740) }))]);
    expect(r.state.profile.arr).toEqual({ value: 120_000, at: day(10) });
    expect(r.state.profile.plan).toEqual({ value: 'Enterprise', at: day(10) });
    expect(r.state.profile.renewalDate).toEqual({ value: day(740), at: day(10) });
    expect(r.state.seats.max).toEqual({ value: 40, at: day(10) });
    expect(r.state.segments['contract-size']).toBe(ContractSize.Enterprise);
    expect(r.state.touchModel).toBe(TouchModel.High);
  });
});

describe('applySignal: renewal', () => {
  it('opens the window exactly windowDays before the renewal date and emits it once per renewal date', () => {
    const r = run([...ADOPTION, tickOn(274.99)]);
    expect(r.state.phase).toBe(A);
    const open = run([tickOn(275)], R, r.state);
    expect(ofType(open.last, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([{ renewalDate: day(365), daysBefore: 90, openedAt: day(275) }]);
    expect(open.state.renewalWindowOpenedFor).toBe(day(365));
    const again = run([tickOn(276), on(health(277, HealthBand.Good))], R, open.state);
    expect(ofType(again.emitted, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([]);
    // The next term's window opens again.
    const next = run([on(subscription(300, 'renewed', { renewalDate: day(730) })), tickOn(640)], R, again.state);
    expect(ofType(next.emitted, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([{ renewalDate: day(730), daysBefore: 90, openedAt: day(640) }]);
    expect(next.state.phase).toBe(RN);
  });

  it('daysBefore is the whole days left (rounded up) when detected late', () => {
    const r = run([...ADOPTION, tickOn(300.5)]);
    expect(ofType(r.last, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([{ renewalDate: day(365), daysBefore: 65, openedAt: day(300.5) }]);
  });

  it('a renewal recorded early (before the window) covers a renewal date it is effective for', () => {
    const r = run([...ADOPTION, on(subscription(200, 'renewed', { effectiveAt: day(365) })), tickOn(280)]);
    expect(r.state.phase).toBe(A);
    expect(ofType(r.emitted, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([]);
  });

  it('does not announce a window for a cancelling or cancelled subscription', () => {
    const r = run([...ADOPTION, on(subscription(200, 'cancelled', { effectiveAt: day(365) })), tickOn(280)]);
    expect(r.state.phase).toBe(T);
    expect(ofType(r.emitted, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([]);
  });

  it('announces the window while onboarding even though the phase stays onboarding', () => {
    const r = run([on(START({ renewalDate: day(60) }))]);
    expect(r.state.phase).toBe(O);
    expect(ofType(r.emitted, 'cs.lifecycle.renewal-window.opened.v1')).toEqual([{ renewalDate: day(60), daysBefore: 60, openedAt: day(0) }]);
  });

  it('renewalWindowOf tells every status', () => {
    const s = run(ADOPTION).state;
    expect(renewalWindowOf(initialAccountState('x'), R, onDay(0)).status).toBe('none');
    expect(renewalWindowOf(s, R, onDay(274)).status).toBe('not-yet');
    expect(renewalWindowOf(s, R, onDay(275))).toEqual({ renewalDate: day(365), opensAt: day(275), closesAt: day(395), status: 'open' });
    expect(renewalWindowOf(s, R, onDay(394.99)).status).toBe('open');
    expect(renewalWindowOf(s, R, onDay(395)).status).toBe('overdue');
    const renewed = run([on(subscription(280, 'renewed'))], R, s).state;
    expect(renewalWindowOf(renewed, R, onDay(290)).status).toBe('renewed');
  });
});

describe('applySignal: expansion', () => {
  it('seat growth counts only above the first seat count and the highest seen', () => {
    const down = run([...ADOPTION, on(updated(10, { seats: 8 })), on(updated(11, { seats: 9 }))]);
    expect(down.state.phase).toBe(A);
    const up = run([on(updated(12, { seats: 11 }))], R, down.state);
    expect(up.state.phase).toBe(E);
    expect(expansionOf(up.state, R, onDay(12))).toEqual({ since: day(12), by: 'seat-growth', endsAt: day(102), downgradedAt: null, active: true });
  });

  it('back to an earlier high is not a new expansion', () => {
    const r = run([...ADOPTION, on(updated(10, { seats: 20 })), on(updated(20, { seats: 12 })), on(updated(150, { seats: 20 }))]);
    expect(expansionOf(r.state, R, onDay(150)).since).toBe(day(10));
    expect(r.state.phase).toBe(A);
  });

  it('an upgrade effective in the future expands from its effective date', () => {
    const r = run([...ADOPTION, on(subscription(10, 'upgraded', { effectiveAt: day(30) }))]);
    expect(r.state.phase).toBe(A);
    expect(run([tickOn(30)], R, r.state).state.phase).toBe(E);
  });

  it('a downgrade before the expansion does not end it; a future one ends it only once effective', () => {
    const r = run([...ADOPTION, on(subscription(8, 'downgraded')), on(subscription(10, 'upgraded')), on(subscription(12, 'downgraded', { effectiveAt: day(40) }))]);
    expect(r.state.phase).toBe(E);
    expect(run([tickOn(40)], R, r.state).state.phase).toBe(A);
  });

  it('expansion.days = 0 disables the phase', () => {
    const rules = rulesWith((x) => {
      x.expansion.days = 0;
    });
    expect(run([...ADOPTION, on(subscription(10, 'upgraded'))], rules).state.phase).toBe(A);
  });
});

describe('applySignal: health, touch model, segments', () => {
  it('danger moves to retention and shifts the touch model up; recovery moves both back', () => {
    const danger = run([...ADOPTION, on(health(10, HealthBand.Danger))]);
    expect(danger.state).toMatchObject({ phase: T, touchModel: TouchModel.High });
    expect(ofType(danger.last, 'cs.lifecycle.touch-model.changed.v1')).toEqual([
      { from: TouchModel.Low, to: TouchModel.High, cause: `touch-model: ARR 20000 >= 10000: low; health danger shifts low → high; signal: health-changed danger at ${day(10)}`, changedAt: day(10) },
    ]);
    const caution = run([on(health(12, HealthBand.Caution))], R, danger.state);
    expect(caution.state).toMatchObject({ phase: A, touchModel: TouchModel.Low });
  });

  it('which bands count is configurable: caution as a risk and a shift band', () => {
    const rules = rulesWith((x) => {
      x.retention.riskBands = [HealthBand.Caution, HealthBand.Danger];
      x.touchModel.shiftBands = [HealthBand.Caution, HealthBand.Danger];
    });
    const r = run([...ADOPTION, on(health(10, HealthBand.Caution))], rules);
    expect(r.state).toMatchObject({ phase: T, touchModel: TouchModel.High });
    const none = rulesWith((x) => {
      x.retention.riskBands = [];
      x.touchModel.shiftBands = [];
    });
    expect(run([...ADOPTION, on(health(10, HealthBand.Danger))], none).state).toMatchObject({ phase: A, touchModel: TouchModel.Low });
  });

  it('onboarding outranks health risk: a young account in danger stays in onboarding (the touch model still shifts)', () => {
    const r = run([on(START()), on(health(1, HealthBand.Danger))]);
    expect(r.state).toMatchObject({ phase: O, touchModel: TouchModel.High });
  });

  it('health bands reported at the same instant: the worse wins, in any order', () => {
    const a = run([...ADOPTION, on(health(10, HealthBand.Good)), on(health(10, HealthBand.Danger))]);
    const b = run([...ADOPTION, on(health(10, HealthBand.Danger)), on(health(10, HealthBand.Good))]);
    expect(a.state.health).toEqual({ value: HealthBand.Danger, at: day(10) });
    expect(b.state.health).toEqual(a.state.health);
  });

  it('an older health score arriving late does not override a newer one', () => {
    const r = run([...ADOPTION, on(health(10, HealthBand.Good)), [health(8, HealthBand.Danger), 11]]);
    expect(r.state.phase).toBe(A);
    expect(r.state.health).toEqual({ value: HealthBand.Good, at: day(10) });
  });

  it('usage status moves new → active → dormant → active with time and activity', () => {
    const r = run([...ADOPTION, tickOn(14), tickOn(35), tickOn(40)]);
    expect(ofType(r.emitted, 'cs.lifecycle.segment.changed.v1').filter((s) => s.dimension === 'usage-status').map((s) => [s.from, s.to, s.changedAt])).toEqual([
      [null, 'new', day(0)],
      ['new', 'active', day(14)],
      ['active', 'dormant', day(35)],
    ]);
    const back = run([on(activity(41, 'Report Viewed'))], R, r.state);
    expect(ofType(back.last, 'cs.lifecycle.segment.changed.v1')).toEqual([
      {
        dimension: 'usage-status',
        from: 'dormant',
        to: 'active',
        cause: `usage-status: last activity ${day(41)}, less than 30 days ago; signal: product-activity 'Report Viewed' by u1 at ${day(41)}`,
        changedAt: day(41),
      },
    ]);
  });

  it('NPS loyalty follows the latest answer; CSAT answers do not touch it', () => {
    const r = run([...ADOPTION, on(nps(10, 9)), on(nps(12, 5)), [nps(11, 10), 13], on(csat(14, 1))]);
    expect(r.state.latestNps).toEqual({ value: 5, at: day(12) });
    expect(r.state.segments['nps-loyalty']).toBe('detractor');
    expect(ofType(r.emitted, 'cs.lifecycle.segment.changed.v1').filter((s) => s.dimension === 'nps-loyalty').map((s) => s.to)).toEqual(['promoter', 'detractor']);
  });

  it('a move to enterprise changes contract size and touch model in one step', () => {
    const r = run([...ADOPTION, on(updated(10, { arr: 150_000 }))]);
    expect(ofType(r.last, 'cs.lifecycle.segment.changed.v1').map((s) => [s.dimension, s.from, s.to])).toEqual([['contract-size', 'smb', 'enterprise']]);
    expect(ofType(r.last, 'cs.lifecycle.touch-model.changed.v1').map((s) => [s.from, s.to])).toEqual([[TouchModel.Low, TouchModel.High]]);
    expect(r.state.phase).toBe(A); // the default rules share the milestones between sizes
  });

  it('a trial plan is freemium and tech touch whatever its ARR', () => {
    const r = run([...ADOPTION, on(updated(10, { plan: 'Free Trial', arr: 80_000 }))]);
    expect(r.state.segments['contract-size']).toBe('freemium');
    expect(r.state.touchModel).toBe(TouchModel.Tech);
  });
});

describe('decidePhase', () => {
  it('agrees with the stored phase after every step of a story', () => {
    const steps: Step[] = [
      on(START()),
      ...MILESTONES,
      on(health(10, HealthBand.Danger)),
      on(health(20, HealthBand.Good)),
      on(subscription(30, 'upgraded')),
      tickOn(280),
      on(subscription(300, 'cancelled', { effectiveAt: day(320) })),
      tickOn(320),
    ];
    let state = initialAccountState('acme');
    for (const [signal, n] of steps) {
      state = applySignal(state, signal, R, onDay(n)).state;
      expect(decidePhase(state, R, onDay(n)).phase).toBe(state.phase);
    }
    expect(state.phase).toBe(C);
  });
});

describe('normaliseSignal and describeSignal', () => {
  it('normalises every instant to UTC ISO with milliseconds', () => {
    expect(normaliseSignal({ type: 'health-changed', at: '2026-01-01T01:00:00+01:00', band: HealthBand.Good })).toEqual({
      type: 'health-changed',
      at: '2026-01-01T00:00:00.000Z',
      band: HealthBand.Good,
    });
    const sub = normaliseSignal({ type: 'subscription-changed', at: '2026-01-01T00:00:00Z', change: 'renewed', effectiveAt: '2026-02-01', renewalDate: '2027-02-01' });
    expect(sub).toMatchObject({ effectiveAt: '2026-02-01T00:00:00.000Z', renewalDate: '2027-02-01T00:00:00.000Z', seats: null, arr: null, plan: null });
  });

  it('treats blank trait strings as not sent', () => {
    const s = normaliseSignal(updated(0, { industry: '  ', region: 'emea' }));
    expect(s).toMatchObject({ traits: { industry: null, region: 'emea' } });
  });

  const bad: [string, unknown, string][] = [
    ['an unparseable instant', { type: 'health-changed', at: 'yesterday', band: 'good' }, "signal.at: must be an ISO 8601 date-time, got 'yesterday'"],
    ['a missing instant', { type: 'reset', reason: 'x' }, 'signal.at: must be an ISO 8601 date-time string'],
    ['an unknown type', { type: 'page-view', at: day(0) }, "signal.type: unknown signal type 'page-view'"],
    ['an empty event name', { type: 'product-activity', at: day(0), event: '' }, 'signal.event: must be a non-empty string'],
    ['traits that are not an object', { type: 'account-updated', at: day(0), traits: 'x' }, 'signal.traits: must be an object'],
    ['a negative ARR', { type: 'account-updated', at: day(0), traits: { arr: -1 } }, 'signal.traits.arr: must be a finite number >= 0, got -1'],
    ['a NaN ARR', { type: 'account-updated', at: day(0), traits: { arr: NaN } }, 'signal.traits.arr: must be a finite number >= 0, got NaN'],
    ['fractional seats', { type: 'account-updated', at: day(0), traits: { seats: 1.5 } }, 'signal.traits.seats: must be an integer >= 0, got 1.5'],
    ['a numeric plan', { type: 'account-updated', at: day(0), traits: { plan: 3 } }, 'signal.traits.plan: must be a string'],
    ['a bad renewal date', { type: 'account-updated', at: day(0), traits: { renewalDate: 'soon' } }, "signal.traits.renewalDate: must be an ISO 8601 date-time, got 'soon'"],
    ['an unknown subscription change', { type: 'subscription-changed', at: day(0), change: 'paused', effectiveAt: day(0) }, "signal.change: must be one of 'started', 'renewed', 'upgraded', 'downgraded', 'cancelled', 'reactivated', 'payment-failed', got 'paused'"],
    ['a missing effective date', { type: 'subscription-changed', at: day(0), change: 'cancelled' }, 'signal.effectiveAt: must be an ISO 8601 date-time string'],
    ['negative seats on a subscription', { type: 'subscription-changed', at: day(0), change: 'upgraded', effectiveAt: day(0), seats: -2 }, 'signal.seats: must be an integer >= 0, got -2'],
    ['an unknown band', { type: 'health-changed', at: day(0), band: 'red' }, "signal.band: must be one of 'good', 'caution', 'danger', got 'red'"],
    ['an unknown survey kind', { type: 'survey-answered', at: day(0), kind: 'ces', score: 3 }, "signal.kind: must be 'nps' or 'csat', got 'ces'"],
    ['a score above 10', { type: 'survey-answered', at: day(0), kind: 'nps', score: 11 }, 'signal.score: must be an integer 0..10, got 11'],
    ['a fractional score', { type: 'survey-answered', at: day(0), kind: 'nps', score: 7.5 }, 'signal.score: must be an integer 0..10, got 7.5'],
    ['a reset without reason', { type: 'reset', at: day(0), reason: ' ' }, 'signal.reason: must be a non-empty string'],
  ];
  it.each(bad)('rejects %s with a RangeError naming the field', (_name, signal, message) => {
    expect(() => applySignal(initialAccountState('acme'), signal as LifecycleSignal, R, onDay(0))).toThrow(new RangeError(message));
  });

  it('rejects an invalid now', () => {
    expect(() => applySignal(initialAccountState('acme'), TICK, R, new Date('nope'))).toThrow(new RangeError('now: must be a valid Date'));
  });

  it('describes each signal kind', () => {
    const now = onDay(3);
    expect(describeSignal(TICK, now)).toBe(`tick at ${day(3)}`);
    expect(describeSignal(activity(1, 'X', 'u9'), now)).toBe(`product-activity 'X' by u9 at ${day(1)}`);
    expect(describeSignal({ type: 'product-activity', at: day(1), event: 'X' }, now)).toBe(`product-activity 'X' at ${day(1)}`);
    expect(describeSignal(updated(1, { arr: 5, plan: null }), now)).toBe(`account-updated (arr) at ${day(1)}`);
    expect(describeSignal(updated(1, {}), now)).toBe(`account-updated (no traits) at ${day(1)}`);
    expect(describeSignal(subscription(1, 'cancelled', { effectiveAt: day(9) }), now)).toBe(`subscription-changed cancelled effective ${day(9)} at ${day(1)}`);
    expect(describeSignal(health(1, HealthBand.Caution), now)).toBe(`health-changed caution at ${day(1)}`);
    expect(describeSignal(csat(1, 4), now)).toBe(`survey-answered csat 4 at ${day(1)}`);
    expect(describeSignal(reset(1, 'admin-changed'), now)).toBe(`reset admin-changed at ${day(1)}`);
  });
});
