import { HealthBand } from '@kizuna/shared/contracts';
import { HealthScore, MeasureResult, ModifierMeasureResult, Mover, normalise, round2, scoreAccount, topMovers } from './dear-score';
import { DEFAULT_SCORECARDS } from './default-scorecards';
import type { AccountFeatures } from './features';
import { Normalisation, Scorecard, validateScorecard } from './scorecard';

const now = new Date('2026-03-10T12:00:00.000Z');

/**
 * deployment (weight 1): seats = feature a, linear 0→0 .. 1→1
 * engagement (weight 3): e1 = feature b (weight 3), linear 0→0 .. 10→1
 *                        e2 = feature c (weight 1), thresholds 1→0.5, 5→1
 * support: p = feature p, max 10 points, linear 0→0 .. 1→1
 * billing: q = feature q, max 20 points, boolean
 */
function card(): Scorecard {
  return {
    id: 'unit',
    version: 3,
    name: 'Unit',
    segments: ['smb'],
    bands: { good: 70, caution: 40 },
    components: [
      {
        key: 'deployment',
        label: 'Deployment',
        weight: 1,
        measures: [{ key: 'seats', label: 'Seats', feature: 'a', weight: 1, normalise: { kind: 'linear', points: [[0, 0], [1, 1]] } }],
      },
      {
        key: 'engagement',
        label: 'Engagement',
        weight: 3,
        measures: [
          { key: 'e1', label: 'E1', feature: 'b', weight: 3, normalise: { kind: 'linear', points: [[0, 0], [10, 1]] } },
          { key: 'e2', label: 'E2', feature: 'c', weight: 1, normalise: { kind: 'thresholds', steps: [{ min: 1, value: 0.5 }, { min: 5, value: 1 }] } },
        ],
      },
    ],
    modifiers: [
      { key: 'support', label: 'Support', measures: [{ key: 'p', label: 'P', feature: 'p', maxPenalty: 10, normalise: { kind: 'linear', points: [[0, 0], [1, 1]] } }] },
      { key: 'billing', label: 'Billing', measures: [{ key: 'q', label: 'Q', feature: 'q', maxPenalty: 20, normalise: { kind: 'boolean', whenTrue: 1, whenFalse: 0 } }] },
    ],
  };
}

const measure = (s: HealthScore, component: string, key: string): MeasureResult => {
  const m = s.components.find((c) => c.key === component)?.measures.find((x) => x.key === key);
  if (!m) throw new Error(`no measure ${component}.${key}`);
  return m;
};
const modifierMeasure = (s: HealthScore, modifier: string, key: string): ModifierMeasureResult => {
  const m = s.modifiers.find((c) => c.key === modifier)?.measures.find((x) => x.key === key);
  if (!m) throw new Error(`no modifier measure ${modifier}.${key}`);
  return m;
};
const component = (s: HealthScore, key: string) => {
  const c = s.components.find((x) => x.key === key);
  if (!c) throw new Error(`no component ${key}`);
  return c;
};

/** Σ effective weights of the measures that counted (ok measures of ok components). */
const presentWeight = (s: HealthScore): number =>
  s.components.flatMap((c) => c.measures).filter((m) => m.status === 'ok').reduce((a, m) => a + m.effectiveWeight, 0);

/** Σ component and modifier contributions + clamp adjustment (what the score must add up to). */
const accounted = (s: HealthScore): number =>
  [...s.components, ...s.modifiers].reduce((a, c) => a + c.contribution, 0) + s.clampAdjustment;

describe('round2', () => {
  it('rounds half away from zero, symmetric for negatives, never -0', () => {
    expect(round2(59.375)).toBe(59.38);
    expect(round2(-59.375)).toBe(-59.38);
    expect(round2(1.234)).toBe(1.23);
    expect(Object.is(round2(-0.001), 0)).toBe(true);
    expect(Object.is(round2(-0), 0)).toBe(true);
  });
});

