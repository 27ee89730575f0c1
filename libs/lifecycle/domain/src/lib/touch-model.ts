import { ContractSize, HealthBand, TouchModel } from '@kizuna/shared/contracts';
import type { LifecycleRules } from './lifecycle-rules';

/**
 * Touch model: how much human attention an account gets (high: a named CSM; low: pooled CSMs and
 * programmes; tech: automated, one-to-many).
 *
 *   base  = freemium contract size  → rules.freemium
 *           ARR >= highMinArr       → high
 *           ARR >= lowMinArr        → low
 *           ARR known (below)       → tech
 *           ARR unknown             → rules.unknownArr
 *   final = base shifted one step up (tech → low → high) while the health band is one of
 *           rules.shiftBands; back to base as soon as it is not (the shift is derived, never stored).
 */

export interface TouchModelFacts {
  arr: number | null;
  contractSize: ContractSize | undefined;
  healthBand: HealthBand | null;
}

export interface TouchModelDecision {
  touchModel: TouchModel;
  /** Before the health shift. */
  base: TouchModel;
  /** The band that shifted it, or null when no shift applies. */
  shiftedBy: HealthBand | null;
  /** Human-readable: which threshold and which shift, e.g. "ARR 20000 >= 10000: low; health danger shifts low → high". */
  reason: string;
}

/** One step more human attention: tech → low → high (high stays high). */
export function shiftUp(model: TouchModel): TouchModel {
  if (model === TouchModel.Tech) return TouchModel.Low;
  return TouchModel.High;
}

export function decideTouchModel(f: TouchModelFacts, rules: LifecycleRules['touchModel']): TouchModelDecision {
  let base: TouchModel;
  let reason: string;
  if (f.contractSize === ContractSize.Freemium) {
    base = rules.freemium;
    reason = `freemium contract size: ${base}`;
  } else if (f.arr === null) {
    base = rules.unknownArr;
    reason = `ARR unknown: ${base}`;
  } else if (f.arr >= rules.highMinArr) {
    base = TouchModel.High;
    reason = `ARR ${f.arr} >= ${rules.highMinArr}: high`;
  } else if (f.arr >= rules.lowMinArr) {
    base = TouchModel.Low;
    reason = `ARR ${f.arr} >= ${rules.lowMinArr}: low`;
  } else {
    base = TouchModel.Tech;
    reason = `ARR ${f.arr} < ${rules.lowMinArr}: tech`;
  }
  if (f.healthBand !== null && rules.shiftBands.includes(f.healthBand)) {
    const shifted = shiftUp(base);
    reason += shifted === base ? `; health ${f.healthBand} (already ${base})` : `; health ${f.healthBand} shifts ${base} → ${shifted}`;
    return { touchModel: shifted, base, shiftedBy: f.healthBand, reason };
  }
  return { touchModel: base, base, shiftedBy: null, reason };
}

export function touchModelOf(f: TouchModelFacts, rules: LifecycleRules['touchModel']): TouchModel {
  return decideTouchModel(f, rules).touchModel;
}
