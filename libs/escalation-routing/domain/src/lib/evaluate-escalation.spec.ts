import { EscalationReason, HealthBand, UsageStatus } from '@kizuna/shared/contracts';
import { DEFAULT_ESCALATION_RULES } from './default-escalation-rules';
import type { EscalationRuleSet } from './escalation-rules';
import {
  evaluateEscalation, isExpansionProductEvent, manualDecision, type AccountContext, type ClosedEscalationView, type EvaluationInput, type IncomingSignal, type SupportContactFact,
} from './evaluate-escalation';

const now = new Date('2026-05-20T10:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
const account: AccountContext = { accountId: 'acme', name: 'Acme', arr: 50_000, region: 'emea', band: HealthBand.Good, healthScore: 80 };

const contact = (ref: string, extra: Partial<SupportContactFact> = {}): SupportContactFact => ({
  kind: 'ticket', ref, category: 'billing', tags: [], occurredAt: now, subject: 'Invoice wrong', needsCs: false, ...extra,
});

function evaluate(signal: IncomingSignal, over: Partial<EvaluationInput> = {}) {
  return evaluateEscalation({
    rules: DEFAULT_ESCALATION_RULES, account, signal, contacts: [], openEscalations: [], recentlyClosed: [], now, ...over,
  });
}
const rules = (edit: (r: EscalationRuleSet) => void): EscalationRuleSet => {
  const copy = structuredClone(DEFAULT_ESCALATION_RULES);
  edit(copy);
  return copy;
};
const opened = (d: ReturnType<typeof evaluate>) => d.filter((x) => x.action === 'open').map((x) => x.reason);

describe('evaluateEscalation', () => {
  describe('repeat inquiries (default 3 in 14 days, same category)', () => {
    const history = [contact('T1', { occurredAt: daysAgo(10) }), contact('T2', { occurredAt: daysAgo(3) })];

    it('opens on the third contact in the same category within the window, naming all three', () => {
      const [d] = evaluate({ kind: 'contact', contact: contact('T3') }, { contacts: history });
      expect(d).toMatchObject({ action: 'open', rule: 'repeatInquiries', reason: EscalationReason.RepeatInquiries, priority: 'normal' });
      expect(d?.action === 'open' && d.evidence.map((e) => e.ref)).toEqual(['T1', 'T2', 'T3']);
      expect(d?.why).toMatch(/3 contacts in category "billing" within 14 days/);
    });

    it('counts calls by reason code with tickets, case-insensitively', () => {
      const d = evaluate({ kind: 'contact', contact: contact('C1', { kind: 'call', category: 'BILLING' }) }, { contacts: history });
      expect(opened(d)).toEqual([EscalationReason.RepeatInquiries]);
    });

    it('does not open for two, for another category, or outside the window', () => {
      expect(evaluate({ kind: 'contact', contact: contact('T3') }, { contacts: [history[1] as SupportContactFact] })).toEqual([]);
      expect(evaluate({ kind: 'contact', contact: contact('T3', { category: 'login' }) }, { contacts: history })).toEqual([]);
      const old = [contact('T1', { occurredAt: daysAgo(15) }), history[1] as SupportContactFact];
      expect(evaluate({ kind: 'contact', contact: contact('T3') }, { contacts: old })).toEqual([]);
    });

    it('opens when the contact completing the window arrives late (out of order), naming all three', () => {
      const later = [contact('T1', { occurredAt: daysAgo(10) }), contact('T3', { occurredAt: now })];
      const [d] = evaluate({ kind: 'contact', contact: contact('T2', { occurredAt: daysAgo(3) }) }, { contacts: later });
      expect(d).toMatchObject({ action: 'open', rule: 'repeatInquiries' });
      expect(d?.action === 'open' && d.evidence.map((e) => e.ref)).toEqual(['T1', 'T2', 'T3']);
      // the late contact and the others must still fit in one window of 14 days
      const spread = [contact('T1', { occurredAt: daysAgo(20) }), contact('T3', { occurredAt: now })];
      expect(evaluate({ kind: 'contact', contact: contact('T2', { occurredAt: daysAgo(8) }) }, { contacts: spread })).toEqual([]);
    });

    it('gives the same decision whatever order three contacts arrive in', () => {
      const all = [contact('T1', { occurredAt: daysAgo(12) }), contact('T2', { occurredAt: daysAgo(6) }), contact('T3', { occurredAt: daysAgo(1) })];
      for (const last of all) {
        const before = all.filter((x) => x !== last);
        const [d] = evaluate({ kind: 'contact', contact: last }, { contacts: before });
        expect(d?.action === 'open' && d.evidence.map((e) => e.ref)).toEqual(['T1', 'T2', 'T3']);
      }
    });

    it('counts an updated ticket once (the history already holds it)', () => {
      expect(evaluate({ kind: 'contact', contact: contact('T2', { occurredAt: daysAgo(3) }) }, { contacts: history })).toEqual([]);
    });

    it('follows the configured N and D', () => {
      const r = rules((x) => Object.assign(x.rules.repeatInquiries, { count: 2, windowDays: 5 }));
      expect(opened(evaluate({ kind: 'contact', contact: contact('T3') }, { rules: r, contacts: history }))).toEqual([EscalationReason.RepeatInquiries]);
      const off = rules((x) => (x.rules.repeatInquiries.enabled = false));
      expect(evaluate({ kind: 'contact', contact: contact('T3') }, { rules: off, contacts: history })).toEqual([]);
    });

    it('a fourth contact adds only the new evidence to the open escalation', () => {
      const open = [{ id: 'esc-1', reason: EscalationReason.RepeatInquiries, evidenceKeys: ['ticket:T1', 'ticket:T2', 'ticket:T3'] }];
      const contacts = [...history, contact('T3', { occurredAt: daysAgo(1) })];
      const [d] = evaluate({ kind: 'contact', contact: contact('T4') }, { contacts, openEscalations: open });
      expect(d).toMatchObject({ action: 'add-evidence', escalationId: 'esc-1', reason: EscalationReason.RepeatInquiries });
      expect(d?.action === 'add-evidence' && d.evidence.map((e) => e.ref)).toEqual(['T4']);
      // the same ticket again (an update): nothing new
      expect(evaluate({ kind: 'contact', contact: contact('T3', { occurredAt: daysAgo(1) }) }, { contacts, openEscalations: open })).toEqual([]);
    });
  });

  describe('at-risk contact', () => {
    it('opens (high) for any contact from a danger-band account', () => {
      const [d] = evaluate({ kind: 'contact', contact: contact('C1', { kind: 'call', category: null }) }, { account: { ...account, band: HealthBand.Danger, healthScore: 20 } });
      expect(d).toMatchObject({ action: 'open', rule: 'atRiskContact', priority: 'high' });
      expect(d?.why).toMatch(/danger band \(score 20\)/);
    });

    it('opens for a high-value account in caution, not a small one, not a good one', () => {
      const big = { ...account, band: HealthBand.Caution, arr: 250_000 };
      expect(opened(evaluate({ kind: 'contact', contact: contact('T1', { category: null }) }, { account: big }))).toEqual([EscalationReason.AtRiskContact]);
      expect(evaluate({ kind: 'contact', contact: contact('T1', { category: null }) }, { account: { ...big, arr: 20_000 } })).toEqual([]);
      expect(evaluate({ kind: 'contact', contact: contact('T1', { category: null }) }, { account: { ...big, band: HealthBand.Good } })).toEqual([]);
    });
  });

  describe('negative sentiment', () => {
    it('opens for a complaint category or tag', () => {
      expect(opened(evaluate({ kind: 'contact', contact: contact('T1', { category: 'Complaint' }) }))).toEqual([EscalationReason.NegativeSentiment]);
      expect(opened(evaluate({ kind: 'contact', contact: contact('T1', { tags: ['complaint'] }) }))).toEqual([EscalationReason.NegativeSentiment]);
    });

    it('opens for a strongly negative call and a CSAT <= 2 ticket, not for mild ones', () => {
      const [d] = evaluate({ kind: 'contact', contact: contact('C1', { kind: 'call', sentiment: -0.8 }) });
      expect(d?.why).toMatch(/sentiment -0.8 <= -0.5/);
      expect(opened(evaluate({ kind: 'contact', contact: contact('T1', { satisfaction: 2 }) }))).toEqual([EscalationReason.NegativeSentiment]);
      expect(evaluate({ kind: 'contact', contact: contact('C1', { kind: 'call', sentiment: -0.2 }) })).toEqual([]);
      expect(evaluate({ kind: 'contact', contact: contact('T1', { satisfaction: 3 }) })).toEqual([]);
    });

    it('opens for a survey CSAT <= 2 and an NPS detractor with a comment, not without one', () => {
      const survey = (surveyKind: 'nps' | 'csat', score: number, comment?: string): IncomingSignal => ({ kind: 'survey', responseId: 'r1', surveyKind, score, comment: comment ?? null, answeredAt: now });
      expect(evaluate(survey('csat', 2))[0]).toMatchObject({ action: 'open', rule: 'negativeSentiment', evidence: [{ kind: 'survey', ref: 'r1', summary: 'CSAT 2' }] });
      expect(evaluate(survey('nps', 3, 'Too slow'))[0]?.why).toBe('NPS detractor (3) with a comment');
      expect(evaluate(survey('nps', 3))).toEqual([]);
      expect(evaluate(survey('nps', 8, 'ok'))).toEqual([]);
      expect(evaluate(survey('csat', 4))).toEqual([]);
      const noComment = rules((x) => (x.rules.negativeSentiment.npsRequiresComment = false));
      expect(opened(evaluate(survey('nps', 3), { rules: noComment }))).toEqual([EscalationReason.NegativeSentiment]);
    });
  });

  describe("the agent's needs-CS flag", () => {
    it('opens for the flag and for a configured tag', () => {
      expect(evaluate({ kind: 'contact', contact: contact('T1', { needsCs: true }) })[0]?.why).toMatch(/flagged the ticket "needs CS"/);
      expect(evaluate({ kind: 'contact', contact: contact('T1', { tags: ['Needs-CS'] }) })[0]?.why).toMatch(/tagged "Needs-CS"/);
    });
  });

  describe('usage stalled', () => {
    it('opens for a contact from a dormant account', () => {
      expect(opened(evaluate({ kind: 'contact', contact: contact('T1') }, { account: { ...account, usageStatus: UsageStatus.Dormant } }))).toEqual([EscalationReason.UsageStalled]);
    });

    it('sums the engagement points of the health changes of the last 14 days: a slow decline counts, rises offset falls, older changes do not', () => {
      const changes = (deltas: [number, number][]) => deltas.map(([days, delta]) => ({ at: daysAgo(days).toISOString(), delta }));
      const slow = { ...account, topMovers: [{ component: 'engagement', measure: 'trend', deltaPoints: -1.5 }], engagementChanges: changes([[12, -2], [8, -1.5], [4, -2], [1, -1.5]]) };
      expect(evaluate({ kind: 'contact', contact: contact('T1') }, { account: slow })[0]?.why).toMatch(/engagement is falling \(-7.0 points over the last 14 days\)/);
      const offset = { ...slow, engagementChanges: changes([[12, -2], [8, -1.5], [6, 3], [4, -2], [1, -1.5]]) };
      expect(evaluate({ kind: 'contact', contact: contact('T1') }, { account: offset })).toEqual([]);
      const old = { ...slow, engagementChanges: changes([[25, -2], [20, -1.5], [16, -2], [1, -1.5]]) };
      expect(evaluate({ kind: 'contact', contact: contact('T1') }, { account: old })).toEqual([]);
      // changes after the contact (it arrived late) do not count for it
      const after = { ...slow, engagementChanges: changes([[1, -1.5], [-2, -6]]) };
      expect(evaluate({ kind: 'contact', contact: contact('T1', { occurredAt: daysAgo(1) }) }, { account: after })).toEqual([]);
    });

    it('opens when engagement movers fall by the configured points, not for small moves or other components', () => {
      const falling = { ...account, topMovers: [{ component: 'engagement', measure: 'active_users_7d', deltaPoints: -4 }, { component: 'engagement', measure: 'trend', deltaPoints: -2 }] };
      expect(evaluate({ kind: 'contact', contact: contact('T1') }, { account: falling })[0]?.why).toMatch(/engagement is falling \(-6.0 points\)/);
      const small = { ...account, topMovers: [{ component: 'engagement', measure: 'trend', deltaPoints: -2 }, { component: 'roi', measure: 'nps', deltaPoints: -20 }] };
      expect(evaluate({ kind: 'contact', contact: contact('T1') }, { account: small })).toEqual([]);
    });
  });

  describe('expansion signals', () => {
    it('opens an expansion escalation for a seat or plan limit product event', () => {
      const [d] = evaluate({ kind: 'product', ref: 'm-1', event: 'Seat Limit Reached', at: now });
      expect(d).toMatchObject({ action: 'open', rule: 'expansionSignal', reason: EscalationReason.ExpansionSignal, evidence: [{ kind: 'product', ref: 'm-1' }] });
      expect(opened(evaluate({ kind: 'product', ref: 'm-2', event: 'plan limit reached', at: now }))).toEqual([EscalationReason.ExpansionSignal]);
      expect(evaluate({ kind: 'product', ref: 'm-3', event: 'Report Shared', at: now })).toEqual([]);
      expect(isExpansionProductEvent(DEFAULT_ESCALATION_RULES, 'Seat Limit Reached')).toBe(true);
      expect(isExpansionProductEvent(DEFAULT_ESCALATION_RULES, 'Report Shared')).toBe(false);
    });

    it('opens for a question tagged with a higher-plan feature, and not as a risk', () => {
      const d = evaluate({ kind: 'contact', contact: contact('T1', { category: 'sso', tags: ['enterprise-feature'] }) });
      expect(opened(d)).toEqual([EscalationReason.ExpansionSignal]);
    });
  });

  describe('onboarding stalled', () => {
    it('opens for a contact while onboarding is stalled', () => {
      expect(evaluate({ kind: 'contact', contact: contact('T1') }, { account: { ...account, onboardingStalled: true } })[0]).toMatchObject({ rule: 'onboardingStalled', reason: EscalationReason.OnboardingStalled });
    });
  });

  it('several rules can fire on one contact, one decision each', () => {
    const d = evaluate({ kind: 'contact', contact: contact('T1', { needsCs: true, satisfaction: 1 }) }, { account: { ...account, band: HealthBand.Danger } });
    expect(opened(d).sort()).toEqual([EscalationReason.AgentFlagged, EscalationReason.AtRiskContact, EscalationReason.NegativeSentiment].sort());
  });

  it('does not reopen a reason handed back within the cool-down (no ping-pong); does after it', () => {
    const handedBack = [{ reason: EscalationReason.AgentFlagged, state: 'handed-back' as const, closedAt: daysAgo(2), evidenceKeys: ['ticket:T1'] }];
    const [d] = evaluate({ kind: 'contact', contact: contact('T9', { needsCs: true }) }, { recentlyClosed: handedBack });
    expect(d).toMatchObject({ action: 'suppressed', reason: EscalationReason.AgentFlagged });
    expect(d?.why).toMatch(/handed back to support/);
    const later = [{ ...handedBack[0], closedAt: daysAgo(8) }] as typeof handedBack;
    expect(opened(evaluate({ kind: 'contact', contact: contact('T9', { needsCs: true }) }, { recentlyClosed: later }))).toEqual([EscalationReason.AgentFlagged]);
    const resolved = [{ reason: EscalationReason.AgentFlagged, state: 'resolved' as const, closedAt: daysAgo(1), evidenceKeys: [] }];
    expect(opened(evaluate({ kind: 'contact', contact: contact('T9', { needsCs: true }) }, { recentlyClosed: resolved }))).toEqual([EscalationReason.AgentFlagged]);
  });

  // Issue 6: after a hand-back, an update of the same ticket found the account in the danger band (a
  // health change applied after the ticket first arrived) and opened at-risk-contact with the ticket
  // the CSM had just handed back: a second active escalation for a contact already dealt with.
  it('does not open another reason on the contact a hand-back within the cool-down held; a new contact does, and so after the cool-down', () => {
    const handedBack = [{ reason: EscalationReason.AgentFlagged, state: 'handed-back' as const, closedAt: daysAgo(1), evidenceKeys: ['ticket:F1'] }];
    const danger = { account: { ...account, band: HealthBand.Danger, healthScore: 12 }, recentlyClosed: handedBack };
    const update = evaluate({ kind: 'contact', contact: contact('F1', { needsCs: true, category: null }) }, danger);
    expect(opened(update)).toEqual([]);
    expect(update.map((d) => [d.action, d.reason]).sort()).toEqual([
      ['suppressed', EscalationReason.AgentFlagged],
      ['suppressed', EscalationReason.AtRiskContact],
    ]);
    expect(update.find((d) => d.reason === EscalationReason.AtRiskContact)?.why).toMatch(/its evidence \(ticket:F1\) was handed back to support/);
    // a different ticket of the same account is new evidence: the at-risk rule opens
    expect(opened(evaluate({ kind: 'contact', contact: contact('F2', { category: null }) }, danger))).toEqual([EscalationReason.AtRiskContact]);
    // a resolved escalation does not suppress, nor does a hand-back older than the cool-down
    const resolved = [{ ...handedBack[0], state: 'resolved' as const }] as ClosedEscalationView[];
    expect(opened(evaluate({ kind: 'contact', contact: contact('F1', { category: null }) }, { ...danger, recentlyClosed: resolved }))).toEqual([EscalationReason.AtRiskContact]);
    const old = [{ ...handedBack[0], closedAt: daysAgo(8) }] as ClosedEscalationView[];
    expect(opened(evaluate({ kind: 'contact', contact: contact('F1', { category: null }) }, { ...danger, recentlyClosed: old }))).toEqual([EscalationReason.AtRiskContact]);
    // repeat inquiries with a fresh contact besides the handed-back one still open
    const history = [contact('F1', { occurredAt: daysAgo(3) }), contact('T2', { occurredAt: daysAgo(2) })];
    expect(opened(evaluate({ kind: 'contact', contact: contact('T3') }, { contacts: history, recentlyClosed: handedBack }))).toEqual([EscalationReason.RepeatInquiries]);
  });

  it('a manual escalation opens, or joins the open one of the same reason', () => {
    const ev = { kind: 'manual' as const, ref: 'm1', summary: 'customer asked for their CSM', at: now };
    expect(manualDecision([], EscalationReason.Manual, 'high', ev, 'x')).toMatchObject({ action: 'open', priority: 'high' });
    expect(manualDecision([{ id: 'e1', reason: EscalationReason.Manual, evidenceKeys: [] }], EscalationReason.Manual, 'high', ev, 'x')).toMatchObject({ action: 'add-evidence', escalationId: 'e1' });
  });
});