describe('normalise', () => {
  describe('linear', () => {
    const n: Normalisation = { kind: 'linear', points: [[0, 1], [7, 0.5], [30, 0]] };

    it('is exact at the points', () => {
      expect(normalise(n, 0)).toBe(1);
      expect(normalise(n, 7)).toBe(0.5);
      expect(normalise(n, 30)).toBe(0);
    });

    it('interpolates linearly between the points', () => {
      expect(normalise(n, 3.5)).toBeCloseTo(0.75, 12);
      expect(normalise(n, 18.5)).toBeCloseTo(0.25, 12);
      expect(normalise(n, 10)).toBeCloseTo(0.5 - (3 / 23) * 0.5, 12);
    });

    it('clamps outside the points (including ±Infinity)', () => {
      expect(normalise(n, -5)).toBe(1);
      expect(normalise(n, 31)).toBe(0);
      expect(normalise(n, 1e9)).toBe(0);
      expect(normalise(n, -Infinity)).toBe(1);
      expect(normalise(n, Infinity)).toBe(0);
    });

    it('works with increasing curves and non-zero origins', () => {
      const up: Normalisation = { kind: 'linear', points: [[0.5, 0], [1, 0.8], [1.5, 1]] };
      expect(normalise(up, 0.2)).toBe(0);
      expect(normalise(up, 0.75)).toBeCloseTo(0.4, 12);
      expect(normalise(up, 1)).toBe(0.8);
      expect(normalise(up, 1.25)).toBeCloseTo(0.9, 12);
      expect(normalise(up, 3)).toBe(1);
    });

    it('handles flat segments', () => {
      const plateau: Normalisation = { kind: 'linear', points: [[0, 0], [1, 0.5], [2, 0.5], [3, 1]] };
      expect(normalise(plateau, 1.5)).toBe(0.5);
      expect(normalise(plateau, 2.5)).toBeCloseTo(0.75, 12);
    });
  });

  describe('thresholds', () => {
    const n: Normalisation = { kind: 'thresholds', steps: [{ min: 1, value: 0.3 }, { min: 2, value: 0.6 }, { min: 4, value: 1 }] };

    it('is 0 below the first step', () => {
      expect(normalise(n, 0)).toBe(0);
      expect(normalise(n, 0.999)).toBe(0);
      expect(normalise(n, -Infinity)).toBe(0);
    });

    it('takes the highest step whose min <= x (inclusive at the min)', () => {
      expect(normalise(n, 1)).toBe(0.3);
      expect(normalise(n, 1.5)).toBe(0.3);
      expect(normalise(n, 2)).toBe(0.6);
      expect(normalise(n, 3.99)).toBe(0.6);
      expect(normalise(n, 4)).toBe(1);
    });

    it('keeps the last step above it', () => {
      expect(normalise(n, 1000)).toBe(1);
      expect(normalise(n, Infinity)).toBe(1);
    });

    it('supports a first step at a negative min and a step back down', () => {
      const m: Normalisation = { kind: 'thresholds', steps: [{ min: -10, value: 0.2 }, { min: 0, value: 1 }, { min: 10, value: 0.4 }] };
      expect(normalise(m, -11)).toBe(0);
      expect(normalise(m, -10)).toBe(0.2);
      expect(normalise(m, 5)).toBe(1);
      expect(normalise(m, 10)).toBe(0.4);
    });
  });

  describe('boolean', () => {
    const n: Normalisation = { kind: 'boolean', whenTrue: 0.9, whenFalse: 0.1 };

    it('is whenFalse for 0 and whenTrue for any other value', () => {
      expect(normalise(n, 0)).toBe(0.1);
      expect(normalise(n, -0)).toBe(0.1);
      expect(normalise(n, 1)).toBe(0.9);
      expect(normalise(n, 0.001)).toBe(0.9);
      expect(normalise(n, -3)).toBe(0.9);
      expect(normalise(n, Infinity)).toBe(0.9);
    });
  });

  it('throws on NaN rather than propagating it', () => {
    expect(() => normalise({ kind: 'boolean', whenTrue: 1, whenFalse: 0 }, NaN)).toThrow(RangeError);
    expect(() => normalise({ kind: 'linear', points: [[0, 0], [1, 1]] }, NaN)).toThrow(RangeError);
  });
});

