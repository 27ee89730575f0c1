import { ContractSize, HealthBand, TouchModel } from '@kizuna/shared/contracts';

/**
 * Lifecycle rules: the numbers and lists the phase state machine, the segments and the touch
 * model read. They are DATA (stored as JSON, editable, passed into every pure function), never
 * constants buried in code. `validateLifecycleRules` is the gate every rule set coming from
 * outside (API body, database row, seed file) goes through before the machine may use it.
 *
 * All day counts are whole days of 24 hours measured from an instant (not calendar days).
 */

/** One onboarding milestone: a product event (track call name) to reach within `targetDays` of the onboarding start. */
export interface MilestoneRule {
  /** The product event name that marks the milestone, e.g. "Workspace Created" (exact, case-sensitive). */
  event: string;
  /** Days from the onboarding start by which it is due (integer >= 1); missing it then means "onboarding stalled". */
  targetDays: number;
}

export interface LifecycleRules {
  onboarding: {
    /**
     * Milestones per contract size; onboarding is complete when every milestone of the account's
     * CURRENT contract size is done (since the last reset). An empty list means no onboarding.
     */
    milestones: Record<ContractSize, MilestoneRule[]>;
    /** Which contract size's milestones apply while the size is unknown (no ARR and no plan yet). */
    unknownSize: ContractSize;
  };
  renewal: {
    /** The renewal window opens this many days before the renewal date (integer >= 1). */
    windowDays: number;
    /**
     * Days after the renewal date during which an unrenewed, uncancelled account stays in renewal
     * (integer >= 0). Past that the renewal date is taken as stale and the window closes.
     */
    graceDays: number;
  };
  expansion: {
    /** Days an account stays in expansion after its latest upgrade or seat growth (integer >= 0; 0: never). */
    days: number;
  };
  retention: {
    /** Health bands that put an account in retention (at risk). Empty: health never does. */
    riskBands: HealthBand[];
    /**
     * Days a churned account that is reactivated spends in retention (win-back) before the
     * other rules decide (integer >= 0; 0: straight to whatever the facts say).
     */
    reactivationDays: number;
  };
  usage: {
    /** Usage status is "new" for this many days after the account's start (integer >= 0). */
    newDays: number;
    /** "dormant" after this many days without product activity (integer >= 1). */
    dormantDays: number;
  };
  contractSize: {
    /** ARR at or above this is enterprise; above 0 (and below this) smb; 0 freemium (number > 0). */
    enterpriseMinArr: number;
    /** A plan whose name contains one of these (case-insensitive) is freemium whatever its ARR. */
    freemiumPlans: string[];
  };
  touchModel: {
    /** ARR at or above this: high touch (number > lowMinArr). */
    highMinArr: number;
    /** ARR at or above this (and below highMinArr): low touch; below: tech touch (number > 0). */
    lowMinArr: number;
    /** Touch model of a freemium account (trial/free plan or ARR 0), whatever its ARR. */
    freemium: TouchModel;
    /** Touch model while the ARR is unknown. */
    unknownArr: TouchModel;
    /**
     * Health bands that shift the touch model one step up (tech → low, low → high; high stays
     * high) for as long as the account is in them; it shifts back when health recovers.
     * Empty: no shift.
     */
    shiftBands: HealthBand[];
  };
  nps: {
    /** Scores from this up to 10 are promoters (integer, passiveMin < promoterMin <= 10). */
    promoterMin: number;
    /** Scores from this up to promoterMin - 1 are passives; below it detractors (integer >= 1). */
    passiveMin: number;
  };
}

const ms = (event: string, targetDays: number): MilestoneRule => ({ event, targetDays });

/**
 * Starting values: sensible defaults, not truths. Every segment shares the same three milestones
 * so that a change of contract size never sends an adopted account back to onboarding; smaller
 * segments are expected to get there faster.
 */
