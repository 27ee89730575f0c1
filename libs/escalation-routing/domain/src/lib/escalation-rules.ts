import { ESCALATION_PRIORITIES, EscalationReason, type EscalationPriority } from '@kizuna/shared/contracts';
import { isValidTimeZone, type BusinessHours } from './business-hours';

/** The rules that open escalations, by name (the name is recorded on every decision). */
export const RULE_NAMES = [
  'repeatInquiries', 'atRiskContact', 'negativeSentiment', 'agentFlagged', 'usageStalled', 'expansionSignal', 'onboardingStalled',
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** The reason (dedup key with the account) each rule opens escalations under. */
export const RULE_REASON: Record<RuleName, EscalationReason> = {
  repeatInquiries: EscalationReason.RepeatInquiries,
  atRiskContact: EscalationReason.AtRiskContact,
  negativeSentiment: EscalationReason.NegativeSentiment,
  agentFlagged: EscalationReason.AgentFlagged,
  usageStalled: EscalationReason.UsageStalled,
  expansionSignal: EscalationReason.ExpansionSignal,
  onboardingStalled: EscalationReason.OnboardingStalled,
};

interface RuleBase {
  enabled: boolean;
  priority: EscalationPriority;
}

export interface EscalationRuleDefinitions {
  /** N tickets or calls in the same category within D days. */
  repeatInquiries: RuleBase & { count: number; windowDays: number };
  /** A support contact from a danger-band account, or from a caution-band account with ARR >= cautionMinArr. */
  atRiskContact: RuleBase & { dangerBand: boolean; cautionMinArr: number };
  /** Complaints, strongly negative calls, CSAT <= x on a ticket or survey, an NPS detractor with a comment. */
  negativeSentiment: RuleBase & {
    callSentimentAtMost: number;
    csatAtMost: number;
    npsDetractorAtMost: number;
    npsRequiresComment: boolean;
    /** Ticket categories / tags and call reason codes that are complaints. */
    complaintCategories: string[];
  };
  /** The agent's "needs CS" flag, or one of these tags. */
  agentFlagged: RuleBase & { tags: string[] };
  /** A support contact while the account is dormant or its engagement falls by at least N points. */
  usageStalled: RuleBase & { dormant: boolean; engagementDropPoints: number };
  /** Product events (seat or plan limits) and tickets tagged with higher-plan features: the expansion path. */
  expansionSignal: RuleBase & { productEvents: string[]; higherPlanTags: string[] };
  /** A support contact while lifecycle reports the account's onboarding as stalled. */
  onboardingStalled: RuleBase;
}

export const ROUTING_STEPS = ['owner', 'region-team', 'specialist', 'least-loaded'] as const;
export type RoutingStep = (typeof ROUTING_STEPS)[number];

export interface RoutingRules {
  /** The order of the fallback steps. */
  defaultSteps: RoutingStep[];
  /** Another order for some reasons (expansion goes to a specialist first). */
  stepsByReason: Partial<Record<EscalationReason, RoutingStep[]>>;
  /** Which specialty handles a reason in the specialist step. */
  specialtyByReason: Partial<Record<EscalationReason, string>>;
}

export const SLA_UNITS = ['minutes', 'hours', 'business-hours', 'business-days'] as const;
export type SlaUnit = (typeof SLA_UNITS)[number];

export interface SlaRules {
  /** Time to acknowledge, by priority. Business units count the owning team's business hours. */
  acknowledge: Record<EscalationPriority, { amount: number; unit: SlaUnit }>;
  onBreach: { notifyTeamLead: boolean; reroute: boolean };
  /** Used when the escalation has no team (or its team has no hours). */
  defaultBusinessHours: BusinessHours;
}

/** Every setting of escalation routing, as one versioned document. */
export interface EscalationRuleSet {
  version: number;
  rules: EscalationRuleDefinitions;
  /** After a hand-back, the same reason does not reopen for this account for this many days (no ping-pong). */
  handBackCooldownDays: number;
  routing: RoutingRules;
  sla: SlaRules;
}

export type RuleSetValidation = { ok: true; ruleSet: EscalationRuleSet } | { ok: false; errors: string[] };

const REASONS = Object.values(EscalationReason) as string[];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly errors: string[] = [];
  error(path: string, msg: string): void {
    this.errors.push(`${path}: ${msg}`);
  }
  object(v: unknown, path: string, keys: readonly string[]): v is Record<string, unknown> {
    if (!isObject(v)) {
      this.error(path || '(root)', 'must be an object');
      return false;
    }
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.error(path ? `${path}.${k}` : k, 'is not a known setting');
    for (const k of keys) if (v[k] === undefined) this.error(path ? `${path}.${k}` : k, 'is required');
    return true;
  }
  boolean(v: unknown, path: string): void {
    if (v !== undefined && typeof v !== 'boolean') this.error(path, 'must be a boolean');
  }
  number(v: unknown, path: string, min: number, max = Number.POSITIVE_INFINITY, integer = false): void {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) this.error(path, `must be ${integer ? 'an integer' : 'a number'}`);
    else if (v < min || v > max) this.error(path, `must be between ${min} and ${max}, got ${v}`);
  }
  strings(v: unknown, path: string): void {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.trim() === '')) this.error(path, 'must be an array of non-empty strings');
  }
  oneOf(v: unknown, path: string, values: readonly string[]): void {
    if (v !== undefined && (typeof v !== 'string' || !values.includes(v))) this.error(path, `must be one of ${values.join(', ')}`);
  }
  steps(v: unknown, path: string): void {
    if (!Array.isArray(v) || v.length === 0) return this.error(path, 'must be a non-empty array of routing steps');
    v.forEach((s, i) => this.oneOf(s, `${path}[${i}]`, ROUTING_STEPS));
    if (new Set(v).size !== v.length) this.error(path, 'must not repeat a step');
  }
}

