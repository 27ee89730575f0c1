import { HealthBand } from '@kizuna/shared/contracts';
import { normalise, scoreAccount, topMovers } from './dear-score';
import { DEFAULT_SCORECARDS, scorecardForSegment } from './default-scorecards';
import { AccountFeatures, FEATURES } from './features';
import { MeasureDef, ModifierMeasureDef, Scorecard, validateScorecard } from './scorecard';

const now = new Date('2026-03-10T12:00:00.000Z');

function byId(id: string): Scorecard {
  const card = DEFAULT_SCORECARDS.find((c) => c.id === id);
  if (!card) throw new Error(`no default scorecard ${id}`);
  return card;
}

function measureOf(card: Scorecard, feature: string): MeasureDef {
  const m = card.components.flatMap((c) => c.measures).find((x) => x.feature === feature);
  if (!m) throw new Error(`${card.id} does not use ${feature}`);
  return m;
}

function modifierMeasureOf(card: Scorecard, feature: string): ModifierMeasureDef {
  const m = card.modifiers.flatMap((c) => c.measures).find((x) => x.feature === feature);
  if (!m) throw new Error(`${card.id} has no modifier on ${feature}`);
  return m;
}

const componentWeight = (card: Scorecard, key: string): number => card.components.find((c) => c.key === key)?.weight ?? NaN;

