import { HealthBand } from '@kizuna/shared/contracts';
import type { AccountFeatures } from './features';
import type { Normalisation, Scorecard } from './scorecard';

/**
 * The DEAR health score: pure, deterministic, explainable.
 *
 *   base  = 100 × Σ_components (w_c / Σ w_c present) × Σ_measures (w_m / Σ w_m present) × normalised_m
 *   score = clamp(base + Σ modifier penalties, 0, 100), rounded to 2 decimals
 *
 * Missing data is excluded, never counted as 0: a measure without data drops out and the
 * remaining measures of its component share its weight; a component without any (weighted)
 * data drops out and the remaining components share its weight. With no component left the
 * score is null ('insufficient-data').
 *
 * Every point is accounted for: the measures' contributions sum to their component's, the
 * components' to the base, and base + penalties + clampAdjustment = score (contributions are
 * rounded to 2 decimals for display, all sums are computed at full precision).
 */

export interface MeasureResult {
  key: string;
  label: string;
  feature: string;
  raw: number | null;
  normalised: number | null;
  weight: number;
  /** Share of the final 100 points (0..1), 0 when excluded. */
  effectiveWeight: number;
  /** Points, rounded to 2 decimals. */
  contribution: number;
  status: 'ok' | 'no-data';
}

export interface ComponentResult {
  key: string;
  label: string;
  weight: number;
  /** Share of the final 100 points (0..1), 0 when excluded. */
  effectiveWeight: number;
  /** 0..100 within the component (rounded to 2 decimals); null without data. */
  score: number | null;
  /** Points, rounded to 2 decimals (the sum of its measures' at full precision). */
  contribution: number;
  status: 'ok' | 'no-data';
  measures: MeasureResult[];
}

export type ModifierMeasureResult = Omit<MeasureResult, 'weight' | 'effectiveWeight'> & { maxPenalty: number };

export interface ModifierResult {
  key: string;
  label: string;
  /** Points taken off (<= 0), rounded to 2 decimals. */
  contribution: number;
  measures: ModifierMeasureResult[];
}

export interface HealthScore {
  score: number | null;
  band: HealthBand | null;
  status: 'ok' | 'insufficient-data';
  scorecardId: string;
  scorecardVersion: number;
  /** ISO 8601 of the `now` passed in. */
  computedAt: string;
  components: ComponentResult[];
  modifiers: ModifierResult[];
  /** Points added (> 0) or removed (< 0) by clamping to 0..100; 0 when no clamping happened. */
  clampAdjustment: number;
}

export interface Mover {
  /** Component or modifier key. */
  component: string;
  measure: string;
  deltaPoints: number;
}

/** Rounds half away from zero to 2 decimals (symmetric for penalties), never returns -0. */
export function round2(x: number): number {
  const r = (Math.sign(x) * Math.round(Math.abs(x) * 100)) / 100;
  return r === 0 ? 0 : r;
}

/**
 * Maps a raw value to 0..1 (for a validated Normalisation). Throws RangeError on NaN;
 * ±Infinity clamps like any value outside the points.
 */
export function normalise(n: Normalisation, x: number): number {
  if (Number.isNaN(x)) throw new RangeError('normalise: x must be a number, got NaN');
  switch (n.kind) {
    case 'linear': {
      const pts = n.points;
      if (pts.length === 0) return 0;
      const [firstX, firstY] = pts[0];
      const [lastX, lastY] = pts[pts.length - 1];
      if (x <= firstX) return firstY;
      if (x >= lastX) return lastY;
      for (let i = 1; i < pts.length; i++) {
        const [x1, y1] = pts[i];
        if (x <= x1) {
          const [x0, y0] = pts[i - 1];
          if (x === x1) return y1;
          return y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
        }
      }
      return lastY;
    }
    case 'thresholds': {
      let value = 0;
      for (const step of n.steps) {
        if (step.min <= x) value = step.value;
        else break;
      }
      return value;
    }
    case 'boolean':
      return x !== 0 ? n.whenTrue : n.whenFalse;
  }
}

/** Band of a score for a scorecard's thresholds (inclusive lower bounds). */
export function bandForScore(score: number, bands: Scorecard['bands']): HealthBand {
  if (score >= bands.good) return HealthBand.Good;
  if (score >= bands.caution) return HealthBand.Caution;
  return HealthBand.Danger;
}