export const DEFAULT_LIFECYCLE_RULES: LifecycleRules = {
  onboarding: {
    milestones: {
      [ContractSize.Enterprise]: [ms('Workspace Created', 7), ms('Teammate Invited', 14), ms('First Report Shared', 30)],
      [ContractSize.Smb]: [ms('Workspace Created', 3), ms('Teammate Invited', 7), ms('First Report Shared', 14)],
      [ContractSize.Freemium]: [ms('Workspace Created', 1), ms('Teammate Invited', 3), ms('First Report Shared', 7)],
    },
    unknownSize: ContractSize.Smb,
  },
  renewal: { windowDays: 90, graceDays: 30 },
  expansion: { days: 90 },
  retention: { riskBands: [HealthBand.Danger], reactivationDays: 30 },
  usage: { newDays: 14, dormantDays: 30 },
  contractSize: { enterpriseMinArr: 100_000, freemiumPlans: ['trial', 'free'] },
  touchModel: {
    highMinArr: 50_000,
    lowMinArr: 10_000,
    freemium: TouchModel.Tech,
    unknownArr: TouchModel.Tech,
    shiftBands: [HealthBand.Danger],
  },
  nps: { promoterMin: 9, passiveMin: 7 },
};

/** The milestones an account of this contract size (or unknown: the rules' fallback) must reach. */
export function milestonesFor(rules: LifecycleRules, size: ContractSize | undefined): MilestoneRule[] {
  return rules.onboarding.milestones[size ?? rules.onboarding.unknownSize];
}

/** Every event name that is a milestone of some contract size (what the machine records). */
export function milestoneEvents(rules: LifecycleRules): Set<string> {
  const names = new Set<string>();
  for (const size of Object.values(ContractSize)) for (const m of rules.onboarding.milestones[size]) names.add(m.event);
  return names;
}

// ---- Validation ------------------------------------------------------------------------------

export type LifecycleRulesValidation = { ok: true; rules: LifecycleRules } | { ok: false; errors: string[] };

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

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const quoted = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

/** Collects `path: message` errors; paths look like `onboarding.milestones.smb[1].targetDays`. */
class Checker {
  readonly errors: string[] = [];

  error(path: string, message: string): void {
    this.errors.push(`${path || '(root)'}: ${message}`);
  }

  /** An object with exactly these keys (missing and unknown ones reported). */
  object(v: unknown, path: string, keys: readonly string[]): v is Json {
    if (!isRecord(v)) {
      this.error(path, `must be an object, got ${describeValue(v)}`);
      return false;
    }
    for (const k of keys) if (!(k in v) || v[k] === undefined) this.error(at(path, k), 'is required');
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.error(at(path, k), 'unknown property');
    return true;
  }