describe('DEFAULT_SCORECARDS', () => {
  it('are enterprise, smb and trial, version 1, with their segments', () => {
    expect(DEFAULT_SCORECARDS.map((c) => [c.id, c.version, c.segments])).toEqual([
      ['enterprise', 1, ['enterprise']],
      ['smb', 1, ['smb']],
      ['trial', 1, ['freemium', 'trial']],
    ]);
  });

  it.each(DEFAULT_SCORECARDS.map((c) => [c.id, c] as const))('%s is accepted by validateScorecard', (_id, card) => {
    const r = validateScorecard(JSON.parse(JSON.stringify(card)));
    expect(r).toEqual({ ok: true, scorecard: card });
  });

  it.each(DEFAULT_SCORECARDS.map((c) => [c.id, c] as const))('%s has all four DEAR components, bands 70/40 and both modifiers', (_id, card) => {
    expect(card.components.map((c) => c.key)).toEqual(['deployment', 'engagement', 'adoption', 'roi']);
    expect(card.bands).toEqual({ good: 70, caution: 40 });
    expect(card.modifiers.map((m) => m.key)).toEqual(['support', 'billing']);
    expect(card.modifiers[0].measures.map((m) => m.feature).sort()).toEqual(
      [FEATURES.ticketsPerActiveUser30d, FEATURES.reopenRate90d, FEATURES.negativeContacts30d, FEATURES.openEscalations].sort(),
    );
    expect(card.modifiers[1].measures.map((m) => m.feature).sort()).toEqual([FEATURES.paymentFailed30d, FEATURES.downgraded90d].sort());
  });

  it('only read known features; enterprise reads every one of them', () => {
    const known = new Set<string>(Object.values(FEATURES));
    const used = (card: Scorecard) => [...card.components.flatMap((c) => c.measures), ...card.modifiers.flatMap((m) => m.measures)].map((m) => m.feature);
    for (const card of DEFAULT_SCORECARDS) for (const f of used(card)) expect(known).toContain(f);
    expect(new Set(used(byId('enterprise')))).toEqual(known);
  });

  it('trial weighs deployment and ROI less, engagement and adoption more', () => {
    const trial = byId('trial');
    for (const paid of [byId('enterprise'), byId('smb')]) {
      const share = (card: Scorecard, key: string) => componentWeight(card, key) / card.components.reduce((a, c) => a + c.weight, 0);
      expect(share(trial, 'deployment')).toBeLessThan(share(paid, 'deployment'));
      expect(share(trial, 'roi')).toBeLessThan(share(paid, 'roi'));
      expect(share(trial, 'engagement')).toBeGreaterThan(share(paid, 'engagement'));
      expect(share(trial, 'adoption')).toBeGreaterThan(share(paid, 'adoption'));
    }
  });

  it('are deeply frozen (clone one to edit it)', () => {
    const card = byId('enterprise');
    expect(Object.isFrozen(DEFAULT_SCORECARDS)).toBe(true);
    expect(Object.isFrozen(card.components[0].measures[0].normalise)).toBe(true);
    const copy = structuredClone(card);
    copy.version = 2;
    expect(validateScorecard(copy).ok).toBe(true);
  });

  describe('curves make sense', () => {
    const curve = (card: Scorecard, feature: string, xs: number[]) => xs.map((x) => normalise(measureOf(card, feature).normalise, x));
    const paid = [byId('enterprise'), byId('smb')];

    it.each(paid.map((c) => [c.id, c] as const))('%s: recency, trend, seats and NPS', (_id, card) => {
      expect(curve(card, FEATURES.daysSinceLastActivity, [0, 7, 30, 90])).toEqual([1, 0.5, 0, 0]);
      expect(curve(card, FEATURES.engagementTrend, [0, 0.5, 1, 1.5, 3])).toEqual([0, 0, 0.8, 1, 1]);
      expect(curve(card, FEATURES.seatUtilisation, [0, 0.2, 0.8, 1.2])).toEqual([0, 0.1, 1, 1]);
      expect(curve(card, FEATURES.nps, [0, 6, 9, 10])).toEqual([0, 0.3, 1, 1]);
    });

    it('trial recency decays faster than the paid segments', () => {
      const trialRecency = curve(byId('trial'), FEATURES.daysSinceLastActivity, [0, 3, 7, 14]);
      expect(trialRecency).toEqual([1, 0.6, 0.2, 0]);
      expect(normalise(measureOf(byId('trial'), FEATURES.daysSinceLastActivity).normalise, 7)).toBeLessThan(
        normalise(measureOf(byId('smb'), FEATURES.daysSinceLastActivity).normalise, 7),
      );
    });

    it.each(DEFAULT_SCORECARDS.map((c) => [c.id, c] as const))('%s: curves are monotonic in the right direction', (_id, card) => {
      const xs = Array.from({ length: 5001 }, (_, i) => i / 100); // 0 .. 50 by 0.01
      const monotonic = (m: MeasureDef | ModifierMeasureDef, direction: 1 | -1): boolean => {
        const ys = xs.map((x) => normalise(m.normalise, x));
        return ys.every((y, i) => i === 0 || direction * (y - ys[i - 1]) >= 0) && ys[0] !== ys[ys.length - 1];
      };
      const rising = (m: MeasureDef | ModifierMeasureDef) => monotonic(m, 1);
      for (const m of card.components.flatMap((c) => c.measures)) {
        // Recency is the one "less is better" measure; every other one rewards more.
        const ok = m.feature === FEATURES.daysSinceLastActivity ? monotonic(m, -1) : rising(m);
        expect(`${m.key}: ${ok}`).toBe(`${m.key}: true`);
      }
      // Modifiers: the more friction, the bigger the share of the penalty.
      for (const m of card.modifiers.flatMap((c) => c.measures)) expect(`${m.key}: ${rising(m)}`).toBe(`${m.key}: true`);
    });

    it('support and billing curves take nothing off a clean account', () => {
      for (const card of DEFAULT_SCORECARDS) {
        for (const m of card.modifiers.flatMap((x) => x.measures)) expect(normalise(m.normalise, 0)).toBe(0);
        expect(normalise(modifierMeasureOf(card, FEATURES.reopenRate90d).normalise, 0.05)).toBe(0);
        expect(normalise(modifierMeasureOf(card, FEATURES.openEscalations).normalise, 3)).toBe(1);
      }
    });
  });

  it.each(DEFAULT_SCORECARDS.map((c) => [c.id, c] as const))('%s: a perfect account is 100 and good, an abandoned one is danger', (_id, card) => {
    const perfect: AccountFeatures = {
      [FEATURES.seatUtilisation]: 1, [FEATURES.activeUsers7d]: 100, [FEATURES.activeUsers30d]: 100, [FEATURES.sessions7d]: 1000,
      [FEATURES.sessions30d]: 4000, [FEATURES.engagementTrend]: 2, [FEATURES.daysSinceLastActivity]: 0, [FEATURES.keyFeaturesUsed30d]: 1,
      [FEATURES.valueMilestones]: 10, [FEATURES.nps]: 10, [FEATURES.csat]: 5, [FEATURES.ticketsPerActiveUser30d]: 0, [FEATURES.reopenRate90d]: 0,
      [FEATURES.negativeContacts30d]: 0, [FEATURES.openEscalations]: 0, [FEATURES.paymentFailed30d]: 0, [FEATURES.downgraded90d]: 0,
    };
    expect(scoreAccount(perfect, card, now)).toMatchObject({ score: 100, band: HealthBand.Good, clampAdjustment: 0 });
    const abandoned: AccountFeatures = {
      [FEATURES.seatUtilisation]: 0, [FEATURES.activeUsers7d]: 0, [FEATURES.activeUsers30d]: 0, [FEATURES.sessions7d]: 0,
      [FEATURES.sessions30d]: 0, [FEATURES.engagementTrend]: 0, [FEATURES.daysSinceLastActivity]: 60, [FEATURES.keyFeaturesUsed30d]: 0,
      [FEATURES.valueMilestones]: 0, [FEATURES.paymentFailed30d]: 2,
    };
    expect(scoreAccount(abandoned, card, now)).toMatchObject({ score: 0, band: HealthBand.Danger });
  });
});

