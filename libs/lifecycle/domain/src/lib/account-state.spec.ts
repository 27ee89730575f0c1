import { ContractSize, HealthBand } from '@kizuna/shared/contracts';
import {
  accountStartOf,
  compareValues,
  initialAccountState,
  lowerScore,
  mergeEarliest,
  mergeLatest,
  mergeMax,
  onboardingProgressOf,
  onboardingStartOf,
  reactivatedAtOf,
  subscriptionStatusOf,
  worseBand,
  type Dated,
  type SubscriptionFacts,
} from './account-state';
import { day, NO_ONBOARDING, onDay, R } from './lifecycle.test-helper';

const d = <T>(value: T, n: number): Dated<T> => ({ value, at: day(n) });

/** Every order of the items. */
function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('initialAccountState', () => {
  it('has no phase and no facts, and is plain JSON', () => {
    const s = initialAccountState('acme');
    expect(s).toMatchObject({ accountId: 'acme', phase: null, touchModel: null, segments: {}, subscriptionStatus: 'none', firstSeenAt: null, milestonesDone: {}, stalledNotified: [] });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe('merges: commutative, associative, idempotent', () => {
  const observations = [d(10, 3), d(12, 1), d(12, 3), d(8, 2)];

  it.each<[string, (a: Dated<number> | null, b: Dated<number>) => Dated<number>, Dated<number>]>([
    ['mergeLatest (ties: larger value)', (a, b) => mergeLatest(a, b), d(12, 3)],
    ['mergeEarliest (ties: larger value)', (a, b) => mergeEarliest(a, b), d(12, 1)],
    ['mergeMax (ties: earlier instant)', mergeMax, d(12, 1)],
  ])('%s gives the same result in every order, with repeats', (_name, merge, expected) => {
    for (const order of permutations(observations)) {
      let acc: Dated<number> | null = null;
      for (const o of [...order, ...order]) acc = merge(acc, o);
      expect(acc).toEqual(expected);
    }
  });

  it('tie-breaks: worse band, lower NPS', () => {
    expect(mergeLatest(d(HealthBand.Good, 1), d(HealthBand.Danger, 1), worseBand).value).toBe(HealthBand.Danger);
    expect(mergeLatest(d(HealthBand.Danger, 1), d(HealthBand.Caution, 1), worseBand).value).toBe(HealthBand.Danger);
    expect(mergeLatest(d(3, 1), d(9, 1), lowerScore).value).toBe(3);
    expect(mergeLatest(d(9, 1), d(3, 1), lowerScore).value).toBe(3);
    expect(compareValues('b', 'a')).toBeGreaterThan(0);
    expect(compareValues('a', 'a')).toBe(0);
  });
});

describe('subscription status', () => {
  const base: SubscriptionFacts = initialAccountState('x').subscription;
  const sub = (over: Partial<SubscriptionFacts>): SubscriptionFacts => ({ ...base, lastChangeAt: day(0), ...over });

  it('none before any change, active after', () => {
    expect(subscriptionStatusOf(base, onDay(0))).toBe('none');
    expect(subscriptionStatusOf(sub({}), onDay(0))).toBe('active');
  });

  it('a standing cancellation is scheduled before its effective date and cancelled from it', () => {
    const s = sub({ lastCancellation: { at: day(10), effectiveAt: day(20) } });
    expect(subscriptionStatusOf(s, onDay(19.99))).toBe('cancel-scheduled');
    expect(subscriptionStatusOf(s, onDay(20))).toBe('cancelled');
  });

  it('an activation recorded after (or at the same instant as) the cancellation overrides it', () => {
    const cancel = { at: day(10), effectiveAt: day(20) };
    expect(subscriptionStatusOf(sub({ lastCancellation: cancel, lastActivation: { at: day(9), change: 'started' } }), onDay(30))).toBe('cancelled');
    expect(subscriptionStatusOf(sub({ lastCancellation: cancel, lastActivation: { at: day(10), change: 'reactivated' } }), onDay(30))).toBe('active');
    expect(subscriptionStatusOf(sub({ lastCancellation: cancel, lastActivation: { at: day(25), change: 'renewed' } }), onDay(30))).toBe('active');
  });

  it('a reactivation is an activation after a cancellation had taken effect', () => {
    const cancel = { at: day(10), effectiveAt: day(20) };
    expect(reactivatedAtOf(sub({}))).toBeNull();
    expect(reactivatedAtOf(sub({ lastCancellation: cancel }))).toBeNull();
    expect(reactivatedAtOf(sub({ lastCancellation: cancel, lastActivation: { at: day(5), change: 'started' } }))).toBeNull();
    expect(reactivatedAtOf(sub({ lastCancellation: cancel, lastActivation: { at: day(15), change: 'reactivated' } }))).toBeNull(); // withdrawn before effect
    expect(reactivatedAtOf(sub({ lastCancellation: cancel, lastActivation: { at: day(20), change: 'reactivated' } }))).toBe(day(20));
  });
});

describe('starts and onboarding progress', () => {
  it('the account start falls back from contract start to subscription start, first activity, first signal', () => {
    const s = initialAccountState('x');
    expect(accountStartOf(s)).toBeNull();
    s.firstSeenAt = day(4);
    expect(accountStartOf(s)).toBe(day(4));
    s.activity.firstAt = day(3);
    expect(accountStartOf(s)).toBe(day(3));
    s.subscription.startedAt = day(2);
    expect(accountStartOf(s)).toBe(day(2));
    s.profile.contractStart = d(day(5), 0);
    expect(accountStartOf(s)).toBe(day(5));
    expect(onboardingStartOf(s)).toBe(day(5));
    s.lastReset = { at: day(9), reason: 'new-workspace' };
    expect(onboardingStartOf(s)).toBe(day(9));
    s.lastReset = { at: day(1), reason: 'new-workspace' };
    expect(onboardingStartOf(s)).toBe(day(5));
  });

  it('lists due dates, completed and missing milestones for the current size', () => {
    const s = initialAccountState('x');
    s.profile.arr = d(150_000, 0);
    s.profile.contractStart = d(day(0), 0);
    s.milestonesDone = { 'Teammate Invited': day(3) };
    expect(onboardingProgressOf(s, R)).toEqual({
      size: ContractSize.Enterprise,
      startedAt: day(0),
      milestones: [
        { event: 'Workspace Created', targetDays: 7, dueAt: day(7), completedAt: null },
        { event: 'Teammate Invited', targetDays: 14, dueAt: day(14), completedAt: day(3) },
        { event: 'First Report Shared', targetDays: 30, dueAt: day(30), completedAt: null },
      ],
      completed: ['Teammate Invited'],
      missing: ['Workspace Created', 'First Report Shared'],
      complete: false,
      completedAt: null,
    });
    s.milestonesDone = { 'Workspace Created': day(2), 'Teammate Invited': day(3), 'First Report Shared': day(1) };
    expect(onboardingProgressOf(s, R)).toMatchObject({ complete: true, completedAt: day(3), missing: [] });
  });

  it('without milestones the onboarding is complete at its start; without a start due dates are unknown', () => {
    const s = initialAccountState('x');
    expect(onboardingProgressOf(s, R).milestones[0].dueAt).toBeNull();
    expect(onboardingProgressOf(s, R).size).toBe(ContractSize.Smb);
    s.firstSeenAt = day(2);
    expect(onboardingProgressOf(s, NO_ONBOARDING)).toMatchObject({ complete: true, completedAt: day(2), milestones: [] });
  });
});
