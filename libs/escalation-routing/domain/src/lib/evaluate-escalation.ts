import {
  EscalationReason, HealthBand, LifecyclePhase, TouchModel, UsageStatus, type EscalationEvidenceKind, type EscalationPriority,
} from '@kizuna/shared/contracts';
import { RULE_REASON, type EscalationRuleSet, type RuleName } from './escalation-rules';

const DAY_MS = 86_400_000;

/** The span over which the usage-stalled rule sums the engagement points of health changes. */
export const ENGAGEMENT_WINDOW_DAYS = 14;

export interface HealthMover {
  component: string;
  measure: string;
  deltaPoints: number;
}

/** What escalation-routing knows about an account (its projection of directory, health and lifecycle). */
export interface AccountContext {
  accountId: string;
  name?: string | null;
  arr?: number | null;
  region?: string | null;
  ownerCsmEmail?: string | null;
  plan?: string | null;
  band?: HealthBand | null;
  healthScore?: number | null;
  topMovers?: HealthMover[];
  /** The engagement points ({at, delta}) of each recent health change (the last 28 days are kept). */
  engagementChanges?: { at: string | Date; delta: number }[];
  phase?: LifecyclePhase | null;
  touchModel?: TouchModel | null;
  usageStatus?: UsageStatus | string | null;
  /** Lifecycle reported onboarding as stalled (and the account has not left onboarding since). */
  onboardingStalled?: boolean;
}

/** A ticket or a call as the rules see it. */
export interface SupportContactFact {
  kind: 'ticket' | 'call';
  ref: string;
  category: string | null;
  tags: string[];
  occurredAt: Date;
  subject?: string | null;
  /** Calls: -1 .. 1. */
  sentiment?: number | null;
  /** Tickets: CSAT 1..5. */
  satisfaction?: number | null;
  needsCs: boolean;
}

export type IncomingSignal =
  | { kind: 'contact'; contact: SupportContactFact }
  | { kind: 'survey'; responseId: string; surveyKind: 'nps' | 'csat'; score: number; comment?: string | null; answeredAt: Date }
  | { kind: 'product'; ref: string; event: string; at: Date };

export interface Evidence {
  kind: EscalationEvidenceKind;
  ref: string;
  summary: string;
  at: Date;
}

export interface OpenEscalationView {
  id: string;
  reason: EscalationReason;
  /** `${kind}:${ref}` of the evidence it already holds. */
  evidenceKeys: string[];
}

export interface ClosedEscalationView {
  reason: EscalationReason;
  state: 'resolved' | 'handed-back';
  closedAt: Date;
  /** `${kind}:${ref}` of the evidence it held when it closed. */
  evidenceKeys: string[];
}

export interface EvaluationInput {
  rules: EscalationRuleSet;
  account: AccountContext;
  signal: IncomingSignal;
  /** The account's support contacts (the incoming one may or may not be among them). */
  contacts: SupportContactFact[];
  openEscalations: OpenEscalationView[];
  recentlyClosed: ClosedEscalationView[];
  now: Date;
}

export type EscalationDecision =
  | { action: 'open'; rule: RuleName; reason: EscalationReason; priority: EscalationPriority; evidence: Evidence[]; why: string }
  | { action: 'add-evidence'; escalationId: string; rule: RuleName; reason: EscalationReason; evidence: Evidence[]; why: string }
  | { action: 'suppressed'; rule: RuleName; reason: EscalationReason; why: string };

export const evidenceKey = (e: { kind: string; ref: string }) => `${e.kind}:${e.ref}`;

const lower = (s: string) => s.trim().toLowerCase();
const matchesAny = (values: (string | null | undefined)[], list: string[]) => {
  const set = new Set(list.map(lower));
  return values.some((v) => typeof v === 'string' && set.has(lower(v)));
};

export function contactEvidence(c: SupportContactFact): Evidence {
  const parts = [`${c.kind} ${c.ref}`];
  if (c.category) parts.push(`[${c.category}]`);
  if (c.subject) parts.push(`"${c.subject}"`);
  if (c.sentiment !== undefined && c.sentiment !== null) parts.push(`sentiment ${c.sentiment}`);
  if (c.satisfaction !== undefined && c.satisfaction !== null) parts.push(`CSAT ${c.satisfaction}`);
  return { kind: c.kind, ref: c.ref, summary: parts.join(' '), at: c.occurredAt };
}

interface Trigger {
  rule: RuleName;
  evidence: Evidence[];
  why: string;
}

