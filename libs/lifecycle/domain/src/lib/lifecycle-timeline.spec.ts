import { HealthBand, LifecyclePhase } from '@kizuna/shared/contracts';
import { initialAccountState } from './account-state';
import { activity, day, health, prng, R, START, subscription } from './lifecycle.test-helper';
import { advanceTo, applyInOrder, isAfterHorizon, keyed, mrrOf, replay, type KeyedSignal, type TimelineResult } from './lifecycle-timeline';
import { timeBoundaries } from './time-boundaries';
import type { LifecycleSignal } from './lifecycle-machine';

const sig = (s: LifecycleSignal, i: number): KeyedSignal => keyed(`k${String(i).padStart(3, '0')}`, s as KeyedSignal['signal']);

const history: KeyedSignal[] = [
  START(),
  activity(1, 'Workspace Created'),
  activity(2, 'Teammate Invited'),
  activity(5, 'First Report Shared'),
  health(40, HealthBand.Danger),
  health(50, HealthBand.Good),
  subscription(100, 'upgraded', { arr: 36_000 }),
  activity(120, 'Report Viewed'),
  subscription(200, 'cancelled', { effectiveAt: day(230) }),
  subscription(260, 'reactivated', { arr: 24_000 }),
].map(sig);

const phases = (r: TimelineResult) =>
  r.emitted.filter((o) => o.type === 'cs.lifecycle.phase.changed.v1').map((o) => `${(o.data as { changedAt: string }).changedAt.slice(0, 10)} ${(o.data as { to: string }).to}`);

describe('lifecycle timeline', () => {
  it('dates time-driven transitions at their own instant, not when a sweep saw them', () => {
    const r = replay('acme', history, R, day(300));
    expect(phases(r)).toEqual([
      `${day(0).slice(0, 10)} onboarding`,
      `${day(5).slice(0, 10)} adoption`,
      `${day(40).slice(0, 10)} retention`,
      `${day(50).slice(0, 10)} adoption`,
      `${day(100).slice(0, 10)} expansion`,
      `${day(190).slice(0, 10)} adoption`, // expansion ends 90 days after the upgrade
      `${day(200).slice(0, 10)} retention`, // cancellation scheduled
      `${day(230).slice(0, 10)} churned`, // takes effect
      `${day(260).slice(0, 10)} retention`, // reactivated: win-back
      `${day(290).slice(0, 10)} renewal`, // win-back over (30 days); the window opened on day 275
    ]);
    expect(r.mrr.map((m) => [m.at.slice(0, 10), m.mrr])).toEqual([
      [day(0).slice(0, 10), 20_000 / 12],
      [day(100).slice(0, 10), 3_000],
      [day(230).slice(0, 10), 0],
      [day(260).slice(0, 10), 2_000],
    ]);
    expect(mrrOf(r.state)).toBe(2_000);
  });

  it('in order, incrementally, with sweeps in between, or replayed shuffled: the same history', () => {
    const whole = replay('acme', history, R, day(300));
    const rnd = prng(7);
    for (let n = 0; n < 5; n++) {
      const shuffled = [...history, ...history.slice(0, 4)].sort(() => rnd() - 0.5);
      expect(replay('acme', shuffled, R, day(300)).emitted).toEqual(whole.emitted);
    }
    let r: TimelineResult = { state: initialAccountState('acme'), horizon: { at: null, key: null }, emitted: [], mrr: [] };
    const emitted = [];
    for (const s of history) {
      r = applyInOrder(r.state, r.horizon, [s], R);
      emitted.push(...r.emitted);
      r = advanceTo(r.state, r.horizon, s.signal.at, R);
      emitted.push(...r.emitted);
    }
    r = advanceTo(r.state, r.horizon, day(300), R);
    emitted.push(...r.emitted);
    expect(emitted).toEqual(whole.emitted);
  });

  it('refuses a signal at or before the horizon; lists boundaries in order', () => {
    const r = replay('acme', history.slice(0, 3), R, null);
    expect(isAfterHorizon(history[1] as KeyedSignal, r.horizon)).toBe(false);
    expect(() => applyInOrder(r.state, r.horizon, [history[1] as KeyedSignal], R)).toThrow(RangeError);
    const b = timeBoundaries(r.state, R);
    expect([...b].sort()).toEqual(b);
    expect(b).toContain(day(275));
  });

  it('churned stays churned at the end of a replay until a reactivation', () => {
    const r = replay('acme', history.slice(0, 9), R, day(240));
    expect(r.state.phase).toBe(LifecyclePhase.Churned);
  });
});