describe('scorecardForSegment', () => {
  it('picks the scorecard whose segments include the segment', () => {
    expect(scorecardForSegment(DEFAULT_SCORECARDS, 'enterprise').id).toBe('enterprise');
    expect(scorecardForSegment(DEFAULT_SCORECARDS, 'smb').id).toBe('smb');
    expect(scorecardForSegment(DEFAULT_SCORECARDS, 'freemium').id).toBe('trial');
    expect(scorecardForSegment(DEFAULT_SCORECARDS, 'trial').id).toBe('trial');
  });

  it('falls back to smb for an unknown or missing segment when no card is marked default', () => {
    expect(scorecardForSegment(DEFAULT_SCORECARDS, 'government').id).toBe('smb');
    expect(scorecardForSegment(DEFAULT_SCORECARDS, undefined).id).toBe('smb');
    expect(scorecardForSegment(DEFAULT_SCORECARDS, 'Enterprise').id).toBe('smb'); // exact match only
  });

  it("prefers a card whose segments include 'default' over smb", () => {
    const general: Scorecard = { ...structuredClone(byId('smb')), id: 'general', segments: ['mid-market', 'default'] };
    const cards = [...DEFAULT_SCORECARDS, general];
    expect(scorecardForSegment(cards, 'government').id).toBe('general');
    expect(scorecardForSegment(cards, undefined).id).toBe('general');
    expect(scorecardForSegment(cards, 'mid-market').id).toBe('general');
    expect(scorecardForSegment(cards, 'smb').id).toBe('smb');
  });

  it('takes the first matching card in array order', () => {
    const other: Scorecard = { ...structuredClone(byId('enterprise')), id: 'enterprise-2' };
    expect(scorecardForSegment([other, ...DEFAULT_SCORECARDS], 'enterprise').id).toBe('enterprise-2');
    expect(scorecardForSegment([...DEFAULT_SCORECARDS, other], 'enterprise').id).toBe('enterprise');
  });

  it('throws when there is neither a match nor a fallback', () => {
    expect(() => scorecardForSegment([byId('enterprise')], 'smb-ish')).toThrow(/No scorecard for segment 'smb-ish'/);
    expect(() => scorecardForSegment([], undefined)).toThrow(/no 'default' or 'smb'/);
  });
});

