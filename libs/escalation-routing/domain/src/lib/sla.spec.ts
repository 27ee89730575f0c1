import { EscalationState } from '@kizuna/shared/contracts';
import { addBusinessMinutes, isBusinessTime } from './business-hours';
import { DEFAULT_ESCALATION_RULES } from './default-escalation-rules';
import { validateRuleSet, validateTeamHours } from './escalation-rules';
import { acknowledgeDueAt, isAcknowledgeOverdue } from './sla';
import { workflowRefusal } from './workflow';

const tokyo = { timeZone: 'Asia/Tokyo', days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' };
const sla = DEFAULT_ESCALATION_RULES.sla;

describe('business hours', () => {
  it('counts only working time in the team time zone', () => {
    // Friday 17:00 in Tokyo (08:00 UTC) + 2 business hours -> Monday 10:00 Tokyo (01:00 UTC)
    expect(addBusinessMinutes(new Date('2026-05-22T08:00:00Z'), 120, tokyo).toISOString()).toBe('2026-05-25T01:00:00.000Z');
    // before opening: starts at 09:00
    expect(addBusinessMinutes(new Date('2026-05-19T22:00:00Z'), 30, tokyo).toISOString()).toBe('2026-05-20T00:30:00.000Z');
    expect(isBusinessTime(new Date('2026-05-20T01:00:00Z'), tokyo)).toBe(true);
    expect(isBusinessTime(new Date('2026-05-23T01:00:00Z'), tokyo)).toBe(false); // Saturday
  });

  it('honours daylight saving time', () => {
    const berlin = { timeZone: 'Europe/Berlin', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
    // Friday 27 March 2026 16:00 CET (15:00 UTC) + 2 h -> Monday 30 March 10:00 CEST (08:00 UTC)
    expect(addBusinessMinutes(new Date('2026-03-27T15:00:00Z'), 120, berlin).toISOString()).toBe('2026-03-30T08:00:00.000Z');
  });
});

describe('acknowledge SLA', () => {
  const opened = new Date('2026-05-22T08:00:00Z'); // Friday 17:00 Tokyo
  it('high: one calendar hour', () => {
    expect(acknowledgeDueAt(opened, 'high', sla, tokyo).toISOString()).toBe('2026-05-22T09:00:00.000Z');
  });
  it('normal: one business day of the team (9 h in Tokyo)', () => {
    // 1 h left Friday... none (17:00-18:00 = 1 h), then 8 h Monday: Monday 17:00 Tokyo
    expect(acknowledgeDueAt(opened, 'normal', sla, tokyo).toISOString()).toBe('2026-05-25T08:00:00.000Z');
  });
  it('without a team: the default business hours (UTC 09-17)', () => {
    // Friday 08:00 UTC: the 8 business hours are Friday 09:00-17:00
    expect(acknowledgeDueAt(opened, 'normal', sla, null).toISOString()).toBe('2026-05-22T17:00:00.000Z');
    const bh = { ...sla, acknowledge: { ...sla.acknowledge, low: { amount: 2, unit: 'business-hours' as const } } };
    expect(acknowledgeDueAt(new Date('2026-05-22T16:00:00Z'), 'low', bh).toISOString()).toBe('2026-05-25T10:00:00.000Z');
    const mins = { ...sla, acknowledge: { ...sla.acknowledge, low: { amount: 15, unit: 'minutes' as const } } };
    expect(acknowledgeDueAt(opened, 'low', mins).toISOString()).toBe('2026-05-22T08:15:00.000Z');
  });
  it('is overdue from the due time on', () => {
    expect(isAcknowledgeOverdue(new Date('2026-05-22T09:00:00Z'), new Date('2026-05-22T09:00:00Z'))).toBe(true);
    expect(isAcknowledgeOverdue(new Date('2026-05-22T09:00:00Z'), new Date('2026-05-22T08:59:00Z'))).toBe(false);
    expect(isAcknowledgeOverdue(null, new Date())).toBe(false);
  });
});

describe('rule set validation', () => {
  it('accepts the seed', () => {
    expect(validateRuleSet(DEFAULT_ESCALATION_RULES)).toEqual({ ok: true, ruleSet: DEFAULT_ESCALATION_RULES });
  });
  it('names every problem', () => {
    const bad = structuredClone(DEFAULT_ESCALATION_RULES) as unknown as Record<string, Record<string, Record<string, unknown>>>;
    (bad['rules'] as Record<string, Record<string, unknown>>)['repeatInquiries'] = { enabled: 'yes', priority: 'urgent', count: 1, windowDays: 14, extra: 1 };
    (bad['routing'] as Record<string, unknown>)['defaultSteps'] = ['owner', 'owner', 'dice'];
    (bad['sla'] as Record<string, unknown>)['defaultBusinessHours'] = { timeZone: 'Mars/Base', days: [7], start: '18:00', end: '09:00' };
    const r = validateRuleSet(bad);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual(expect.arrayContaining([
      'rules.repeatInquiries.extra: is not a known setting',
      'rules.repeatInquiries.enabled: must be a boolean',
      'rules.repeatInquiries.priority: must be one of low, normal, high',
      'rules.repeatInquiries.count: must be between 2 and 100, got 1',
      'routing.defaultSteps[2]: must be one of owner, region-team, specialist, least-loaded',
      'routing.defaultSteps: must not repeat a step',
      'sla.defaultBusinessHours.timeZone: must be an IANA time zone, e.g. Europe/Berlin',
      'sla.defaultBusinessHours.days: must be distinct weekdays 0 (Sunday) .. 6 (Saturday)',
      'sla.defaultBusinessHours.end: must be after start',
    ]));
    expect(validateRuleSet(null)).toEqual({ ok: false, errors: ['(root): must be an object'] });
    expect(validateTeamHours(tokyo)).toEqual([]);
    expect(validateTeamHours({ ...tokyo, start: '9am' })).toEqual(['businessHours.start: must be HH:MM (24 h)']);
  });
});

describe('workflow', () => {
  it('refuses actions on closed escalations and acknowledging without an assignee', () => {
    expect(workflowRefusal(EscalationState.Resolved, 'acknowledge', true)).toMatch(/closed/);
    expect(workflowRefusal(EscalationState.HandedBack, 'reassign', true)).toMatch(/closed/);
    expect(workflowRefusal(EscalationState.Open, 'acknowledge', false)).toMatch(/no assignee/);
    expect(workflowRefusal(EscalationState.Acknowledged, 'acknowledge', true)).toMatch(/already/);
    expect(workflowRefusal(EscalationState.Assigned, 'acknowledge', true)).toBeNull();
    expect(workflowRefusal(EscalationState.Acknowledged, 'hand-back', true)).toBeNull();
  });
});
