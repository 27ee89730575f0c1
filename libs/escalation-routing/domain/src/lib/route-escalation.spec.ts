import { EscalationReason } from '@kizuna/shared/contracts';
import { DEFAULT_ESCALATION_RULES } from './default-escalation-rules';
import { routeEscalation, type Csm, type RoutingInput, type Team } from './route-escalation';

const now = new Date('2026-05-20T10:00:00Z');
const hours = { timeZone: 'UTC', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
const teams: Team[] = [
  { id: 'emea', name: 'EMEA', region: 'emea', leadCsmId: 'lead', businessHours: hours },
  { id: 'apac', name: 'APAC', region: 'apac', leadCsmId: null, businessHours: hours },
];
const csm = (id: string, extra: Partial<Csm> = {}): Csm => ({
  id, name: id, email: `${id}@example.com`, region: 'emea', teamId: 'emea', specialties: [], capacity: 5, active: true, outOfOffice: null, ...extra,
});
const roster = [
  csm('owner'),
  csm('emea-1'),
  csm('emea-2'),
  csm('onboarder', { teamId: 'apac', region: 'apac', specialties: ['onboarding'] }),
  csm('seller', { teamId: 'apac', region: 'apac', specialties: ['expansion'] }),
  csm('techie', { teamId: null, region: 'amer', specialties: ['technical'] }),
];

function route(over: Partial<RoutingInput> = {}) {
  return routeEscalation({
    rules: DEFAULT_ESCALATION_RULES.routing, reason: EscalationReason.RepeatInquiries, account: { ownerCsmEmail: 'OWNER@example.com', region: 'emea' },
    csms: roster, teams, load: {}, lastAssignedAt: {}, now, ...over,
  });
}
const replace = (id: string, extra: Partial<Csm>) => roster.map((c) => (c.id === id ? { ...c, ...extra } : c));

describe('routeEscalation', () => {
  it('1. the owner CSM when active, in office and under capacity', () => {
    const r = route();
    expect(r).toMatchObject({ csm: { id: 'owner' }, step: 'owner', team: { id: 'emea' } });
    expect(r.why).toMatch(/^owner: the account's owner CSM owner <owner@example.com>, 0\/5 open$/);
  });

  it('2. the region team when the owner is out of office, least loaded member', () => {
    const csms = replace('owner', { outOfOffice: { from: new Date('2026-05-19T00:00:00Z'), to: new Date('2026-05-25T00:00:00Z') } });
    const r = route({ csms, load: { 'emea-1': 2, 'emea-2': 1 } });
    expect(r).toMatchObject({ csm: { id: 'emea-2' }, step: 'region-team', team: { id: 'emea' } });
    expect(r.why).toMatch(/owner: owner is out of office until 2026-05-25T00:00:00.000Z; region-team: least loaded eligible member of team EMEA/);
  });

  it('2. the region team also when the owner is inactive, at capacity, unknown or missing', () => {
    expect(route({ csms: replace('owner', { active: false }) }).why).toMatch(/owner is inactive/);
    expect(route({ load: { owner: 5 } }).why).toMatch(/owner is at capacity \(5\/5\)/);
    expect(route({ account: { ownerCsmEmail: 'gone@example.com', region: 'emea' } }).why).toMatch(/gone@example.com is not on the roster/);
    const r = route({ account: { region: 'emea' } });
    expect(r.step).toBe('region-team');
    expect(r.why).toMatch(/the account has no owner CSM/);
  });

  it('an out-of-office window that is over (or not begun) does not count', () => {
    expect(route({ csms: replace('owner', { outOfOffice: { from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-05-10T00:00:00Z') } }) }).step).toBe('owner');
    expect(route({ csms: replace('owner', { outOfOffice: { from: new Date('2026-06-01T00:00:00Z'), to: new Date('2026-06-10T00:00:00Z') } }) }).step).toBe('owner');
  });

  it('round robin on ties in the team: the member waiting longest since their last assignment', () => {
    const csms = replace('owner', { active: false });
    const r1 = route({ csms, lastAssignedAt: { 'emea-1': new Date('2026-05-20T09:00:00Z'), 'emea-2': new Date('2026-05-20T08:00:00Z') } });
    expect(r1.csm?.id).toBe('emea-2');
    const r2 = route({ csms, lastAssignedAt: { 'emea-1': new Date('2026-05-20T09:00:00Z'), 'emea-2': new Date('2026-05-20T09:30:00Z') } });
    expect(r2.csm?.id).toBe('emea-1');
  });

  it('3. a specialist for the reason when the region team cannot take it', () => {
    const csms = roster.map((c) => (c.teamId === 'emea' ? { ...c, active: false } : c));
    const r = route({ csms, reason: EscalationReason.OnboardingStalled });
    expect(r).toMatchObject({ csm: { id: 'onboarder' }, step: 'specialist', team: { id: 'apac' } });
    expect(r.why).toMatch(/region-team: no eligible member of EMEA \(3 members\); specialist: least loaded eligible onboarding specialist onboarder/);
    expect(route({ csms, account: { region: 'mars' }, reason: EscalationReason.UsageStalled }).csm?.id).toBe('techie');
  });

  it('expansion goes to an expansion specialist first, even with an available owner', () => {
    const r = route({ reason: EscalationReason.ExpansionSignal });
    expect(r).toMatchObject({ csm: { id: 'seller' }, step: 'specialist' });
  });

  it('4. the least-loaded eligible CSM when no specialist can take it, round robin on ties', () => {
    const csms = roster.map((c) => (c.teamId === 'emea' || c.id === 'seller' ? { ...c, active: false } : c));
    const r = route({ csms, reason: EscalationReason.ExpansionSignal, load: { onboarder: 3, techie: 1 } });
    expect(r).toMatchObject({ csm: { id: 'techie' }, step: 'least-loaded' });
    expect(r.why).toMatch(/specialist: no eligible expansion specialist \(1 on the roster\); owner: owner is inactive; region-team: .*; least-loaded: least loaded eligible CSM techie/);
    const tie = route({ csms, reason: EscalationReason.ExpansionSignal, lastAssignedAt: { onboarder: new Date('2026-05-20T09:00:00Z') } });
    expect(tie.csm?.id).toBe('techie');
  });

  it('load is relative to capacity', () => {
    const csms = [csm('a', { capacity: 10 }), csm('b', { capacity: 2 })];
    expect(route({ csms, account: {}, load: { a: 4, b: 1 } }).csm?.id).toBe('a');
  });

  it('excludes a given CSM (the assignee whose SLA was breached)', () => {
    const r = route({ exclude: ['owner'] });
    expect(r.step).toBe('region-team');
    expect(r.why).toMatch(/owner is excluded/);
  });

  it('nobody eligible: unassigned, with every step explained, and the region team kept', () => {
    const r = route({ csms: roster.map((c) => ({ ...c, active: false })) });
    expect(r).toMatchObject({ csm: null, step: null, team: { id: 'emea' } });
    expect(r.why).toMatch(/least-loaded: no eligible CSM \(6 on the roster\); unassigned/);
  });

  it('follows a configured order', () => {
    const rules = { ...DEFAULT_ESCALATION_RULES.routing, defaultSteps: ['least-loaded' as const] };
    expect(route({ rules, load: { owner: 1, 'emea-1': 1, 'emea-2': 1, onboarder: 1, seller: 1 } }).csm?.id).toBe('techie');
    expect(route({ rules: { ...rules, specialtyByReason: {} }, reason: EscalationReason.Manual }).step).toBe('least-loaded');
  });
});