function contactTriggers(input: EvaluationInput, c: SupportContactFact): Trigger[] {
  const { rules, account } = input;
  const r = rules.rules;
  const out: Trigger[] = [];
  const ev = contactEvidence(c);

  if (r.repeatInquiries.enabled && c.category) {
    // Any window of D days that holds this contact counts, not only the one ending at it: tickets may
    // arrive out of order (a late webhook, a replayed export), and the third of three contacts may be
    // an older one. The window starting at the earliest contact that keeps the most of them wins.
    const span = r.repeatInquiries.windowDays * DAY_MS;
    const at = c.occurredAt.getTime();
    const byKey = new Map<string, SupportContactFact>();
    for (const x of [...input.contacts, c]) {
      const t = x.occurredAt.getTime();
      if (x.category && lower(x.category) === lower(c.category) && t > at - span && t < at + span) byKey.set(evidenceKey(x), x);
    }
    const sorted = [...byKey.values()].sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
    let best: SupportContactFact[] = [];
    for (const start of sorted) {
      const s0 = start.occurredAt.getTime();
      if (s0 > at) break;
      const window = sorted.filter((x) => x.occurredAt.getTime() >= s0 && x.occurredAt.getTime() < s0 + span);
      if (window.length > best.length) best = window;
    }
    if (best.length >= r.repeatInquiries.count) {
      out.push({
        rule: 'repeatInquiries',
        evidence: best.map(contactEvidence),
        why: `${best.length} contacts in category "${c.category}" within ${r.repeatInquiries.windowDays} days (threshold ${r.repeatInquiries.count})`,
      });
    }
  }

  if (r.atRiskContact.enabled) {
    if (r.atRiskContact.dangerBand && account.band === HealthBand.Danger) {
      out.push({ rule: 'atRiskContact', evidence: [ev], why: `support contact from an account in the danger band (score ${account.healthScore ?? 'unknown'})` });
    } else if (account.band === HealthBand.Caution && (account.arr ?? 0) >= r.atRiskContact.cautionMinArr) {
      out.push({ rule: 'atRiskContact', evidence: [ev], why: `support contact from a high-value account (ARR ${account.arr}) in the caution band` });
    }
  }

  if (r.negativeSentiment.enabled) {
    const n = r.negativeSentiment;
    const whys: string[] = [];
    if (matchesAny([c.category, ...c.tags], n.complaintCategories)) whys.push('a complaint');
    if (c.sentiment !== undefined && c.sentiment !== null && c.sentiment <= n.callSentimentAtMost) whys.push(`sentiment ${c.sentiment} <= ${n.callSentimentAtMost}`);
    if (c.satisfaction !== undefined && c.satisfaction !== null && c.satisfaction <= n.csatAtMost) whys.push(`CSAT ${c.satisfaction} <= ${n.csatAtMost}`);
    if (whys.length) out.push({ rule: 'negativeSentiment', evidence: [ev], why: `${c.kind} with ${whys.join(', ')}` });
  }

  if (r.agentFlagged.enabled) {
    const tagged = c.tags.find((t) => matchesAny([t], r.agentFlagged.tags));
    if (c.needsCs || tagged) {
      out.push({ rule: 'agentFlagged', evidence: [ev], why: c.needsCs ? `the agent flagged the ${c.kind} "needs CS"` : `the ${c.kind} is tagged "${tagged}"` });
    }
  }

  if (r.usageStalled.enabled) {
    // Falling engagement: in the latest health change, or summed over the changes of the last
    // ENGAGEMENT_WINDOW_DAYS before the contact (a slow decline arrives as many small changes).
    const latest = (account.topMovers ?? []).filter((m) => m.component === 'engagement').reduce((s, m) => s + Math.min(0, m.deltaPoints), 0);
    const at = c.occurredAt.getTime();
    const windowed = (account.engagementChanges ?? [])
      .filter((x) => {
        const t = new Date(x.at).getTime();
        return t > at - ENGAGEMENT_WINDOW_DAYS * DAY_MS && t <= at;
      })
      .reduce((s, x) => s + x.delta, 0);
    const engagementDrop = Math.min(latest, windowed);
    if (r.usageStalled.dormant && account.usageStatus === UsageStatus.Dormant) {
      out.push({ rule: 'usageStalled', evidence: [ev], why: `support contact while the account is dormant` });
    } else if (r.usageStalled.engagementDropPoints > 0 && -engagementDrop >= r.usageStalled.engagementDropPoints) {
      const span = windowed < latest ? ` over the last ${ENGAGEMENT_WINDOW_DAYS} days` : '';
      out.push({ rule: 'usageStalled', evidence: [ev], why: `support contact while engagement is falling (${engagementDrop.toFixed(1)} points${span})` });
    }
  }

  if (r.expansionSignal.enabled && c.kind === 'ticket') {
    const tag = [c.category, ...c.tags].find((t) => typeof t === 'string' && matchesAny([t], r.expansionSignal.higherPlanTags));
    if (tag) out.push({ rule: 'expansionSignal', evidence: [ev], why: `question about a higher-plan feature (tagged "${tag}")` });
  }

  if (r.onboardingStalled.enabled && account.onboardingStalled) {
    out.push({ rule: 'onboardingStalled', evidence: [ev], why: 'support contact while onboarding is stalled' });
  }
  return out;
}

