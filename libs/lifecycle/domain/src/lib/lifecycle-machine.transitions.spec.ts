import { HealthBand, LifecyclePhase } from '@kizuna/shared/contracts';
import type { PhaseRule } from './account-state';
import type { LifecycleRules } from './lifecycle-rules';
import { PHASE_TRANSITIONS } from './lifecycle-machine';
import {
  activity,
  health,
  MILESTONES,
  NO_ONBOARDING,
  NO_WINBACK,
  ofType,
  on,
  R,
  reset,
  run,
  SSO_RULES,
  START,
  subscription,
  tickOn,
  updated,
  day,
  type Step,
} from './lifecycle.test-helper';

const { Onboarding: O, Adoption: A, Expansion: E, Renewal: RN, Retention: T, Churned: C } = LifecyclePhase;

// ---- States to start from (each comment: the phase it ends in) -----------------------------------

/** onboarding (day 0). */
const ONBOARDING: Step[] = [on(START())];
/** adoption (day 5). */
const ADOPTION: Step[] = [on(START()), ...MILESTONES];
/** expansion: upgraded on day 10 (until day 100). */
const EXPANSION: Step[] = [...ADOPTION, on(subscription(10, 'upgraded', { arr: 30_000 }))];
/** renewal: the window for the day-365 renewal opened on day 275; processed on day 280. */
const RENEWAL: Step[] = [...ADOPTION, tickOn(280)];
/** retention (health-risk): danger on day 20. */
const RETENTION_HEALTH: Step[] = [...ADOPTION, on(health(20, HealthBand.Danger))];
/** retention (cancellation-scheduled): cancelled on day 20, effective day 60. */
const RETENTION_CANCEL: Step[] = [...ADOPTION, on(subscription(20, 'cancelled', { effectiveAt: day(60) }))];
/** churned: cancelled on day 20, effective at once. */
const CHURNED: Step[] = [...ADOPTION, on(subscription(20, 'cancelled'))];
/** retention (reactivated): churned on day 20, reactivated day 30 (win-back until day 60). */
const RETENTION_REACTIVATED: Step[] = [...CHURNED, on(subscription(30, 'reactivated'))];

interface Edge {
  name: string;
  from: LifecyclePhase | null;
  to: LifecyclePhase;
  rule: PhaseRule;
  setup: Step[];
  trigger: Step;
  rules?: LifecycleRules;
}