const RULE_KEYS: Record<RuleName, string[]> = {
  repeatInquiries: ['count', 'windowDays'],
  atRiskContact: ['dangerBand', 'cautionMinArr'],
  negativeSentiment: ['callSentimentAtMost', 'csatAtMost', 'npsDetractorAtMost', 'npsRequiresComment', 'complaintCategories'],
  agentFlagged: ['tags'],
  usageStalled: ['dormant', 'engagementDropPoints'],
  expansionSignal: ['productEvents', 'higherPlanTags'],
  onboardingStalled: [],
};

function validateBusinessHours(c: Checker, v: unknown, path: string): void {
  if (!c.object(v, path, ['timeZone', 'days', 'start', 'end'])) return;
  if (typeof v['timeZone'] !== 'string' || !isValidTimeZone(v['timeZone'])) c.error(`${path}.timeZone`, 'must be an IANA time zone, e.g. Europe/Berlin');
  const days = v['days'];
  if (!Array.isArray(days) || days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 0 || d > 6) || new Set(days).size !== days.length) {
    c.error(`${path}.days`, 'must be distinct weekdays 0 (Sunday) .. 6 (Saturday)');
  }
  const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;
  const valid = ['start', 'end'].filter((k) => {
    const ok = typeof v[k] === 'string' && hhmm.test(v[k] as string);
    if (!ok) c.error(`${path}.${k}`, 'must be HH:MM (24 h)');
    return ok;
  });
  if (valid.length === 2 && (v['start'] as string) >= (v['end'] as string)) c.error(`${path}.end`, 'must be after start');
}

