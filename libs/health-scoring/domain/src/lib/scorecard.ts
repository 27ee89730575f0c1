/**
 * DEAR scorecards (Deployment, Engagement, Adoption, ROI, plus support and billing modifiers).
 *
 * A scorecard is DATA: stored as JSON, edited through an API and versioned. Nothing here knows
 * where it is stored; `validateScorecard` is the gate every scorecard coming from outside
 * (API body, database row, seed file) goes through before `scoreAccount` may use it.
 */

/**
 * How a raw feature value becomes a 0..1 quality (for components) or a 0..1 share of the
 * maximum penalty (for modifiers).
 *
 * - `linear`: piecewise linear through the (x, y) points; x strictly increasing, y in [0, 1];
 *   clamped to the first/last y outside the points.
 * - `thresholds`: the value of the highest step whose `min` <= x (steps sorted strictly by
 *   `min`); below the first step: 0.
 * - `boolean`: `whenTrue` if x !== 0, else `whenFalse`.
 */
export type Normalisation =
  | { kind: 'linear'; points: [number, number][] }
  | { kind: 'thresholds'; steps: { min: number; value: number }[] }
  | { kind: 'boolean'; whenTrue: number; whenFalse: number };

export const COMPONENT_KEYS = ['deployment', 'engagement', 'adoption', 'roi'] as const;
export type ComponentKey = (typeof COMPONENT_KEYS)[number];

export const MODIFIER_KEYS = ['support', 'billing'] as const;
export type ModifierKey = (typeof MODIFIER_KEYS)[number];

export interface MeasureDef {
  key: string;
  label: string;
  /** Name of the account feature read (see FEATURES). */
  feature: string;
  /** Relative weight within its component (>= 0). */
  weight: number;
  normalise: Normalisation;
}

export interface ComponentDef {
  key: ComponentKey;
  label: string;
  /** Relative weight within the scorecard (>= 0). */
  weight: number;
  measures: MeasureDef[];
}

export interface ModifierMeasureDef {
  key: string;
  label: string;
  feature: string;
  /** Points (0..100) taken off the score when the normalised value is 1. */
  maxPenalty: number;
  /** Normalised 0..1 = share of maxPenalty points taken off. */
  normalise: Normalisation;
}

export interface ModifierDef {
  key: ModifierKey;
  label: string;
  measures: ModifierMeasureDef[];
}

export interface Scorecard {
  id: string;
  /** Integer >= 1; bumped on every edit (a stored score names the version it was computed with). */
  version: number;
  name: string;
  /** Account segments this scorecard applies to (see scorecardForSegment). */
  segments: string[];
  /** score >= good: good; score >= caution: caution; else danger. 0 < caution < good <= 100. */
  bands: { good: number; caution: number };
  components: ComponentDef[];
  modifiers: ModifierDef[];
}

export type ScorecardValidation = { ok: true; scorecard: Scorecard } | { ok: false; errors: string[] };

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Collects `path: message` errors; paths look like `components[1].measures[0].weight`. */
class Checker {
  readonly errors: string[] = [];

  error(path: string, message: string): void {
    this.errors.push(`${path || '(root)'}: ${message}`);
  }

  /** An object with exactly the allowed keys (missing required ones and unknown ones reported). */
  object(v: unknown, path: string, required: readonly string[]): v is Json {
    if (!isRecord(v)) {
      this.error(path, `must be an object, got ${describeValue(v)}`);
      return false;
    }
    for (const k of required) if (!(k in v) || v[k] === undefined) this.error(at(path, k), 'is required');
    for (const k of Object.keys(v)) if (!required.includes(k)) this.error(at(path, k), 'unknown property');
    return true;
  }

