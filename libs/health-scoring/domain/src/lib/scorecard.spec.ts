import { DEFAULT_SCORECARDS } from './default-scorecards';
import { Scorecard, validateScorecard } from './scorecard';

/** A small valid scorecard, as JSON-ish data that the tests then break one way at a time. */
function valid(): Scorecard {
  return {
    id: 'test',
    version: 1,
    name: 'Test',
    segments: ['smb'],
    bands: { good: 70, caution: 40 },
    components: [
      {
        key: 'deployment',
        label: 'Deployment',
        weight: 1,
        measures: [{ key: 'seats', label: 'Seats', feature: 'seat_utilisation', weight: 1, normalise: { kind: 'linear', points: [[0, 0], [1, 1]] } }],
      },
      {
        key: 'engagement',
        label: 'Engagement',
        weight: 2,
        measures: [
          { key: 'recency', label: 'Recency', feature: 'days_since_last_activity', weight: 2, normalise: { kind: 'linear', points: [[0, 1], [30, 0]] } },
          { key: 'sessions', label: 'Sessions', feature: 'sessions_7d', weight: 1, normalise: { kind: 'thresholds', steps: [{ min: 1, value: 0.5 }, { min: 10, value: 1 }] } },
        ],
      },
    ],
    modifiers: [
      {
        key: 'billing',
        label: 'Billing',
        measures: [{ key: 'downgraded', label: 'Downgraded', feature: 'downgraded_90d', maxPenalty: 10, normalise: { kind: 'boolean', whenTrue: 1, whenFalse: 0 } }],
      },
    ],
  };
}

/**
 * A copy of `base` (default: the valid scorecard) with the value at a dotted path (array indexes
 * as numbers: `components.1.weight`) replaced, to break it in ways the types would not allow.
 */
function set(path: string, value: unknown, base: unknown = valid()): unknown {
  const copy: unknown = structuredClone(base);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = copy as Record<string, unknown>;
  for (const k of keys) node = node[k] as Record<string, unknown>;
  node[last] = value;
  return copy;
}

/** A copy of `base` with the property at a dotted path deleted. */
function without(path: string, base: unknown = valid()): unknown {
  const copy: unknown = structuredClone(base);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = copy as Record<string, unknown>;
  for (const k of keys) node = node[k] as Record<string, unknown>;
  delete node[last];
  return copy;
}

function errorsOf(input: unknown): string[] {
  const r = validateScorecard(input);
  return r.ok ? [] : r.errors;
}