describe('scoreAccount', () => {
  it('the test card is valid', () => {
    expect(validateScorecard(card()).ok).toBe(true);
  });

  describe('with all data', () => {
    // deployment: 0.5; engagement: (3 × 0.5 + 1 × 1) / 4 = 0.625
    // base = 100 × (1/4 × 0.5 + 3/4 × 0.625) = 12.5 + 46.875 = 59.375
    const s = scoreAccount({ a: 0.5, b: 5, c: 5 }, card(), now);

    it('computes the weighted base score', () => {
      expect(s.score).toBe(59.38);
      expect(s.band).toBe(HealthBand.Caution);
      expect(s.status).toBe('ok');
      expect(s.clampAdjustment).toBe(0);
    });

    it('reports every measure with its raw, normalised, weights and points', () => {
      expect(measure(s, 'deployment', 'seats')).toEqual({
        key: 'seats', label: 'Seats', feature: 'a', raw: 0.5, normalised: 0.5, weight: 1, effectiveWeight: 0.25, contribution: 12.5, status: 'ok',
      });
      expect(measure(s, 'engagement', 'e1')).toEqual({
        key: 'e1', label: 'E1', feature: 'b', raw: 5, normalised: 0.5, weight: 3, effectiveWeight: 0.5625, contribution: 28.13, status: 'ok',
      });
      expect(measure(s, 'engagement', 'e2')).toEqual({
        key: 'e2', label: 'E2', feature: 'c', raw: 5, normalised: 1, weight: 1, effectiveWeight: 0.1875, contribution: 18.75, status: 'ok',
      });
    });

    it('reports components with their score within the component and their points', () => {
      expect(component(s, 'deployment')).toMatchObject({ label: 'Deployment', weight: 1, effectiveWeight: 0.25, score: 50, contribution: 12.5, status: 'ok' });
      // 28.125 + 18.75 = 46.875 at full precision, rounded once
      expect(component(s, 'engagement')).toMatchObject({ weight: 3, effectiveWeight: 0.75, score: 62.5, contribution: 46.88, status: 'ok' });
    });

    it('reports the scorecard and the time', () => {
      expect(s.scorecardId).toBe('unit');
      expect(s.scorecardVersion).toBe(3);
      expect(s.computedAt).toBe('2026-03-10T12:00:00.000Z');
    });

    it('reports modifiers without data as no-data taking nothing off', () => {
      expect(s.modifiers).toEqual([
        { key: 'support', label: 'Support', contribution: 0, measures: [{ key: 'p', label: 'P', feature: 'p', raw: null, normalised: null, maxPenalty: 10, contribution: 0, status: 'no-data' }] },
        { key: 'billing', label: 'Billing', contribution: 0, measures: [{ key: 'q', label: 'Q', feature: 'q', raw: null, normalised: null, maxPenalty: 20, contribution: 0, status: 'no-data' }] },
      ]);
    });

    it('adds up: Σ effective weights = 1 and Σ contributions = score', () => {
      expect(presentWeight(s)).toBeCloseTo(1, 9);
      expect(accounted(s)).toBeCloseTo(59.38, 1);
    });
  });

  describe('missing data', () => {
    it.each([
      ['missing', {}],
      ['null', { b: null }],
      ['undefined', { b: undefined }],
      ['NaN', { b: NaN }],
      ['Infinity', { b: Infinity }],
      ['-Infinity', { b: -Infinity }],
    ])('a %s measure is no-data and excluded; its component renormalises', (_name, b) => {
      const s = scoreAccount({ a: 0.5, c: 5, ...b }, card(), now);
      expect(measure(s, 'engagement', 'e1')).toEqual({
        key: 'e1', label: 'E1', feature: 'b', raw: null, normalised: null, weight: 3, effectiveWeight: 0, contribution: 0, status: 'no-data',
      });
      // e2 now carries the whole engagement weight: mean 1
      expect(measure(s, 'engagement', 'e2')).toMatchObject({ effectiveWeight: 0.75, contribution: 75, status: 'ok' });
      expect(component(s, 'engagement')).toMatchObject({ score: 100, effectiveWeight: 0.75, contribution: 75, status: 'ok' });
      expect(s.score).toBe(87.5);
      expect(s.band).toBe(HealthBand.Good);
      expect(presentWeight(s)).toBeCloseTo(1, 9);
    });

    it('a component without any data is no-data and excluded; the others renormalise', () => {
      const s = scoreAccount({ a: null, b: 5, c: 5 }, card(), now);
      expect(component(s, 'deployment')).toEqual({
        key: 'deployment',
        label: 'Deployment',
        weight: 1,
        effectiveWeight: 0,
        score: null,
        contribution: 0,
        status: 'no-data',
        measures: [{ key: 'seats', label: 'Seats', feature: 'a', raw: null, normalised: null, weight: 1, effectiveWeight: 0, contribution: 0, status: 'no-data' }],
      });
      expect(component(s, 'engagement')).toMatchObject({ effectiveWeight: 1, score: 62.5, contribution: 62.5 });
      expect(measure(s, 'engagement', 'e1').effectiveWeight).toBe(0.75);
      expect(measure(s, 'engagement', 'e2').effectiveWeight).toBe(0.25);
      expect(s.score).toBe(62.5);
      expect(presentWeight(s)).toBeCloseTo(1, 9);
    });

    it('missing measures and missing components renormalise together', () => {
      const s = scoreAccount({ a: null, c: 1 }, card(), now);
      expect(component(s, 'engagement')).toMatchObject({ effectiveWeight: 1, score: 50 });
      expect(measure(s, 'engagement', 'e2')).toMatchObject({ effectiveWeight: 1, contribution: 50 });
      expect(s.score).toBe(50);
      expect(presentWeight(s)).toBeCloseTo(1, 9);
    });

    it('a measure at 0 is data, not missing (it counts and pulls down)', () => {
      const s = scoreAccount({ a: 0, b: 5, c: 5 }, card(), now);
      expect(measure(s, 'deployment', 'seats')).toMatchObject({ raw: 0, normalised: 0, effectiveWeight: 0.25, contribution: 0, status: 'ok' });
      expect(s.score).toBe(46.88); // 46.875: only engagement's 3/4 share can score
    });

    it('ignores inherited properties of the features object', () => {
      const c = card();
      c.components[0].measures[0].feature = 'constructor';
      const s = scoreAccount({ b: 5, c: 5 }, c, now);
      expect(component(s, 'deployment').status).toBe('no-data');
      expect(scoreAccount(Object.assign(Object.create(null) as Record<string, number>, { a: 1, b: 10, c: 9 }), card(), now).score).toBe(100);
    });

    it('with no component data at all, the score is null (not 0): insufficient-data', () => {
      const s = scoreAccount({}, card(), now);
      expect(s).toEqual({
        score: null,
        band: null,
        status: 'insufficient-data',
        scorecardId: 'unit',
        scorecardVersion: 3,
        computedAt: '2026-03-10T12:00:00.000Z',
        clampAdjustment: 0,
        components: [
          expect.objectContaining({ key: 'deployment', score: null, status: 'no-data', effectiveWeight: 0, contribution: 0 }),
          expect.objectContaining({ key: 'engagement', score: null, status: 'no-data', effectiveWeight: 0, contribution: 0 }),
        ],
        modifiers: [expect.objectContaining({ key: 'support', contribution: 0 }), expect.objectContaining({ key: 'billing', contribution: 0 })],
      });
    });

    it('with insufficient data, modifier data is reported but takes nothing off', () => {
      const s = scoreAccount({ p: 1, q: 1 }, card(), now);
      expect(s.score).toBeNull();
      expect(s.status).toBe('insufficient-data');
      expect(modifierMeasure(s, 'support', 'p')).toMatchObject({ raw: 1, normalised: 1, contribution: 0, status: 'ok' });
      expect(modifierMeasure(s, 'billing', 'q')).toMatchObject({ raw: 1, normalised: 1, contribution: 0, status: 'ok' });
    });
  });

  describe('zero weights', () => {
    it('a zero-weight measure with data is reported but carries no weight', () => {
      const c = card();
      c.components[1].measures[1].weight = 0;
      const s = scoreAccount({ a: 0.5, b: 5, c: 5 }, c, now);
      expect(measure(s, 'engagement', 'e2')).toMatchObject({ normalised: 1, effectiveWeight: 0, contribution: 0, status: 'ok' });
      expect(measure(s, 'engagement', 'e1').effectiveWeight).toBe(0.75);
      expect(s.score).toBe(50);
    });

    it('a component whose only data is on zero-weight measures is no-data', () => {
      const c = card();
      c.components[1].measures[1].weight = 0;
      const s = scoreAccount({ a: 0.5, c: 5 }, c, now);
      expect(component(s, 'engagement')).toMatchObject({ status: 'no-data', score: null, effectiveWeight: 0, contribution: 0 });
      expect(measure(s, 'engagement', 'e2')).toMatchObject({ status: 'ok', normalised: 1, effectiveWeight: 0, contribution: 0 });
      expect(s.score).toBe(50);
    });

    it('a zero-weight component is scored within itself but adds no points', () => {
      const c = card();
      c.components[0].weight = 0;
      const s = scoreAccount({ a: 0.9, b: 5, c: 5 }, c, now);
      expect(component(s, 'deployment')).toMatchObject({ status: 'ok', score: 90, effectiveWeight: 0, contribution: 0 });
      expect(measure(s, 'deployment', 'seats')).toMatchObject({ effectiveWeight: 0, contribution: 0 });
      expect(s.score).toBe(62.5);
      expect(presentWeight(s)).toBeCloseTo(1, 9);
    });

    it('data only on zero-weight components is insufficient data', () => {
      const c = card();
      c.components[0].weight = 0;
      const s = scoreAccount({ a: 0.9 }, c, now);
      expect(s.score).toBeNull();
      expect(s.status).toBe('insufficient-data');
      expect(component(s, 'deployment')).toMatchObject({ status: 'ok', score: 90, effectiveWeight: 0 });
    });
  });

  describe('modifiers', () => {
    it('each modifier measure with data takes maxPenalty × normalised points off', () => {
      const s = scoreAccount({ a: 0.5, b: 5, c: 5, p: 0.25, q: 1 }, card(), now);
      expect(modifierMeasure(s, 'support', 'p')).toEqual({ key: 'p', label: 'P', feature: 'p', raw: 0.25, normalised: 0.25, maxPenalty: 10, contribution: -2.5, status: 'ok' });
      expect(modifierMeasure(s, 'billing', 'q')).toMatchObject({ raw: 1, normalised: 1, contribution: -20, status: 'ok' });
      expect(s.modifiers.map((m) => m.contribution)).toEqual([-2.5, -20]);
      expect(s.score).toBe(36.88); // 59.375 - 22.5 = 36.875
      expect(s.band).toBe(HealthBand.Danger);
      expect(s.clampAdjustment).toBe(0);
      expect(accounted(s)).toBeCloseTo(36.88, 1);
    });

    it('a modifier at 0 takes nothing off (and reports 0, not -0)', () => {
      const s = scoreAccount({ a: 0.5, b: 5, c: 5, p: 0, q: 0 }, card(), now);
      expect(s.score).toBe(59.38);
      expect(Object.is(modifierMeasure(s, 'support', 'p').contribution, 0)).toBe(true);
      expect(Object.is(s.modifiers[1].contribution, 0)).toBe(true);
      expect(modifierMeasure(s, 'billing', 'q').status).toBe('ok');
    });

    it('only the modifier measures with data count', () => {
      const s = scoreAccount({ a: 0.5, b: 5, c: 5, q: null, p: 1 }, card(), now);
      expect(modifierMeasure(s, 'billing', 'q').status).toBe('no-data');
      expect(s.score).toBe(49.38);
    });
  });

  describe('clamping', () => {
    it('clamps at 0 and reports the points added back', () => {
      const s = scoreAccount({ a: 0.1, b: 0, c: 0, p: 1, q: 1 }, card(), now);
      // base 2.5, penalties -30 → -27.5 → 0
      expect(s.score).toBe(0);
      expect(s.band).toBe(HealthBand.Danger);
      expect(s.clampAdjustment).toBe(27.5);
      expect(accounted(s)).toBeCloseTo(0, 9);
    });

    it('does not clamp exactly at 0', () => {
      const s = scoreAccount({ a: 0.8, b: 0, c: 0, q: 1 }, card(), now);
      expect(s.score).toBe(0);
      expect(s.clampAdjustment).toBe(0);
    });

    it('clamps at 100 (only reachable with an unvalidated curve above 1)', () => {
      const c = card();
      c.components[0].measures[0].normalise = { kind: 'linear', points: [[0, 0], [1, 3]] };
      const s = scoreAccount({ a: 1, b: 10, c: 5 }, c, now);
      expect(s.score).toBe(100);
      expect(s.clampAdjustment).toBe(-50);
      expect(accounted(s)).toBeCloseTo(100, 9);
    });
  });

  describe('bands', () => {
    // One measure: score = x.
    const single = (bands = { good: 70, caution: 40 }): Scorecard => ({
      ...card(),
      bands,
      components: [{ key: 'roi', label: 'ROI', weight: 1, measures: [{ key: 'x', label: 'X', feature: 'x', weight: 1, normalise: { kind: 'linear', points: [[0, 0], [100, 1]] } }] }],
      modifiers: [],
    });

    it.each([
      [100, HealthBand.Good],
      [70, HealthBand.Good],
      [69.99, HealthBand.Caution],
      [40, HealthBand.Caution],
      [39.99, HealthBand.Danger],
      [0, HealthBand.Danger],
    ])('score %p is %s (lower bounds inclusive)', (x, band) => {
      const s = scoreAccount({ x }, single(), now);
      expect(s.score).toBe(x);
      expect(s.band).toBe(band);
    });

    it('uses the scorecard bands', () => {
      expect(scoreAccount({ x: 75 }, single({ good: 80, caution: 50 }), now).band).toBe(HealthBand.Caution);
      expect(scoreAccount({ x: 80 }, single({ good: 80, caution: 50 }), now).band).toBe(HealthBand.Good);
      expect(scoreAccount({ x: 49.99 }, single({ good: 80, caution: 50 }), now).band).toBe(HealthBand.Danger);
    });

    it('bands the reported (rounded) score', () => {
      const s = scoreAccount({ x: 69.996 }, single(), now);
      expect(s.score).toBe(70);
      expect(s.band).toBe(HealthBand.Good);
    });
  });

  describe('determinism and purity', () => {
    const features: AccountFeatures = Object.freeze({ a: 0.3, b: 7, c: 2, p: 0.4, q: 0 });

    it('gives the same output for the same input', () => {
      const c = card();
      expect(scoreAccount(features, c, now)).toEqual(scoreAccount(features, c, now));
      expect(JSON.stringify(scoreAccount(features, c, now))).toBe(JSON.stringify(scoreAccount({ ...features }, card(), new Date(now.getTime()))));
    });

    it('does not depend on the order of the features', () => {
      const reversed = Object.fromEntries(Object.entries(features).reverse());
      expect(scoreAccount(reversed, card(), now)).toEqual(scoreAccount(features, card(), now));
    });

    it('does not mutate its inputs (frozen inputs are fine)', () => {
      const c = card();
      const before = structuredClone(c);
      const frozen = DEFAULT_SCORECARDS[0];
      expect(() => scoreAccount(features, frozen, now)).not.toThrow();
      scoreAccount(features, c, now);
      expect(c).toEqual(before);
    });

    it('results are plain JSON data (round-trip equal)', () => {
      const s = scoreAccount(features, card(), now);
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    });
  });

  describe('invariants on the default scorecards over random accounts', () => {
    /** mulberry32: a small seeded PRNG, so the "random" accounts are the same on every run. */
    function prng(seed: number): () => number {
      let t = seed >>> 0;
      return () => {
        t = (t + 0x6d2b79f5) >>> 0;
        let r = Math.imul(t ^ (t >>> 15), 1 | t);
        r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
        return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
      };
    }
    const ranges: Record<string, number> = {
      seat_utilisation: 1.3, active_users_7d: 60, active_users_30d: 80, sessions_7d: 150, sessions_30d: 600, engagement_trend: 2,
      days_since_last_activity: 45, key_features_used_30d: 1, value_milestones: 7, nps_latest: 10, csat_avg_90d: 5,
      tickets_per_active_user_30d: 1.5, reopen_rate_90d: 0.5, negative_contacts_30d: 6, open_escalations: 4, payment_failed_30d: 3, downgraded_90d: 1,
    };
    const random = prng(20260310);
    const accounts: Record<string, number | null>[] = Array.from({ length: 300 }, () =>
      Object.fromEntries(Object.entries(ranges).map(([f, max]) => [f, random() < 0.25 ? null : Math.round(random() * max * 100) / 100])),
    );

    it.each(DEFAULT_SCORECARDS.map((c) => [c.id, c] as const))('%s', (_id, scorecard) => {
      let scored = 0;
      for (const features of accounts) {
        const s = scoreAccount(features, scorecard, now);
        if (s.score === null) {
          expect(s.status).toBe('insufficient-data');
          continue;
        }
        scored++;
        expect(s.score).toBeGreaterThanOrEqual(0);
        expect(s.score).toBeLessThanOrEqual(100);
        expect(presentWeight(s)).toBeCloseTo(1, 9);
        expect(s.components.reduce((a, c) => a + c.effectiveWeight, 0)).toBeCloseTo(1, 9);
        expect(Math.abs(accounted(s) - s.score)).toBeLessThanOrEqual(0.05);
        for (const c of s.components) {
          const sum = c.measures.reduce((a, m) => a + m.contribution, 0);
          expect(Math.abs(sum - c.contribution)).toBeLessThanOrEqual(0.03);
          for (const m of c.measures) {
            if (m.status === 'no-data') expect(m).toMatchObject({ raw: null, normalised: null, effectiveWeight: 0, contribution: 0 });
            else expect(m.contribution).toBe(round2(100 * m.effectiveWeight * (m.normalised ?? NaN)));
          }
        }
        for (const mod of s.modifiers) {
          for (const m of mod.measures) {
            expect(m.contribution).toBeLessThanOrEqual(0);
            expect(m.contribution).toBeGreaterThanOrEqual(-m.maxPenalty);
          }
        }
        const expected = s.score >= scorecard.bands.good ? HealthBand.Good : s.score >= scorecard.bands.caution ? HealthBand.Caution : HealthBand.Danger;
        expect(s.band).toBe(expected);
      }
      expect(scored).toBeGreaterThan(250);
    });
  });
});