function surveyTriggers(input: EvaluationInput, s: Extract<IncomingSignal, { kind: 'survey' }>): Trigger[] {
  const n = input.rules.rules.negativeSentiment;
  if (!n.enabled) return [];
  const comment = s.comment?.trim() ?? '';
  const summary = `${s.surveyKind.toUpperCase()} ${s.score}${comment ? `: "${comment.slice(0, 300)}"` : ''}`;
  const evidence: Evidence[] = [{ kind: 'survey', ref: s.responseId, summary, at: s.answeredAt }];
  if (s.surveyKind === 'csat' && s.score <= n.csatAtMost) {
    return [{ rule: 'negativeSentiment', evidence, why: `CSAT ${s.score} <= ${n.csatAtMost}` }];
  }
  if (s.surveyKind === 'nps' && s.score <= n.npsDetractorAtMost && (!n.npsRequiresComment || comment !== '')) {
    return [{ rule: 'negativeSentiment', evidence, why: `NPS detractor (${s.score})${comment ? ' with a comment' : ''}` }];
  }
  return [];
}

function productTriggers(input: EvaluationInput, p: Extract<IncomingSignal, { kind: 'product' }>): Trigger[] {
  const x = input.rules.rules.expansionSignal;
  if (!x.enabled || !matchesAny([p.event], x.productEvents)) return [];
  return [{ rule: 'expansionSignal', evidence: [{ kind: 'product', ref: p.ref, summary: `product event "${p.event}"`, at: p.at }], why: `expansion signal: "${p.event}"` }];
}

/** Product event names the rules react to (so a consumer can skip every other product event cheaply). */
export function expansionProductEvents(rules: EscalationRuleSet): Set<string> {
  return new Set(rules.rules.expansionSignal.enabled ? rules.rules.expansionSignal.productEvents.map(lower) : []);
}

/** Whether a product event's name is in a set made by expansionProductEvents (names compared trimmed, case-insensitively). */
export const inExpansionEvents = (names: ReadonlySet<string>, event: string | undefined): boolean => event !== undefined && names.has(lower(event));

export const isExpansionProductEvent = (rules: EscalationRuleSet, event: string | undefined): boolean =>
  inExpansionEvents(expansionProductEvents(rules), event);

/**
 * The escalation rules: what the incoming signal means for the account, given its context and its
 * escalations. Pure. At most one open escalation per account and reason: a rule that fires while
 * one is open adds the new evidence to it (nothing when the evidence is already there); a reason
 * handed back to support within the cool-down does not reopen, and neither does any other reason
 * whose evidence is only contacts an escalation handed back within the cool-down held (no ping-pong).
 */
export function evaluateEscalation(input: EvaluationInput): EscalationDecision[] {
  const s = input.signal;
  const triggers = s.kind === 'contact' ? contactTriggers(input, s.contact) : s.kind === 'survey' ? surveyTriggers(input, s) : productTriggers(input, s);
  const decisions: EscalationDecision[] = [];
  for (const t of triggers) {
    const reason = RULE_REASON[t.rule];
    const rule = input.rules.rules[t.rule];
    const open = input.openEscalations.find((e) => e.reason === reason);
    if (open) {
      const known = new Set(open.evidenceKeys);
      const fresh = t.evidence.filter((e) => !known.has(evidenceKey(e)));
      if (fresh.length) decisions.push({ action: 'add-evidence', escalationId: open.id, rule: t.rule, reason, evidence: fresh, why: t.why });
      continue;
    }
    const cooldownFrom = input.now.getTime() - input.rules.handBackCooldownDays * DAY_MS;
    const recentHandBacks = input.recentlyClosed.filter((e) => e.state === 'handed-back' && e.closedAt.getTime() > cooldownFrom);
    const handedBack = recentHandBacks.find((e) => e.reason === reason);
    if (handedBack) {
      decisions.push({
        action: 'suppressed', rule: t.rule, reason,
        why: `${t.why}; not reopened: handed back to support on ${handedBack.closedAt.toISOString()} (cool-down ${input.rules.handBackCooldownDays} days)`,
      });
      continue;
    }
    // A CSM who handed a contact back has dealt with it: an update of that contact (or the account's
    // context changing under it, e.g. a late health change) must not bounce it back under another reason.
    const sameEvidence = recentHandBacks.find((e) => t.evidence.length > 0 && t.evidence.every((x) => e.evidenceKeys.includes(evidenceKey(x))));
    if (sameEvidence) {
      decisions.push({
        action: 'suppressed', rule: t.rule, reason,
        why: `${t.why}; not opened: its evidence (${t.evidence.map(evidenceKey).join(', ')}) was handed back to support on ${sameEvidence.closedAt.toISOString()} (${sameEvidence.reason}, cool-down ${input.rules.handBackCooldownDays} days)`,
      });
      continue;
    }
    decisions.push({ action: 'open', rule: t.rule, reason, priority: rule.priority, evidence: t.evidence, why: t.why });
  }
  return decisions;
}

/** The manual escalation by a support user: a decision like the rules', for the same dedup. */
export function manualDecision(
  open: OpenEscalationView[],
  reason: EscalationReason,
  priority: EscalationPriority,
  evidence: Evidence,
  why: string,
): { action: 'open'; priority: EscalationPriority; evidence: Evidence[]; why: string } | { action: 'add-evidence'; escalationId: string; evidence: Evidence[]; why: string } {
  const existing = open.find((e) => e.reason === reason);
  if (existing) return { action: 'add-evidence', escalationId: existing.id, evidence: [evidence], why };
  return { action: 'open', priority, evidence: [evidence], why };
}