const edges: Edge[] = [
  // (none) →
  { name: 'the first fact opens onboarding', from: null, to: O, rule: 'onboarding-incomplete', setup: [], trigger: on(START()) },
  { name: 'a reset as the first signal', from: null, to: O, rule: 'reset', setup: [], trigger: on(reset(0)) },
  { name: 'no milestones to reach', from: null, to: A, rule: 'adopted', setup: [], trigger: on(START()), rules: NO_ONBOARDING },
  { name: 'first seen through an upgrade', from: null, to: E, rule: 'expansion', setup: [], trigger: on(subscription(0, 'upgraded')), rules: NO_ONBOARDING },
  { name: 'first seen inside a renewal window', from: null, to: RN, rule: 'renewal-window', setup: [], trigger: on(updated(0, { renewalDate: day(30) })), rules: NO_ONBOARDING },
  { name: 'first seen in danger', from: null, to: T, rule: 'health-risk', setup: [], trigger: on(health(0, HealthBand.Danger)), rules: NO_ONBOARDING },
  { name: 'first seen with a scheduled cancellation', from: null, to: T, rule: 'cancellation-scheduled', setup: [], trigger: on(subscription(0, 'cancelled', { effectiveAt: day(30) })) },
  { name: 'first seen already cancelled', from: null, to: C, rule: 'cancellation-effective', setup: [], trigger: on(subscription(0, 'cancelled')) },

  // onboarding →
  { name: 'last milestone done', from: O, to: A, rule: 'onboarding-complete', setup: [...ONBOARDING, ...MILESTONES.slice(0, 2)], trigger: MILESTONES[2] },
  {
    name: 'last milestone done after seats grew',
    from: O,
    to: E,
    rule: 'onboarding-complete',
    setup: [...ONBOARDING, on(updated(3, { seats: 15 })), ...MILESTONES.slice(0, 2)],
    trigger: MILESTONES[2],
  },
  {
    name: 'last milestone done inside the renewal window',
    from: O,
    to: RN,
    rule: 'onboarding-complete',
    setup: [on(START({ renewalDate: day(60) })), ...MILESTONES.slice(0, 2)],
    trigger: MILESTONES[2],
  },
  {
    name: 'last milestone done while in danger',
    from: O,
    to: T,
    rule: 'onboarding-complete',
    setup: [...ONBOARDING, on(health(3, HealthBand.Danger)), ...MILESTONES.slice(0, 2)],
    trigger: MILESTONES[2],
  },
  { name: 'cancellation scheduled during onboarding', from: O, to: T, rule: 'cancellation-scheduled', setup: ONBOARDING, trigger: on(subscription(3, 'cancelled', { effectiveAt: day(40) })) },
  { name: 'cancelled at once during onboarding', from: O, to: C, rule: 'cancellation-effective', setup: ONBOARDING, trigger: on(subscription(3, 'cancelled')) },

  // adoption →
  { name: 'reset (new workspace)', from: A, to: O, rule: 'reset', setup: ADOPTION, trigger: on(reset(10)) },
  { name: 'moved to a size with more milestones', from: A, to: O, rule: 'onboarding-incomplete', setup: ADOPTION, trigger: on(updated(10, { arr: 150_000 })), rules: SSO_RULES },
  { name: 'upgraded', from: A, to: E, rule: 'expansion', setup: ADOPTION, trigger: on(subscription(10, 'upgraded', { arr: 30_000 })) },
  { name: 'seats grew', from: A, to: E, rule: 'expansion', setup: ADOPTION, trigger: on(updated(10, { seats: 12 })) },
  { name: 'the renewal window opens (tick)', from: A, to: RN, rule: 'renewal-window', setup: ADOPTION, trigger: tickOn(275) },
  { name: 'health falls to danger', from: A, to: T, rule: 'health-risk', setup: ADOPTION, trigger: on(health(10, HealthBand.Danger)) },
  { name: 'cancellation scheduled', from: A, to: T, rule: 'cancellation-scheduled', setup: ADOPTION, trigger: on(subscription(10, 'cancelled', { effectiveAt: day(40) })) },
  { name: 'cancelled at once', from: A, to: C, rule: 'cancellation-effective', setup: ADOPTION, trigger: on(subscription(10, 'cancelled')) },

  // expansion →
  { name: 'expansion days elapsed (tick)', from: E, to: A, rule: 'expansion-ended', setup: EXPANSION, trigger: tickOn(100) },
  { name: 'downgraded', from: E, to: A, rule: 'downgraded', setup: EXPANSION, trigger: on(subscription(20, 'downgraded')) },
  { name: 'reset', from: E, to: O, rule: 'reset', setup: EXPANSION, trigger: on(reset(20, 'admin-changed')) },
  { name: 'moved to a size with more milestones', from: E, to: O, rule: 'onboarding-incomplete', setup: EXPANSION, trigger: on(updated(20, { arr: 150_000 })), rules: SSO_RULES },
  {
    name: 'the renewal window opens during expansion',
    from: E,
    to: RN,
    rule: 'renewal-window',
    setup: [...ADOPTION, on(subscription(250, 'upgraded'))],
    trigger: tickOn(275),
  },
  { name: 'health falls to danger', from: E, to: T, rule: 'health-risk', setup: EXPANSION, trigger: on(health(20, HealthBand.Danger)) },
  { name: 'cancellation scheduled', from: E, to: T, rule: 'cancellation-scheduled', setup: EXPANSION, trigger: on(subscription(20, 'cancelled', { effectiveAt: day(50) })) },
  { name: 'cancelled at once', from: E, to: C, rule: 'cancellation-effective', setup: EXPANSION, trigger: on(subscription(20, 'cancelled')) },

  // renewal →
  { name: 'renewed', from: RN, to: A, rule: 'renewed', setup: RENEWAL, trigger: on(subscription(300, 'renewed', { effectiveAt: day(365) })) },
  { name: 'renewal date moved out of the window', from: RN, to: A, rule: 'renewal-date-changed', setup: RENEWAL, trigger: on(updated(300, { renewalDate: day(730) })) },
  { name: 'grace days after the renewal date passed (tick)', from: RN, to: A, rule: 'renewal-overdue', setup: RENEWAL, trigger: tickOn(395) },
  {
    name: 'renewed (with the next date) after an upgrade during the renewal',
    from: RN,
    to: E,
    rule: 'renewed',
    setup: [...RENEWAL, on(subscription(285, 'upgraded'))],
    trigger: on(subscription(300, 'renewed', { renewalDate: day(730) })),
  },
  {
    name: 'renewal date moved after an upgrade during the renewal',
    from: RN,
    to: E,
    rule: 'renewal-date-changed',
    setup: [...RENEWAL, on(subscription(285, 'upgraded'))],
    trigger: on(updated(300, { renewalDate: day(730) })),
  },
  {
    name: 'overdue after an upgrade in the grace days',
    from: RN,
    to: E,
    rule: 'renewal-overdue',
    setup: [...RENEWAL, on(subscription(390, 'upgraded'))],
    trigger: tickOn(395),
  },
  { name: 'reset', from: RN, to: O, rule: 'reset', setup: RENEWAL, trigger: on(reset(300)) },
  { name: 'moved to a size with more milestones', from: RN, to: O, rule: 'onboarding-incomplete', setup: RENEWAL, trigger: on(updated(300, { arr: 150_000 })), rules: SSO_RULES },
  { name: 'health falls to danger', from: RN, to: T, rule: 'health-risk', setup: RENEWAL, trigger: on(health(300, HealthBand.Danger)) },
  { name: 'notice of non-renewal (cancellation at the renewal date)', from: RN, to: T, rule: 'cancellation-scheduled', setup: RENEWAL, trigger: on(subscription(300, 'cancelled', { effectiveAt: day(365) })) },
  { name: 'cancelled at once', from: RN, to: C, rule: 'cancellation-effective', setup: RENEWAL, trigger: on(subscription(300, 'cancelled')) },

  // retention →
  { name: 'reset while at risk (health)', from: T, to: O, rule: 'reset', setup: RETENTION_HEALTH, trigger: on(reset(25)) },
  { name: 'moved to a size with more milestones while at risk', from: T, to: O, rule: 'onboarding-incomplete', setup: RETENTION_HEALTH, trigger: on(updated(25, { arr: 150_000 })), rules: SSO_RULES },
  {
    name: 'cancellation withdrawn after a reset',
    from: T,
    to: O,
    rule: 'cancellation-withdrawn',
    setup: [...RETENTION_CANCEL, on(reset(25))],
    trigger: on(subscription(30, 'reactivated')),
  },
  {
    name: 'win-back ended after a reset',
    from: T,
    to: O,
    rule: 'reactivation-window-ended',
    setup: [...RETENTION_REACTIVATED, on(reset(40))],
    trigger: tickOn(60),
  },
  { name: 'health recovered', from: T, to: A, rule: 'health-recovered', setup: RETENTION_HEALTH, trigger: on(health(30, HealthBand.Good)) },
  { name: 'cancellation withdrawn', from: T, to: A, rule: 'cancellation-withdrawn', setup: RETENTION_CANCEL, trigger: on(subscription(30, 'reactivated')) },
  { name: 'win-back ended (tick)', from: T, to: A, rule: 'reactivation-window-ended', setup: RETENTION_REACTIVATED, trigger: tickOn(60) },
  {
    name: 'health recovered after an upgrade',
    from: T,
    to: E,
    rule: 'health-recovered',
    setup: [...ADOPTION, on(subscription(15, 'upgraded')), on(health(20, HealthBand.Danger))],
    trigger: on(health(30, HealthBand.Caution)),
  },
  {
    name: 'cancellation withdrawn after an upgrade',
    from: T,
    to: E,
    rule: 'cancellation-withdrawn',
    setup: [...ADOPTION, on(subscription(15, 'upgraded')), on(subscription(20, 'cancelled', { effectiveAt: day(60) }))],
    trigger: on(subscription(30, 'reactivated')),
  },
  {
    name: 'win-back ended, reactivated with more seats',
    from: T,
    to: E,
    rule: 'reactivation-window-ended',
    setup: [...CHURNED, on(subscription(30, 'reactivated', { seats: 20 }))],
    trigger: tickOn(60),
  },
  {
    name: 'health recovered inside the renewal window',
    from: T,
    to: RN,
    rule: 'health-recovered',
    setup: [...RENEWAL, on(health(281, HealthBand.Danger))],
    trigger: on(health(290, HealthBand.Good)),
  },
  {
    name: 'cancellation withdrawn inside the renewal window',
    from: T,
    to: RN,
    rule: 'cancellation-withdrawn',
    setup: [...ADOPTION, on(subscription(280, 'cancelled', { effectiveAt: day(365) }))],
    trigger: on(subscription(290, 'reactivated')),
  },
  {
    name: 'win-back ended inside the renewal window',
    from: T,
    to: RN,
    rule: 'reactivation-window-ended',
    setup: [...ADOPTION, on(subscription(280, 'cancelled')), on(subscription(290, 'reactivated'))],
    trigger: tickOn(320),
  },
  { name: 'the cancellation takes effect (tick)', from: T, to: C, rule: 'cancellation-effective', setup: RETENTION_CANCEL, trigger: tickOn(60) },

  // churned →
  { name: 'reactivated: win-back', from: C, to: T, rule: 'reactivated', setup: CHURNED, trigger: on(subscription(30, 'reactivated')) },
  {
    name: 'billing re-dated the cancellation into the future',
    from: C,
    to: T,
    rule: 'cancellation-rescheduled',
    setup: CHURNED,
    trigger: on(subscription(30, 'cancelled', { effectiveAt: day(90) })),
  },
  { name: 'reactivated (no win-back)', from: C, to: A, rule: 'reactivated', setup: CHURNED, trigger: on(subscription(30, 'reactivated')), rules: NO_WINBACK },
  {
    name: 'reactivated with more seats (no win-back)',
    from: C,
    to: E,
    rule: 'reactivated',
    setup: CHURNED,
    trigger: on(subscription(30, 'reactivated', { seats: 20 })),
    rules: NO_WINBACK,
  },
  {
    name: 'reactivated inside the renewal window (no win-back)',
    from: C,
    to: RN,
    rule: 'reactivated',
    setup: [...ADOPTION, on(subscription(280, 'cancelled'))],
    trigger: on(subscription(290, 'reactivated')),
    rules: NO_WINBACK,
  },
  {
    name: 'reactivated after a reset (no win-back)',
    from: C,
    to: O,
    rule: 'reactivated',
    setup: [...CHURNED, on(reset(25))],
    trigger: on(subscription(30, 'started')),
    rules: NO_WINBACK,
  },
];