/** Checks a whole rule set (from the seed file or the API) and names every problem. */
export function validateRuleSet(input: unknown): RuleSetValidation {
  const c = new Checker();
  if (!c.object(input, '', ['version', 'rules', 'handBackCooldownDays', 'routing', 'sla'])) return { ok: false, errors: c.errors };
  c.number(input['version'], 'version', 1, Number.MAX_SAFE_INTEGER, true);
  c.number(input['handBackCooldownDays'], 'handBackCooldownDays', 0, 365);
  const rules = input['rules'];
  if (c.object(rules, 'rules', RULE_NAMES)) {
    for (const name of RULE_NAMES) {
      const r = rules[name];
      const p = `rules.${name}`;
      if (!c.object(r, p, ['enabled', 'priority', ...RULE_KEYS[name]])) continue;
      c.boolean(r['enabled'], `${p}.enabled`);
      c.oneOf(r['priority'], `${p}.priority`, ESCALATION_PRIORITIES);
      switch (name) {
        case 'repeatInquiries':
          c.number(r['count'], `${p}.count`, 2, 100, true);
          c.number(r['windowDays'], `${p}.windowDays`, 1, 365);
          break;
        case 'atRiskContact':
          c.boolean(r['dangerBand'], `${p}.dangerBand`);
          c.number(r['cautionMinArr'], `${p}.cautionMinArr`, 0);
          break;
        case 'negativeSentiment':
          c.number(r['callSentimentAtMost'], `${p}.callSentimentAtMost`, -1, 1);
          c.number(r['csatAtMost'], `${p}.csatAtMost`, 1, 5, true);
          c.number(r['npsDetractorAtMost'], `${p}.npsDetractorAtMost`, 0, 10, true);
          c.boolean(r['npsRequiresComment'], `${p}.npsRequiresComment`);
          c.strings(r['complaintCategories'], `${p}.complaintCategories`);
          break;
        case 'agentFlagged':
          c.strings(r['tags'], `${p}.tags`);
          break;
        case 'usageStalled':
          c.boolean(r['dormant'], `${p}.dormant`);
          c.number(r['engagementDropPoints'], `${p}.engagementDropPoints`, 0, 100);
          break;
        case 'expansionSignal':
          c.strings(r['productEvents'], `${p}.productEvents`);
          c.strings(r['higherPlanTags'], `${p}.higherPlanTags`);
          break;
        case 'onboardingStalled':
          break;
      }
    }
  }
  const routing = input['routing'];
  if (c.object(routing, 'routing', ['defaultSteps', 'stepsByReason', 'specialtyByReason'])) {
    c.steps(routing['defaultSteps'], 'routing.defaultSteps');
    const byReason = routing['stepsByReason'];
    if (!isObject(byReason)) c.error('routing.stepsByReason', 'must be an object');
    else for (const [reason, steps] of Object.entries(byReason)) {
      if (!REASONS.includes(reason)) c.error(`routing.stepsByReason.${reason}`, `is not a reason (${REASONS.join(', ')})`);
      c.steps(steps, `routing.stepsByReason.${reason}`);
    }
    const specialties = routing['specialtyByReason'];
    if (!isObject(specialties)) c.error('routing.specialtyByReason', 'must be an object');
    else for (const [reason, s] of Object.entries(specialties)) {
      if (!REASONS.includes(reason)) c.error(`routing.specialtyByReason.${reason}`, `is not a reason (${REASONS.join(', ')})`);
      if (typeof s !== 'string' || s.trim() === '') c.error(`routing.specialtyByReason.${reason}`, 'must be a non-empty string');
    }
  }
  const sla = input['sla'];
  if (c.object(sla, 'sla', ['acknowledge', 'onBreach', 'defaultBusinessHours'])) {
    const ack = sla['acknowledge'];
    if (c.object(ack, 'sla.acknowledge', ESCALATION_PRIORITIES)) {
      for (const prio of ESCALATION_PRIORITIES) {
        const t = ack[prio];
        const p = `sla.acknowledge.${prio}`;
        if (!c.object(t, p, ['amount', 'unit'])) continue;
        c.number(t['amount'], `${p}.amount`, 0.01, 10_000);
        c.oneOf(t['unit'], `${p}.unit`, SLA_UNITS);
      }
    }
    const onBreach = sla['onBreach'];
    if (c.object(onBreach, 'sla.onBreach', ['notifyTeamLead', 'reroute'])) {
      c.boolean(onBreach['notifyTeamLead'], 'sla.onBreach.notifyTeamLead');
      c.boolean(onBreach['reroute'], 'sla.onBreach.reroute');
    }
    validateBusinessHours(c, sla['defaultBusinessHours'], 'sla.defaultBusinessHours');
  }
  return c.errors.length ? { ok: false, errors: c.errors } : { ok: true, ruleSet: input as unknown as EscalationRuleSet };
}

/** Validates a team's business hours on their own (the roster API). */
export function validateTeamHours(v: unknown): string[] {
  const c = new Checker();
  validateBusinessHours(c, v, 'businessHours');
  return c.errors;
}