  /** A finite number; reports and returns undefined otherwise (missing values are reported by `object`). */
  number(v: unknown, path: string): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(path, `must be a finite number, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  unitInterval(v: unknown, path: string): number | undefined {
    const n = this.number(v, path);
    if (n !== undefined && (n < 0 || n > 1)) this.error(path, `must be between 0 and 1, got ${n}`);
    return n;
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') {
      this.error(path, 'must be a non-empty string');
      return undefined;
    }
    return v;
  }

  array(v: unknown, path: string, minItems: number, what: string): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.error(path, `must be an array, got ${describeValue(v)}`);
      return [];
    }
    if (v.length < minItems) this.error(path, `must have at least ${minItems} ${what}${minItems === 1 ? '' : 's'}`);
    return v;
  }

  /** Keys must be non-empty strings, unique within their list. */
  uniqueKeys(items: unknown[], path: string, allowed?: readonly string[]): void {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (!isRecord(item)) return;
      const p = `${path}[${i}].key`;
      const key = this.string(item['key'], p);
      if (key === undefined) return;
      if (allowed && !allowed.includes(key)) {
        this.error(p, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${key}'`);
      } else if (seen.has(key)) {
        this.error(p, `duplicate key '${key}'`);
      }
      seen.add(key);
    });
  }
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const NORMALISATION_FIELDS = {
  linear: ['kind', 'points'],
  thresholds: ['kind', 'steps'],
  boolean: ['kind', 'whenTrue', 'whenFalse'],
} as const;

function checkNormalisation(c: Checker, v: unknown, path: string): void {
  if (!isRecord(v)) {
    c.error(path, `must be an object, got ${describeValue(v)}`);
    return;
  }
  const kind = v['kind'];
  if (kind !== 'linear' && kind !== 'thresholds' && kind !== 'boolean') {
    c.error(at(path, 'kind'), `must be one of 'linear', 'thresholds', 'boolean'`);
    return;
  }
  c.object(v, path, NORMALISATION_FIELDS[kind]);
  if (kind === 'linear') {
    const pointsPath = at(path, 'points');
    const points = c.array(v['points'], pointsPath, 2, 'point');
    let previousX: number | undefined;
    points.forEach((p, i) => {
      const pp = `${pointsPath}[${i}]`;
      if (!Array.isArray(p) || p.length !== 2) {
        c.error(pp, 'must be an [x, y] pair');
        previousX = undefined;
        return;
      }
      const x = c.number(p[0], `${pp}[0]`);
      c.unitInterval(p[1], `${pp}[1]`);
      if (x !== undefined && previousX !== undefined && x <= previousX) {
        c.error(`${pp}[0]`, `x must be greater than the previous point's x (${previousX}), got ${x}`);
      }
      previousX = x;
    });
  } else if (kind === 'thresholds') {
    const stepsPath = at(path, 'steps');
    const steps = c.array(v['steps'], stepsPath, 1, 'step');
    let previousMin: number | undefined;
    steps.forEach((s, i) => {
      const sp = `${stepsPath}[${i}]`;
      if (!c.object(s, sp, ['min', 'value'])) {
        previousMin = undefined;
        return;
      }
      const min = c.number(s['min'], at(sp, 'min'));
      c.unitInterval(s['value'], at(sp, 'value'));
      if (min !== undefined && previousMin !== undefined && min <= previousMin) {
        c.error(at(sp, 'min'), `must be greater than the previous step's min (${previousMin}), got ${min}`);
      }
      previousMin = min;
    });
  } else {
    c.unitInterval(v['whenTrue'], at(path, 'whenTrue'));
    c.unitInterval(v['whenFalse'], at(path, 'whenFalse'));
  }
}

/** Checks a weight and returns it when valid (finite, >= 0), else undefined. */
function checkWeight(c: Checker, v: unknown, path: string): number | undefined {
  const w = c.number(v, path);
  if (w === undefined) return undefined;
  if (w < 0) {
    c.error(path, 'must be >= 0');
    return undefined;
  }
  return w;
}

function checkComponent(c: Checker, v: unknown, path: string): number | undefined {
  if (!c.object(v, path, ['key', 'label', 'weight', 'measures'])) return undefined;
  c.string(v['label'], at(path, 'label'));
  const weight = checkWeight(c, v['weight'], at(path, 'weight'));
  const measuresPath = at(path, 'measures');
  const measures = c.array(v['measures'], measuresPath, 1, 'measure');
  c.uniqueKeys(measures, measuresPath);
  let positive = false;
  let allWeightsValid = true;
  measures.forEach((m, i) => {
    const mp = `${measuresPath}[${i}]`;
    if (!c.object(m, mp, ['key', 'label', 'feature', 'weight', 'normalise'])) {
      allWeightsValid = false;
      return;
    }
    c.string(m['label'], at(mp, 'label'));
    c.string(m['feature'], at(mp, 'feature'));
    const w = checkWeight(c, m['weight'], at(mp, 'weight'));
    if (w === undefined) allWeightsValid = false;
    else if (w > 0) positive = true;
    if (m['normalise'] !== undefined) checkNormalisation(c, m['normalise'], at(mp, 'normalise'));
  });
  if (measures.length > 0 && allWeightsValid && !positive) {
    c.error(measuresPath, 'at least one measure must have a weight > 0');
  }
  return weight;
}