/** The value of a feature, or null when there is no usable data (missing, null, NaN, ±Infinity). */
function read(features: AccountFeatures, feature: string): number | null {
  if (!Object.prototype.hasOwnProperty.call(features, feature)) return null;
  const v = features[feature];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** now.toISOString(), remembered for the last instant asked (a rescore scores many accounts at one `now`). */
let lastIso: { time: number; iso: string } | undefined;
function isoOf(now: Date): string {
  const time = now.getTime();
  if (lastIso?.time !== time) lastIso = { time, iso: now.toISOString() };
  return lastIso.iso;
}

/**
 * Scores one account with a (validated) scorecard. Pure and deterministic: the same features,
 * scorecard and `now` give the same result.
 */
export function scoreAccount(features: AccountFeatures, scorecard: Scorecard, now: Date): HealthScore {
  // Pass 1, full precision: each component's weighted mean of its measures with data (0..1). Sums are
  // accumulated left to right from 0, terms without data as 0 (as a reduce over the mapped array would).
  const components = scorecard.components.map((def) => {
    const measures = def.measures.map((m) => {
      const raw = read(features, m.feature);
      return { def: m, raw, normalised: raw === null ? null : normalise(m.normalise, raw) };
    });
    let presentWeight = 0;
    for (const m of measures) if (m.normalised !== null) presentWeight += m.def.weight;
    // A component counts only if it has data on at least one measure with a positive weight.
    let mean: number | null = null;
    if (presentWeight > 0) {
      mean = 0;
      for (const m of measures) mean += m.normalised === null ? 0 : (m.def.weight / presentWeight) * m.normalised;
    }
    return { def, measures, presentWeight, mean };
  });
  let presentComponentWeight = 0;
  for (const c of components) if (c.mean !== null) presentComponentWeight += c.def.weight;
  const hasBase = presentComponentWeight > 0;

  // Pass 2: effective weights and contributions.
  let base = 0;
  const componentResults: ComponentResult[] = components.map((c) => {
    const componentShare = hasBase && c.mean !== null ? c.def.weight / presentComponentWeight : 0;
    let componentPoints = 0;
    const measures: MeasureResult[] = c.measures.map((m) => {
      const effectiveWeight = componentShare > 0 && m.normalised !== null ? componentShare * (m.def.weight / c.presentWeight) : 0;
      const points = m.normalised === null ? 0 : 100 * effectiveWeight * m.normalised;
      componentPoints += points;
      return {
        key: m.def.key,
        label: m.def.label,
        feature: m.def.feature,
        raw: m.raw,
        normalised: m.normalised,
        weight: m.def.weight,
        effectiveWeight,
        contribution: round2(points),
        status: m.normalised === null ? 'no-data' : 'ok',
      };
    });
    base += componentPoints;
    return {
      key: c.def.key,
      label: c.def.label,
      weight: c.def.weight,
      effectiveWeight: componentShare,
      score: c.mean === null ? null : round2(100 * c.mean),
      contribution: round2(componentPoints),
      status: c.mean === null ? 'no-data' : 'ok',
      measures,
    };
  });

  // Modifiers take points off only when there is a base score to take them from.
  let penalties = 0;
  const modifierResults: ModifierResult[] = scorecard.modifiers.map((mod) => {
    let modifierPoints = 0;
    const measures: ModifierMeasureResult[] = mod.measures.map((m) => {
      const raw = read(features, m.feature);
      const normalised = raw === null ? null : normalise(m.normalise, raw);
      const points = hasBase && normalised !== null ? -m.maxPenalty * normalised : 0;
      modifierPoints += points;
      return {
        key: m.key,
        label: m.label,
        feature: m.feature,
        raw,
        normalised,
        maxPenalty: m.maxPenalty,
        contribution: round2(points),
        status: normalised === null ? 'no-data' : 'ok',
      };
    });
    penalties += modifierPoints;
    return { key: mod.key, label: mod.label, contribution: round2(modifierPoints), measures };
  });

  const common = {
    scorecardId: scorecard.id,
    scorecardVersion: scorecard.version,
    computedAt: isoOf(now),
    components: componentResults,
    modifiers: modifierResults,
  };
  if (!hasBase) {
    return { score: null, band: null, status: 'insufficient-data', ...common, clampAdjustment: 0 };
  }
  const unclamped = base + penalties;
  const clamped = Math.min(100, Math.max(0, unclamped));
  const score = round2(clamped);
  return {
    score,
    band: bandForScore(score, scorecard.bands),
    status: 'ok',
    ...common,
    clampAdjustment: round2(clamped - unclamped),
  };
}

/**
 * The measures whose contribution moved the most between two scores of the same account
 * (components and modifiers alike). A measure absent from `previous` (or no previous score at
 * all) counts from 0; one absent from `next` (e.g. the scorecard changed) counts to 0.
 * Sorted by |delta| descending, ties by component key then measure key; zero deltas left out.
 */
export function topMovers(previous: HealthScore | undefined, next: HealthScore, limit = 3): Mover[] {
  const movers: Mover[] = [];
  const add = (component: string, measure: string, after: number, before: number): void => {
    const deltaPoints = round2(after - before);
    if (deltaPoints !== 0) movers.push({ component, measure, deltaPoints });
  };
  const nextGroups = [...next.components, ...next.modifiers];
  const prevGroups = previous ? [...previous.components, ...previous.modifiers] : [];
  if (!previous || sameMeasures(prevGroups, nextGroups)) {
    // The common case (the same scorecard, or none before): measures matched by position.
    nextGroups.forEach((group, g) => group.measures.forEach((m, i) => add(group.key, m.key, m.contribution, prevGroups[g]?.measures[i]?.contribution ?? 0)));
  } else {
    const before = new Map<string, { component: string; measure: string; points: number }>();
    for (const group of prevGroups) for (const m of group.measures) before.set(`${group.key}\u0000${m.key}`, { component: group.key, measure: m.key, points: m.contribution });
    for (const group of nextGroups) {
      for (const m of group.measures) {
        const id = `${group.key}\u0000${m.key}`;
        add(group.key, m.key, m.contribution, before.get(id)?.points ?? 0);
        before.delete(id);
      }
    }
    for (const b of before.values()) add(b.component, b.measure, 0, b.points); // measures the new scorecard dropped
  }
  const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  movers.sort(
    (x, y) => Math.abs(y.deltaPoints) - Math.abs(x.deltaPoints) || cmp(x.component, y.component) || cmp(x.measure, y.measure),
  );
  return movers.slice(0, Math.max(0, Math.floor(limit)));
}

/** The same groups and measures, by key, in the same order. */
function sameMeasures(a: { key: string; measures: { key: string }[] }[], b: { key: string; measures: { key: string }[] }[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((g, i) => {
    const h = b[i];
    return h !== undefined && g.key === h.key && g.measures.length === h.measures.length && g.measures.every((m, j) => m.key === h.measures[j]?.key);
  });
}