describe('validateScorecard', () => {
  it('accepts a valid scorecard and returns a detached deep copy', () => {
    const input = valid();
    const r = validateScorecard(input);
    expect(r).toEqual({ ok: true, scorecard: input });
    if (!r.ok) throw new Error('expected ok');
    expect(r.scorecard).not.toBe(input);
    expect(r.scorecard.components[0]).not.toBe(input.components[0]);
    r.scorecard.components[0].weight = 99;
    expect(input.components[0].weight).toBe(1);
  });

  it('accepts the default scorecards, also after a JSON round trip', () => {
    for (const card of DEFAULT_SCORECARDS) {
      expect(validateScorecard(card)).toEqual({ ok: true, scorecard: card });
      expect(validateScorecard(JSON.parse(JSON.stringify(card)))).toEqual({ ok: true, scorecard: card });
    }
  });

  it('accepts the boundary values: good = 100, weight 0 beside a positive one, maxPenalty 0 and 100, no modifiers', () => {
    const s = valid();
    s.bands = { good: 100, caution: 0.5 };
    s.components[1].measures[1].weight = 0;
    s.components[0].weight = 0;
    s.modifiers[0].measures[0].maxPenalty = 0;
    expect(validateScorecard(s).ok).toBe(true);
    s.modifiers[0].measures[0].maxPenalty = 100;
    expect(validateScorecard(s).ok).toBe(true);
    s.modifiers = [];
    expect(validateScorecard(s).ok).toBe(true);
  });

  it('accepts y and values at exactly 0 and 1 and negative x / min', () => {
    const s = valid();
    s.components[0].measures[0].normalise = { kind: 'linear', points: [[-5, 0], [0, 1]] };
    s.components[1].measures[1].normalise = { kind: 'thresholds', steps: [{ min: -1, value: 0 }, { min: 0, value: 1 }] };
    s.modifiers[0].measures[0].normalise = { kind: 'boolean', whenTrue: 0, whenFalse: 1 };
    expect(validateScorecard(s).ok).toBe(true);
  });

  describe('rejects, naming the path', () => {
    const cases: [string, unknown, string][] = [
      // root
      ['null', null, '(root): must be an object, got null'],
      ['an array', [], '(root): must be an object, got an array'],
      ['a string', 'scorecard', '(root): must be an object, got a string'],
      ['a missing property', without('name'), 'name: is required'],
      ['an unknown root property', set('owner', 'me'), 'owner: unknown property'],
      ['an empty id', set('id', ''), 'id: must be a non-empty string'],
      ['a blank name', set('name', '   '), 'name: must be a non-empty string'],
      ['a numeric id', set('id', 7), 'id: must be a non-empty string'],
      // version
      ['version 0', set('version', 0), 'version: must be an integer >= 1'],
      ['a fractional version', set('version', 1.5), 'version: must be an integer >= 1'],
      ['a string version', set('version', '1'), 'version: must be an integer >= 1'],
      // segments
      ['no segments', set('segments', []), 'segments: must have at least 1 segment'],
      ['an empty segment', set('segments', ['smb', '']), 'segments[1]: must be a non-empty string'],
      ['a non-string segment', set('segments', [3]), 'segments[0]: must be a non-empty string'],
      ['a duplicate segment', set('segments', ['smb', 'smb']), "segments[1]: duplicate segment 'smb'"],
      ['segments not an array', set('segments', 'smb'), 'segments: must be an array, got a string'],
      // bands
      ['caution 0', set('bands.caution', 0), 'bands.caution: must be > 0, got 0'],
      ['a negative caution', set('bands.caution', -1), 'bands.caution: must be > 0, got -1'],
      ['good above 100', set('bands.good', 101), 'bands.good: must be <= 100, got 101'],
      ['caution = good', set('bands.caution', 70), 'bands.caution: must be < bands.good (70), got 70'],
      ['caution > good', set('bands.caution', 80), 'bands.caution: must be < bands.good (70), got 80'],
      ['a non-numeric band', set('bands.good', '70'), 'bands.good: must be a finite number, got a string'],
      ['a missing band', without('bands.caution'), 'bands.caution: is required'],
      ['an unknown band', set('bands.warning', 50), 'bands.warning: unknown property'],
      // components
      ['no components', set('components', []), 'components: must have at least 1 component'],
      ['a component that is not an object', set('components.0', 'deployment'), 'components[0]: must be an object, got a string'],
      ['an unknown component key', set('components.0.key', 'usage'), "components[0].key: must be one of 'deployment', 'engagement', 'adoption', 'roi', got 'usage'"],
      ['a duplicate component key', set('components.1.key', 'deployment'), "components[1].key: duplicate key 'deployment'"],
      ['an unknown component property', set('components.0.colour', 'red'), 'components[0].colour: unknown property'],
      ['a missing component label', without('components.0.label'), 'components[0].label: is required'],
      ['a negative component weight', set('components.1.weight', -1), 'components[1].weight: must be >= 0'],
      ['a NaN component weight', set('components.1.weight', NaN), 'components[1].weight: must be a finite number, got NaN'],
      ['an infinite component weight', set('components.1.weight', Infinity), 'components[1].weight: must be a finite number, got Infinity'],
      ['all component weights 0', set('components.0.weight', 0, set('components.1.weight', 0)), 'components: at least one component must have a weight > 0'],
      // measures
      ['a component without measures', set('components.0.measures', []), 'components[0].measures: must have at least 1 measure'],
      ['a negative measure weight', set('components.1.measures.0.weight', -0.5), 'components[1].measures[0].weight: must be >= 0'],
      ['a string measure weight', set('components.1.measures.0.weight', '2'), 'components[1].measures[0].weight: must be a finite number, got a string'],
      ['all measure weights 0 in a component', set('components.1.measures.0.weight', 0, set('components.1.measures.1.weight', 0)), 'components[1].measures: at least one measure must have a weight > 0'],
      ['a duplicate measure key', set('components.1.measures.1.key', 'recency'), "components[1].measures[1].key: duplicate key 'recency'"],
      ['an empty measure key', set('components.1.measures.1.key', ''), 'components[1].measures[1].key: must be a non-empty string'],
      ['an empty feature', set('components.0.measures.0.feature', ''), 'components[0].measures[0].feature: must be a non-empty string'],
      ['a missing feature', without('components.0.measures.0.feature'), 'components[0].measures[0].feature: is required'],
      ['an unknown measure property', set('components.0.measures.0.unit', '%'), 'components[0].measures[0].unit: unknown property'],
      // linear
      ['a single linear point', set('components.0.measures.0.normalise.points', [[0, 0]]), 'components[0].measures[0].normalise.points: must have at least 2 points'],
      ['linear points out of order', set('components.0.measures.0.normalise.points', [[1, 0], [0, 1]]), "components[0].measures[0].normalise.points[1][0]: x must be greater than the previous point's x (1), got 0"],
      ['linear points with equal x', set('components.0.measures.0.normalise.points', [[0, 0], [0, 1]]), "components[0].measures[0].normalise.points[1][0]: x must be greater than the previous point's x (0), got 0"],
      ['a linear y above 1', set('components.0.measures.0.normalise.points', [[0, 0], [1, 1.5]]), 'components[0].measures[0].normalise.points[1][1]: must be between 0 and 1, got 1.5'],
      ['a linear y below 0', set('components.0.measures.0.normalise.points', [[0, -0.1], [1, 1]]), 'components[0].measures[0].normalise.points[0][1]: must be between 0 and 1, got -0.1'],
      ['a linear point that is not a pair', set('components.0.measures.0.normalise.points', [[0, 0, 0], [1, 1]]), 'components[0].measures[0].normalise.points[0]: must be an [x, y] pair'],
      ['a non-numeric linear x', set('components.0.measures.0.normalise.points', [['0', 0], [1, 1]]), 'components[0].measures[0].normalise.points[0][0]: must be a finite number, got a string'],
      ['linear points not an array', set('components.0.measures.0.normalise.points', {}), 'components[0].measures[0].normalise.points: must be an array, got an object'],
      ['a linear with steps', set('components.0.measures.0.normalise.steps', []), 'components[0].measures[0].normalise.steps: unknown property'],
      // thresholds
      ['no threshold steps', set('components.1.measures.1.normalise.steps', []), 'components[1].measures[1].normalise.steps: must have at least 1 step'],
      ['threshold steps out of order', set('components.1.measures.1.normalise.steps', [{ min: 10, value: 1 }, { min: 1, value: 0.5 }]), "components[1].measures[1].normalise.steps[1].min: must be greater than the previous step's min (10), got 1"],
      ['threshold steps with equal min', set('components.1.measures.1.normalise.steps', [{ min: 1, value: 0.5 }, { min: 1, value: 1 }]), "components[1].measures[1].normalise.steps[1].min: must be greater than the previous step's min (1), got 1"],
      ['a threshold value above 1', set('components.1.measures.1.normalise.steps.1.value', 2), 'components[1].measures[1].normalise.steps[1].value: must be between 0 and 1, got 2'],
      ['a threshold value below 0', set('components.1.measures.1.normalise.steps.0.value', -1), 'components[1].measures[1].normalise.steps[0].value: must be between 0 and 1, got -1'],
      ['an unknown step property', set('components.1.measures.1.normalise.steps.0.max', 3), 'components[1].measures[1].normalise.steps[0].max: unknown property'],
      ['a step without min', without('components.1.measures.1.normalise.steps.0.min'), 'components[1].measures[1].normalise.steps[0].min: is required'],
      // boolean and kind
      ['a boolean whenTrue above 1', set('modifiers.0.measures.0.normalise.whenTrue', 2), 'modifiers[0].measures[0].normalise.whenTrue: must be between 0 and 1, got 2'],
      ['a boolean whenFalse below 0', set('modifiers.0.measures.0.normalise.whenFalse', -0.1), 'modifiers[0].measures[0].normalise.whenFalse: must be between 0 and 1, got -0.1'],
      ['a boolean without whenFalse', without('modifiers.0.measures.0.normalise.whenFalse'), 'modifiers[0].measures[0].normalise.whenFalse: is required'],
      ['an unknown normalisation kind', set('components.0.measures.0.normalise', { kind: 'log', base: 10 }), "components[0].measures[0].normalise.kind: must be one of 'linear', 'thresholds', 'boolean'"],
      ['a normalisation that is not an object', set('components.0.measures.0.normalise', 'linear'), 'components[0].measures[0].normalise: must be an object, got a string'],
      // modifiers
      ['modifiers not an array', set('modifiers', null), 'modifiers: must be an array, got null'],
      ['an unknown modifier key', set('modifiers.0.key', 'sentiment'), "modifiers[0].key: must be one of 'support', 'billing', got 'sentiment'"],
      ['a duplicate modifier key', set('modifiers.1', valid().modifiers[0]), "modifiers[1].key: duplicate key 'billing'"],
      ['a modifier without measures', set('modifiers.0.measures', []), 'modifiers[0].measures: must have at least 1 measure'],
      ['a negative maxPenalty', set('modifiers.0.measures.0.maxPenalty', -1), 'modifiers[0].measures[0].maxPenalty: must be between 0 and 100, got -1'],
      ['a maxPenalty above 100', set('modifiers.0.measures.0.maxPenalty', 101), 'modifiers[0].measures[0].maxPenalty: must be between 0 and 100, got 101'],
      ['a modifier measure with a weight', set('modifiers.0.measures.0.weight', 1), 'modifiers[0].measures[0].weight: unknown property'],
      ['an empty modifier feature', set('modifiers.0.measures.0.feature', ' '), 'modifiers[0].measures[0].feature: must be a non-empty string'],
      ['a duplicate modifier measure key', set('modifiers.0.measures.1', valid().modifiers[0].measures[0]), "modifiers[0].measures[1].key: duplicate key 'downgraded'"],
      ['an unknown modifier property', set('modifiers.0.weight', 1), 'modifiers[0].weight: unknown property'],
    ];

    it.each(cases)('%s', (_name, input, message) => {
      const r = validateScorecard(input);
      expect(r.ok).toBe(false);
      expect(errorsOf(input)).toContain(message);
    });

    it('reports exactly the one problem for a single defect (no noise)', () => {
      expect(errorsOf(set('components.1.measures.0.weight', -1))).toEqual(['components[1].measures[0].weight: must be >= 0']);
      expect(errorsOf(set('version', 0))).toEqual(['version: must be an integer >= 1']);
    });

    it('reports every problem at once', () => {
      const input = set('version', 0, set('bands.good', 120, set('components.1.measures.0.weight', -1, set('modifiers.0.measures.0.maxPenalty', 200))));
      const errors = errorsOf(input);
      expect(errors).toEqual([
        'version: must be an integer >= 1',
        'bands.good: must be <= 100, got 120',
        'components[1].measures[0].weight: must be >= 0',
        'modifiers[0].measures[0].maxPenalty: must be between 0 and 100, got 200',
      ]);
    });

    it('does not claim "no positive weight" when a weight is itself invalid', () => {
      const errors = errorsOf(set('components.0.weight', 0, set('components.1.weight', -2)));
      expect(errors).toEqual(['components[1].weight: must be >= 0']);
    });
  });
});