function checkModifier(c: Checker, v: unknown, path: string): void {
  if (!c.object(v, path, ['key', 'label', 'measures'])) return;
  c.string(v['label'], at(path, 'label'));
  const measuresPath = at(path, 'measures');
  const measures = c.array(v['measures'], measuresPath, 1, 'measure');
  c.uniqueKeys(measures, measuresPath);
  measures.forEach((m, i) => {
    const mp = `${measuresPath}[${i}]`;
    if (!c.object(m, mp, ['key', 'label', 'feature', 'maxPenalty', 'normalise'])) return;
    c.string(m['label'], at(mp, 'label'));
    c.string(m['feature'], at(mp, 'feature'));
    const max = c.number(m['maxPenalty'], at(mp, 'maxPenalty'));
    if (max !== undefined && (max < 0 || max > 100)) c.error(at(mp, 'maxPenalty'), `must be between 0 and 100, got ${max}`);
    if (m['normalise'] !== undefined) checkNormalisation(c, m['normalise'], at(mp, 'normalise'));
  });
}

/**
 * Validates untrusted input (API body, stored JSON) as a Scorecard. Reports every problem found,
 * each as `path: message` (e.g. `components[1].measures[0].weight: must be >= 0`). Unknown
 * properties are rejected at every level. On success returns a deep copy (plain data, detached
 * from the input).
 */
export function validateScorecard(input: unknown): ScorecardValidation {
  const c = new Checker();
  if (!c.object(input, '', ['id', 'version', 'name', 'segments', 'bands', 'components', 'modifiers'])) {
    return { ok: false, errors: c.errors };
  }
  c.string(input['id'], 'id');
  c.string(input['name'], 'name');

  const version = input['version'];
  if (version !== undefined && (typeof version !== 'number' || !Number.isInteger(version) || version < 1)) {
    c.error('version', 'must be an integer >= 1');
  }

  const segments = c.array(input['segments'], 'segments', 1, 'segment');
  const seenSegments = new Set<string>();
  segments.forEach((s, i) => {
    const seg = c.string(s, `segments[${i}]`);
    if (seg === undefined && s === undefined) c.error(`segments[${i}]`, 'must be a non-empty string');
    if (seg !== undefined && seenSegments.has(seg)) c.error(`segments[${i}]`, `duplicate segment '${seg}'`);
    if (seg !== undefined) seenSegments.add(seg);
  });

  const bands = input['bands'];
  if (bands !== undefined && c.object(bands, 'bands', ['good', 'caution'])) {
    const good = c.number(bands['good'], 'bands.good');
    const caution = c.number(bands['caution'], 'bands.caution');
    if (caution !== undefined && caution <= 0) c.error('bands.caution', `must be > 0, got ${caution}`);
    if (good !== undefined && good > 100) c.error('bands.good', `must be <= 100, got ${good}`);
    if (good !== undefined && caution !== undefined && caution >= good) {
      c.error('bands.caution', `must be < bands.good (${good}), got ${caution}`);
    }
  }

  const components = c.array(input['components'], 'components', 1, 'component');
  c.uniqueKeys(components, 'components', COMPONENT_KEYS);
  let positive = false;
  let allWeightsValid = true;
  components.forEach((comp, i) => {
    const w = checkComponent(c, comp, `components[${i}]`);
    if (w === undefined) allWeightsValid = false;
    else if (w > 0) positive = true;
  });
  if (components.length > 0 && allWeightsValid && !positive) {
    c.error('components', 'at least one component must have a weight > 0');
  }

  const modifiers = c.array(input['modifiers'], 'modifiers', 0, 'modifier');
  c.uniqueKeys(modifiers, 'modifiers', MODIFIER_KEYS);
  modifiers.forEach((m, i) => checkModifier(c, m, `modifiers[${i}]`));

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return { ok: true, scorecard: structuredClone(input) as unknown as Scorecard };
}