describe('topMovers', () => {
  /** A HealthScore with the given measure contributions, e.g. { roi: { nps: 3 } }. */
  function fake(components: Record<string, Record<string, number>>, modifiers: Record<string, Record<string, number>> = {}): HealthScore {
    const measures = (ms: Record<string, number>) =>
      Object.entries(ms).map(([key, contribution]) => ({ key, label: key, feature: key, raw: 1, normalised: 1, contribution, status: 'ok' as const }));
    return {
      score: 50,
      band: HealthBand.Caution,
      status: 'ok',
      scorecardId: 'x',
      scorecardVersion: 1,
      computedAt: now.toISOString(),
      clampAdjustment: 0,
      components: Object.entries(components).map(([key, ms]) => ({
        key, label: key, weight: 1, effectiveWeight: 1, score: 50, contribution: 0, status: 'ok' as const,
        measures: measures(ms).map((m) => ({ ...m, weight: 1, effectiveWeight: 1 })),
      })),
      modifiers: Object.entries(modifiers).map(([key, ms]) => ({ key, label: key, contribution: 0, measures: measures(ms).map((m) => ({ ...m, maxPenalty: 10 })) })),
    };
  }

  it('without a previous score, counts from 0', () => {
    const next = fake({ engagement: { a: 5, b: 0, c: 1 } }, { support: { t: -2 } });
    expect(topMovers(undefined, next)).toEqual([
      { component: 'engagement', measure: 'a', deltaPoints: 5 },
      { component: 'support', measure: 't', deltaPoints: -2 },
      { component: 'engagement', measure: 'c', deltaPoints: 1 },
    ]);
  });

  it('sorts by absolute delta, gains and losses alike, modifiers included', () => {
    const prev = fake({ engagement: { a: 10, b: 5 }, roi: { nps: 8 } }, { support: { reopen: 0 } });
    const next = fake({ engagement: { a: 12, b: 5 }, roi: { nps: 3 } }, { support: { reopen: -8 } });
    expect(topMovers(prev, next)).toEqual([
      { component: 'support', measure: 'reopen', deltaPoints: -8 },
      { component: 'roi', measure: 'nps', deltaPoints: -5 },
      { component: 'engagement', measure: 'a', deltaPoints: 2 },
    ]);
  });

  it('leaves zero deltas out (also those that round to 0)', () => {
    const prev = fake({ engagement: { a: 1, b: 2, c: 3.001 } });
    const next = fake({ engagement: { a: 1, b: 2.5, c: 3.004 } });
    expect(topMovers(prev, next)).toEqual([{ component: 'engagement', measure: 'b', deltaPoints: 0.5 }]);
    expect(topMovers(prev, prev)).toEqual([]);
  });

  it('breaks ties by component key, then measure key, regardless of sign or order', () => {
    const prev = fake({ roi: { z: 0, a: 0 }, adoption: { m: 0 } });
    const next = fake({ roi: { z: -2, a: 2 }, adoption: { m: 2 } });
    expect(topMovers(prev, next)).toEqual([
      { component: 'adoption', measure: 'm', deltaPoints: 2 },
      { component: 'roi', measure: 'a', deltaPoints: 2 },
      { component: 'roi', measure: 'z', deltaPoints: -2 },
    ]);
    const reordered = fake({ adoption: { m: 2 }, roi: { a: 2, z: -2 } });
    expect(topMovers(prev, reordered)).toEqual(topMovers(prev, next));
  });

  it('respects the limit (default 3)', () => {
    const next = fake({ engagement: { a: 1, b: 2, c: 3, d: 4, e: 5 } });
    expect(topMovers(undefined, next)).toHaveLength(3);
    expect(topMovers(undefined, next, 1)).toEqual([{ component: 'engagement', measure: 'e', deltaPoints: 5 }]);
    expect(topMovers(undefined, next, 10)).toHaveLength(5);
    expect(topMovers(undefined, next, 0)).toEqual([]);
    expect(topMovers(undefined, next, -1)).toEqual([]);
  });

  it('gives what comparing every measure by key gives, for scores of the same scorecard and of different ones', () => {
    // The definition, written out: every (group, measure) of either score, delta = after - before, rounded.
    const byKey = (prev: HealthScore | undefined, next: HealthScore): Mover[] => {
      const points = (h: HealthScore | undefined) =>
        new Map((h ? [...h.components, ...h.modifiers] : []).flatMap((g) => g.measures.map((m) => [`${g.key}/${m.key}`, { component: g.key, measure: m.key, points: m.contribution }] as const)));
      const [before, after] = [points(prev), points(next)];
      return [...new Set([...after.keys(), ...before.keys()])]
        .map((id) => {
          const ref = (after.get(id) ?? before.get(id)) as { component: string; measure: string };
          return { component: ref.component, measure: ref.measure, deltaPoints: round2((after.get(id)?.points ?? 0) - (before.get(id)?.points ?? 0)) };
        })
        .filter((m) => m.deltaPoints !== 0)
        .sort((x, y) => Math.abs(y.deltaPoints) - Math.abs(x.deltaPoints) || (x.component < y.component ? -1 : x.component > y.component ? 1 : 0) || (x.measure < y.measure ? -1 : x.measure > y.measure ? 1 : 0))
        .slice(0, 3);
    };
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const features = (): AccountFeatures =>
      Object.fromEntries(DEFAULT_SCORECARDS.flatMap((c) => [...c.components, ...c.modifiers].flatMap((g) => g.measures.map((m) => [m.feature, random() < 0.15 ? null : Math.round(random() * 4000) / 100]))));
    let compared = 0;
    for (let i = 0; i < 300; i++) {
      for (const before of DEFAULT_SCORECARDS) {
        for (const after of DEFAULT_SCORECARDS) {
          const prev = scoreAccount(features(), before, now);
          const next = scoreAccount(features(), after, now);
          expect(topMovers(prev, next)).toEqual(byKey(prev, next));
          expect(topMovers(undefined, next)).toEqual(byKey(undefined, next));
          compared++;
        }
      }
    }
    expect(compared).toBe(300 * DEFAULT_SCORECARDS.length ** 2);
  });

  it('rounds deltas to 2 decimals', () => {
    const prev = fake({ roi: { a: 0.1 } });
    const next = fake({ roi: { a: 0.3 } });
    expect(topMovers(prev, next)).toEqual([{ component: 'roi', measure: 'a', deltaPoints: 0.2 }]);
  });

  it('counts a measure only in the previous score (scorecard changed) down to 0', () => {
    const prev = fake({ roi: { csat: 4, nps: 3 } });
    const next = fake({ roi: { nps: 3 } });
    expect(topMovers(prev, next)).toEqual([{ component: 'roi', measure: 'csat', deltaPoints: -4 }]);
  });

  it('does not confuse same measure keys in different components', () => {
    const prev = fake({ engagement: { users: 1 }, adoption: { users: 1 } });
    const next = fake({ engagement: { users: 4 }, adoption: { users: 1 } });
    expect(topMovers(prev, next)).toEqual([{ component: 'engagement', measure: 'users', deltaPoints: 3 }]);
  });
});
