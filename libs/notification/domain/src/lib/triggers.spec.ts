import { EscalationReason, EscalationState, HealthBand, NotificationChannel, createEvent, type CloudEvent, type EventType, type PayloadOf } from '@kizuna/shared/contracts';
import { DEFAULT_TRIGGER_RULES, channelsFor, noticesFor, ruleSet, type TriggerRule } from './triggers';

const at = new Date('2026-03-10T12:00:00Z');
const ev = <T extends EventType>(type: T, data: PayloadOf<T>): CloudEvent<T> => createEvent('test', { type, subject: 'acme', data }, at);
const escalation = (over: Partial<PayloadOf<'cs.escalation.assigned.v1'>> = {}): PayloadOf<'cs.escalation.assigned.v1'> => ({
  escalationId: 'esc-1', reason: EscalationReason.RepeatInquiries, state: EscalationState.Assigned, priority: 'high',
  assignee: { csmId: 'csm-a', name: 'Aiko', email: 'aiko@example.com', why: 'account owner' },
  teamLead: { csmId: 'lead-1', name: 'Lena', email: 'lena@example.com' },
  evidence: [{ kind: 'ticket', ref: 't-9', summary: 'third login question this week', at: at.toISOString() }],
  context: { accountName: 'Acme Corp', band: HealthBand.Danger, healthScore: 31, arr: 120000, region: 'apac', topMovers: ['engagement.activeUsers -12'] },
  changedAt: at.toISOString(),
  ...over,
});
const rules = ruleSet(DEFAULT_TRIGGER_RULES);
const owner = { id: 'owner@example.com', email: 'owner@example.com' };

describe('trigger mapping', () => {
  it('sends an assigned escalation to the assignee with its context and evidence', () => {
    const [n, ...rest] = noticesFor(ev('cs.escalation.assigned.v1', escalation()), rules);
    expect(rest).toHaveLength(0);
    expect(n).toMatchObject({ trigger: 'escalation.assigned', priority: 'high', accountName: 'Acme Corp', recipients: [{ role: 'assignee', person: { id: 'csm-a', email: 'aiko@example.com' } }] });
    expect(n?.facts).toEqual(expect.arrayContaining([['Health', 'danger (31)'], ['Region', 'apac'], ['Health movers', 'engagement.activeUsers -12']]));
    expect(n?.evidence).toEqual(['ticket t-9: third login question this week']);
  });

  it('tells the assignee and the team lead about an SLA breach, once each', () => {
    const [n] = noticesFor(ev('cs.escalation.sla-breached.v1', escalation()), rules);
    expect(n?.recipients.map((r) => r.role)).toEqual(['assignee', 'team-lead']);
    const same = noticesFor(ev('cs.escalation.sla-breached.v1', escalation({ teamLead: { csmId: 'csm-a', name: 'Aiko', email: 'aiko@example.com' } })), rules);
    expect(same[0]?.recipients).toHaveLength(1);
  });

  it('tells the new and the previous assignee about a reassignment', () => {
    const [n] = noticesFor(ev('cs.escalation.reassigned.v1', escalation({ previousAssignee: { csmId: 'csm-b', name: 'Ben', email: 'ben@example.com' } })), rules);
    expect(n?.recipients.map((r) => r.person.id)).toEqual(['csm-a', 'csm-b']);
    expect(n?.summary).toContain('from Ben to Aiko');
  });

  it('ignores escalation changes that are not triggers and disabled rules', () => {
    expect(noticesFor(ev('cs.escalation.opened.v1', escalation()), rules)).toEqual([]);
    const off = ruleSet([{ ...(DEFAULT_TRIGGER_RULES[0] as TriggerRule), enabled: false }]);
    expect(noticesFor(ev('cs.escalation.assigned.v1', escalation()), off)).toEqual([]);
  });

  const health = (score: number, band: HealthBand, previousScore: number | null, previousBand: HealthBand | null) =>
    ev('cs.health.score.changed.v1', { score, band, previousScore, previousBand, scorecardId: 'smb', scorecardVersion: 1, topMovers: [{ component: 'engagement', measure: 'active_users', deltaPoints: -9.5 }], computedAt: at.toISOString() });

  it('alerts the owner when the band drops to danger, not while it stays there', () => {
    const [n] = noticesFor(health(30, HealthBand.Danger, 42, HealthBand.Caution), rules, { name: 'Acme', owner });
    expect(n).toMatchObject({ trigger: 'health.danger', recipients: [{ role: 'owner', person: owner }] });
    expect(n?.facts).toContainEqual(['Top movers', 'engagement.active_users -9.5']);
    expect(noticesFor(health(28, HealthBand.Danger, 30, HealthBand.Danger), rules, { owner })).toEqual([]);
  });

  it('fires a large drop at the configured threshold', () => {
    expect(noticesFor(health(60, HealthBand.Caution, 74, HealthBand.Good), rules, { owner }).map((n) => n.trigger)).toEqual([]);
    expect(noticesFor(health(59, HealthBand.Caution, 74, HealthBand.Good), rules, { owner }).map((n) => n.trigger)).toEqual(['health.large-drop']);
    const strict = ruleSet([{ ...(DEFAULT_TRIGGER_RULES.find((r) => r.trigger === 'health.large-drop') as TriggerRule), threshold: 5 }]);
    expect(noticesFor(health(68, HealthBand.Caution, 74, HealthBand.Good), strict, { owner }).map((n) => n.trigger)).toEqual(['health.large-drop']);
    // both at once
    expect(noticesFor(health(20, HealthBand.Danger, 70, HealthBand.Good), rules, { owner }).map((n) => n.trigger)).toEqual(['health.danger', 'health.large-drop']);
  });

  it('maps lifecycle events to the owner, and has no recipient without an owner', () => {
    const stalled = ev('cs.lifecycle.onboarding.stalled.v1', { milestone: 'invite-team', dueAt: at.toISOString(), completed: ['signup'], missing: ['invite-team'], detectedAt: at.toISOString() });
    const [n] = noticesFor(stalled, rules, { name: 'Acme', owner });
    expect(n).toMatchObject({ trigger: 'lifecycle.onboarding-stalled', priority: 'normal' });
    expect(n?.facts).toContainEqual(['Missing', 'invite-team']);
    expect(noticesFor(stalled, rules, {})[0]?.recipients).toEqual([]);
    const renewal = ev('cs.lifecycle.renewal-window.opened.v1', { renewalDate: '2026-06-01T00:00:00Z', daysBefore: 90, openedAt: at.toISOString() });
    expect(noticesFor(renewal, rules, { owner })[0]).toMatchObject({ trigger: 'lifecycle.renewal-window', priority: 'low' });
    const touch = ev('cs.lifecycle.touch-model.changed.v1', { from: null, to: 'tech' as never, cause: 'arr below 10000', changedAt: at.toISOString() });
    expect(noticesFor(touch, rules, { owner })[0]?.trigger).toBe('lifecycle.touch-model-changed');
  });

  it('uses the recipient preference for a trigger over the rule', () => {
    const n = { trigger: 'health.danger' as const, channels: [NotificationChannel.Email, NotificationChannel.InApp] };
    expect(channelsFor(n)).toEqual(['email', 'in-app']);
    expect(channelsFor(n, { 'health.danger': [NotificationChannel.Slack] })).toEqual(['slack']);
    expect(channelsFor(n, { 'escalation.assigned': [] })).toEqual(['email', 'in-app']);
  });
});