describe('the transition table', () => {
  it.each(edges.map((e) => [`${e.from ?? '(none)'} → ${e.to} by ${e.rule}: ${e.name}`, e] as const))('%s', (_name, edge) => {
    const rules = edge.rules ?? R;
    const before = run(edge.setup, rules);
    expect(before.state.phase).toBe(edge.from);

    const after = run([edge.trigger], rules, before.state);
    const changes = ofType(after.last, 'cs.lifecycle.phase.changed.v1');
    expect(changes).toHaveLength(1);
    const [change] = changes;
    expect(change.from).toBe(edge.from);
    expect(change.to).toBe(edge.to);
    expect(change.cause.startsWith(`${edge.rule}: `)).toBe(true);
    expect(change.cause).toContain('; signal: ');
    expect(change.changedAt).toBe(new Date(Date.parse(day(0)) + edge.trigger[1] * 86_400_000).toISOString());
    expect(after.state.phase).toBe(edge.to);
    expect(after.state.phaseCause).toBe(change.cause);
    expect(after.state.phaseSince).toBe(change.changedAt);

    // The edge and its rule are in the documented table.
    expect(PHASE_TRANSITIONS[edge.from ?? 'none'][edge.to]).toContain(edge.rule);
  });

  it('tests every (from, to, rule) of the table, and the table has every edge between distinct phases', () => {
    const tested = new Set(edges.map((e) => `${e.from ?? 'none'}→${e.to}:${e.rule}`));
    const listed: string[] = [];
    for (const [from, targets] of Object.entries(PHASE_TRANSITIONS)) {
      for (const [to, rules] of Object.entries(targets)) for (const rule of rules ?? []) listed.push(`${from}→${to}:${rule}`);
    }
    expect([...tested].sort()).toEqual([...new Set(listed)].sort());

    const phases = Object.values(LifecyclePhase);
    for (const from of [...phases, 'none' as const]) {
      for (const to of phases) {
        if (from === to) expect(PHASE_TRANSITIONS[from][to]).toBeUndefined();
        else expect(PHASE_TRANSITIONS[from][to]?.length ?? 0).toBeGreaterThan(0);
      }
    }
  });

  it('names the signal in the cause: the rule and the event', () => {
    const r = run([...ONBOARDING, ...MILESTONES]);
    const change = ofType(r.emitted, 'cs.lifecycle.phase.changed.v1').at(-1);
    expect(change?.cause).toBe(
      `onboarding-complete: all 3 smb milestones done (last at ${day(5)}); now adoption (adopted: onboarding complete; no risk, renewal window or recent expansion); ` +
        `signal: product-activity 'First Report Shared' by u1 at ${day(5)}`,
    );
  });

  it('explains a move up with the new phase rule only', () => {
    const r = run([...ADOPTION, on(health(10, HealthBand.Danger))]);
    expect(ofType(r.last, 'cs.lifecycle.phase.changed.v1')[0].cause).toBe(
      `health-risk: health band danger (since ${day(10)}) is a risk band ('danger'); signal: health-changed danger at ${day(10)}`,
    );
  });

  it('an activity that is not a milestone does not complete onboarding', () => {
    const r = run([...ONBOARDING, ...MILESTONES.slice(0, 2), on(activity(4, 'Report Viewed'))]);
    expect(r.state.phase).toBe(O);
  });
});