  /** An integer >= min; returns it when valid (missing values are reported by `object`). */
  integer(v: unknown, path: string, min: number): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.error(path, `must be an integer >= ${min}, got ${typeof v === 'number' ? v : describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  /** A finite number > 0. */
  positive(v: unknown, path: string): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(path, `must be a finite number, got ${describeValue(v)}`);
      return undefined;
    }
    if (v <= 0) {
      this.error(path, `must be > 0, got ${v}`);
      return undefined;
    }
    return v;
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') {
      this.error(path, 'must be a non-empty string');
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.error(path, `must be one of ${quoted(allowed)}, got ${typeof v === 'string' ? `'${v}'` : describeValue(v)}`);
      return undefined;
    }
    return v as T;
  }

  array(v: unknown, path: string): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.error(path, `must be an array, got ${describeValue(v)}`);
      return [];
    }
    return v;
  }

  /** An array of distinct values from `allowed`. */
  setOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): void {
    const seen = new Set<string>();
    this.array(v, path).forEach((item, i) => {
      const value = this.oneOf(item, `${path}[${i}]`, allowed);
      if (value === undefined) return;
      if (seen.has(value)) this.error(`${path}[${i}]`, `duplicate '${value}'`);
      seen.add(value);
    });
  }
}

const SIZES = Object.values(ContractSize);
const BANDS = Object.values(HealthBand);
const TOUCH_MODELS = Object.values(TouchModel);

function checkMilestones(c: Checker, v: unknown, path: string): void {
  const seen = new Set<string>();
  c.array(v, path).forEach((m, i) => {
    const mp = `${path}[${i}]`;
    if (!c.object(m, mp, ['event', 'targetDays'])) return;
    const event = c.string(m['event'], at(mp, 'event'));
    c.integer(m['targetDays'], at(mp, 'targetDays'), 1);
    if (event === undefined) return;
    if (seen.has(event)) c.error(at(mp, 'event'), `duplicate milestone '${event}'`);
    seen.add(event);
  });
}

/**
 * Validates untrusted input as LifecycleRules. Reports every problem found, each as
 * `path: message` (e.g. `renewal.windowDays: must be an integer >= 1, got 0`). Unknown properties
 * are rejected at every level. On success returns a deep copy (plain data, detached from the input).
 */
export function validateLifecycleRules(input: unknown): LifecycleRulesValidation {
  const c = new Checker();
  const sections = ['onboarding', 'renewal', 'expansion', 'retention', 'usage', 'contractSize', 'touchModel', 'nps'];
  if (!c.object(input, '', sections)) return { ok: false, errors: c.errors };

  const onboarding = input['onboarding'];
  if (onboarding !== undefined && c.object(onboarding, 'onboarding', ['milestones', 'unknownSize'])) {
    const milestones = onboarding['milestones'];
    if (milestones !== undefined && c.object(milestones, 'onboarding.milestones', SIZES)) {
      for (const size of SIZES) {
        if (milestones[size] !== undefined) checkMilestones(c, milestones[size], `onboarding.milestones.${size}`);
      }
    }
    c.oneOf(onboarding['unknownSize'], 'onboarding.unknownSize', SIZES);
  }

  const renewal = input['renewal'];
  if (renewal !== undefined && c.object(renewal, 'renewal', ['windowDays', 'graceDays'])) {
    c.integer(renewal['windowDays'], 'renewal.windowDays', 1);
    c.integer(renewal['graceDays'], 'renewal.graceDays', 0);
  }

  const expansion = input['expansion'];
  if (expansion !== undefined && c.object(expansion, 'expansion', ['days'])) {
    c.integer(expansion['days'], 'expansion.days', 0);
  }

  const retention = input['retention'];
  if (retention !== undefined && c.object(retention, 'retention', ['riskBands', 'reactivationDays'])) {
    c.setOf(retention['riskBands'], 'retention.riskBands', BANDS);
    c.integer(retention['reactivationDays'], 'retention.reactivationDays', 0);
  }

  const usage = input['usage'];
  if (usage !== undefined && c.object(usage, 'usage', ['newDays', 'dormantDays'])) {
    c.integer(usage['newDays'], 'usage.newDays', 0);
    c.integer(usage['dormantDays'], 'usage.dormantDays', 1);
  }

  const size = input['contractSize'];
  if (size !== undefined && c.object(size, 'contractSize', ['enterpriseMinArr', 'freemiumPlans'])) {
    c.positive(size['enterpriseMinArr'], 'contractSize.enterpriseMinArr');
    const seen = new Set<string>();
    c.array(size['freemiumPlans'], 'contractSize.freemiumPlans').forEach((p, i) => {
      const plan = c.string(p, `contractSize.freemiumPlans[${i}]`);
      if (plan === undefined) return;
      const key = plan.toLowerCase();
      if (seen.has(key)) c.error(`contractSize.freemiumPlans[${i}]`, `duplicate plan pattern '${plan}'`);
      seen.add(key);
    });
  }

  const touch = input['touchModel'];
  if (touch !== undefined && c.object(touch, 'touchModel', ['highMinArr', 'lowMinArr', 'freemium', 'unknownArr', 'shiftBands'])) {
    const high = c.positive(touch['highMinArr'], 'touchModel.highMinArr');
    const low = c.positive(touch['lowMinArr'], 'touchModel.lowMinArr');
    if (high !== undefined && low !== undefined && low >= high) {
      c.error('touchModel.lowMinArr', `must be < touchModel.highMinArr (${high}), got ${low}`);
    }
    c.oneOf(touch['freemium'], 'touchModel.freemium', TOUCH_MODELS);
    c.oneOf(touch['unknownArr'], 'touchModel.unknownArr', TOUCH_MODELS);
    c.setOf(touch['shiftBands'], 'touchModel.shiftBands', BANDS);
  }

  const nps = input['nps'];
  if (nps !== undefined && c.object(nps, 'nps', ['promoterMin', 'passiveMin'])) {
    const promoter = c.integer(nps['promoterMin'], 'nps.promoterMin', 1);
    const passive = c.integer(nps['passiveMin'], 'nps.passiveMin', 1);
    if (promoter !== undefined && promoter > 10) c.error('nps.promoterMin', `must be <= 10, got ${promoter}`);
    if (promoter !== undefined && passive !== undefined && passive >= promoter) {
      c.error('nps.passiveMin', `must be < nps.promoterMin (${promoter}), got ${passive}`);
    }
  }

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return { ok: true, rules: structuredClone(input) as unknown as LifecycleRules };
}