describe('scenarios with the enterprise default', () => {
  const enterprise = byId('enterprise');
  /** A healthy enterprise account: most seats used, daily activity, good surveys, quiet support. */
  const healthy: AccountFeatures = {
    [FEATURES.seatUtilisation]: 0.75,
    [FEATURES.activeUsers30d]: 40,
    [FEATURES.activeUsers7d]: 25,
    [FEATURES.sessions7d]: 70,
    [FEATURES.sessions30d]: 300,
    [FEATURES.engagementTrend]: 1.05,
    [FEATURES.daysSinceLastActivity]: 0,
    [FEATURES.keyFeaturesUsed30d]: 0.6,
    [FEATURES.valueMilestones]: 3,
    [FEATURES.nps]: 8,
    [FEATURES.csat]: 4.2,
    [FEATURES.ticketsPerActiveUser30d]: 0.08,
    [FEATURES.reopenRate90d]: 0.04,
    [FEATURES.negativeContacts30d]: 0,
    [FEATURES.openEscalations]: 0,
    [FEATURES.paymentFailed30d]: 0,
    [FEATURES.downgraded90d]: 0,
  };

  it('an account that stops being active goes good → caution → danger', () => {
    const day0 = scoreAccount(healthy, enterprise, now);
    // Ten days of silence: no sessions this week, far fewer this month, the trend collapses.
    const day10 = scoreAccount(
      { ...healthy, [FEATURES.daysSinceLastActivity]: 10, [FEATURES.sessions7d]: 0, [FEATURES.sessions30d]: 90, [FEATURES.engagementTrend]: 0.3, [FEATURES.activeUsers7d]: 0 },
      enterprise,
      new Date('2026-03-20T12:00:00.000Z'),
    );
    // A month of silence: nobody active in 30 days, so deployment and adoption are gone too.
    const day30 = scoreAccount(
      {
        ...healthy,
        [FEATURES.daysSinceLastActivity]: 30,
        [FEATURES.sessions7d]: 0,
        [FEATURES.sessions30d]: 0,
        [FEATURES.engagementTrend]: 0,
        [FEATURES.activeUsers7d]: 0,
        [FEATURES.activeUsers30d]: 0,
        [FEATURES.seatUtilisation]: 0,
        [FEATURES.keyFeaturesUsed30d]: 0,
      },
      enterprise,
      new Date('2026-04-09T12:00:00.000Z'),
    );
    expect([day0.band, day10.band, day30.band]).toEqual([HealthBand.Good, HealthBand.Caution, HealthBand.Danger]);
    expect(day0.score).toBe(83.75);
    expect(day10.score).toBe(57.92);
    expect(day30.score).toBe(15.09); // only ROI (milestones, NPS, CSAT) is left
    // Engagement explains the first drop.
    expect(topMovers(day0, day10, 1)).toEqual([{ component: 'engagement', measure: 'days_since_last_activity', deltaPoints: -6.36 }]);
  });

  it('adding active seats raises the score', () => {
    const few = scoreAccount({ ...healthy, [FEATURES.seatUtilisation]: 0.35, [FEATURES.activeUsers30d]: 18 }, enterprise, now);
    const more = scoreAccount({ ...healthy, [FEATURES.seatUtilisation]: 0.55, [FEATURES.activeUsers30d]: 28 }, enterprise, now);
    const most = scoreAccount(healthy, enterprise, now);
    expect(few.score).toBeLessThan(more.score ?? NaN);
    expect(more.score).toBeLessThan(most.score ?? NaN);
    expect(topMovers(few, more).map((m) => m.measure)).toEqual(['seat_utilisation', 'active_users_30d']);
    expect(topMovers(few, more).every((m) => m.component === 'deployment' && m.deltaPoints > 0)).toBe(true);
  });

  it('a detractor NPS and a burst of reopened tickets pull it down, and topMovers names them', () => {
    const before = scoreAccount(healthy, enterprise, now);
    const after = scoreAccount({ ...healthy, [FEATURES.nps]: 3, [FEATURES.reopenRate90d]: 0.35 }, enterprise, now);
    expect(after.score).toBeLessThan(before.score ?? NaN);
    expect(topMovers(before, after)).toEqual([
      { component: 'support', measure: 'reopen_rate', deltaPoints: -8 },
      { component: 'roi', measure: 'nps', deltaPoints: -4.93 },
    ]);
    expect(after.score).toBe(70.82); // 83.75 - 8 - 4.93
  });

  it('an account with only survey data still gets a score from ROI alone; no data at all gets none', () => {
    const surveysOnly = scoreAccount({ [FEATURES.nps]: 9, [FEATURES.csat]: 5 }, enterprise, now);
    expect(surveysOnly.score).toBe(100);
    expect(surveysOnly.components.filter((c) => c.status === 'ok').map((c) => c.key)).toEqual(['roi']);
    expect(scoreAccount({}, enterprise, now)).toMatchObject({ score: null, band: null, status: 'insufficient-data' });
  });
});
