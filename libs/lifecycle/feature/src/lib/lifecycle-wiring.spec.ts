import { DEFAULT_LIFECYCLE_RULES, keyed, type KeyedSignal } from '@kizuna/lifecycle/domain';
import { parseResetEvents } from './lifecycle.config';
import { deterministicId, effectiveSignals, transitionOf } from './lifecycle-engine.service';
import { parseSegment, segmentCondition } from './lifecycle-kpis.service';

describe('lifecycle wiring (pure parts)', () => {
  it('derives the same UUID-shaped id from the same parts, another from other parts', () => {
    const a = deterministicId('acme', 'phase', 'onboarding', 'adoption', '2026-01-01T00:00:00.000Z');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicId('acme', 'phase', 'onboarding', 'adoption', '2026-01-01T00:00:00.000Z')).toBe(a);
    expect(deterministicId('acme', 'phase', 'onboarding', 'adoption', '2026-01-02T00:00:00.000Z')).not.toBe(a);
    // parts are separated: ('ab', 'c') is not ('a', 'bc')
    expect(deterministicId('ab', 'c')).not.toBe(deterministicId('a', 'bc'));
  });

  it('identifies a phase change by account, edge and instant, a renewal window by its date, a stall by milestone and due date', () => {
    const phase = transitionOf('acme', { type: 'cs.lifecycle.phase.changed.v1', data: { from: null, to: 'onboarding' as never, cause: 'x', changedAt: '2026-01-01T00:00:00.000Z' } }, DEFAULT_LIFECYCLE_RULES);
    const again = transitionOf('acme', { type: 'cs.lifecycle.phase.changed.v1', data: { from: null, to: 'onboarding' as never, cause: 'other words', changedAt: '2026-01-01T00:00:00.000Z' } }, DEFAULT_LIFECYCLE_RULES);
    expect(again.eventId).toBe(phase.eventId);
    expect(phase).toMatchObject({ kind: 'phase', from: null, to: 'onboarding' });
    const window = (openedAt: string) =>
      transitionOf('acme', { type: 'cs.lifecycle.renewal-window.opened.v1', data: { renewalDate: '2027-01-01T00:00:00.000Z', daysBefore: 90, openedAt } }, DEFAULT_LIFECYCLE_RULES);
    expect(window('2026-10-03T00:00:00.000Z').eventId).toBe(window('2026-10-05T00:00:00.000Z').eventId);
    expect(window('2026-10-03T00:00:00.000Z').data['cause']).toMatch(/renewal on 2027-01-01.*90 days before/);
    const stall = transitionOf(
      'acme',
      { type: 'cs.lifecycle.onboarding.stalled.v1', data: { milestone: 'Teammate Invited', dueAt: '2026-01-08T00:00:00.000Z', completed: [], missing: ['Teammate Invited'], detectedAt: '2026-01-08T00:00:00.000Z' } },
      DEFAULT_LIFECYCLE_RULES,
    );
    expect(stall).toMatchObject({ kind: 'onboarding-stalled', dimension: 'Teammate Invited', to: '2026-01-08T00:00:00.000Z' });
    expect(stall.cause).toMatch(/Teammate Invited.*was due/);
  });

  it('treats every admin but the first (by time) as a change of admin', () => {
    const admin = (user: string, at: string): KeyedSignal => keyed(`admin:${user}:first`, { type: 'reset', at, reason: 'admin-changed' });
    const other = keyed('dir:s:1', { type: 'account-updated', at: '2026-01-01T00:00:00Z', traits: { arr: 1 } });
    const rows = [admin('b', '2026-02-01T00:00:00Z'), other, admin('a', '2026-01-01T00:00:00Z')];
    expect(effectiveSignals(rows).map((r) => r.key)).toEqual(['admin:b:first', 'dir:s:1']);
    expect(effectiveSignals([other])).toEqual([other]);
  });

  it('parses reset events and segment filters', () => {
    expect([...parseResetEvents('New Workspace Created=new-workspace, Admin Changed = admin-changed,Plain')]).toEqual([
      ['New Workspace Created', 'new-workspace'],
      ['Admin Changed', 'admin-changed'],
      ['Plain', 'reset'],
    ]);
    expect(parseSegment('contract-size:smb')).toEqual({ dimension: 'contract-size', value: 'smb' });
    expect(parseSegment('smb')).toEqual({ value: 'smb' });
    expect(segmentCondition({ dimension: 'region', value: 'emea' }, 3)).toEqual({ sql: 'segments ->> $3 = $4', params: ['region', 'emea'] });
    expect(segmentCondition({ value: 'emea' }, 1).params).toEqual(['emea']);
  });
});
