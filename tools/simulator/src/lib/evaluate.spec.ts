import { EscalationReason, HealthBand, LifecyclePhase } from '@kizuna/shared/contracts';
import { evaluateAgainstTruth, formatEvaluation, type AccountObservation } from './evaluate';
import { simulate } from './simulation';

describe('evaluation against the ground truth', () => {
  const { company } = simulate({ seed: 5, accounts: 40, days: 90, start: '2026-02-02' });
  const truth = company.truth;

  /** An oracle that concludes exactly what the script intends. */
  const perfect = (): AccountObservation[] =>
    truth.map((t) => ({
      accountId: t.accountId,
      band: t.expectedBands[0] ?? null,
      phase: t.expectedPhases[0] ?? null,
      flaggedAt: t.atRiskFrom,
      escalations: t.escalation ? [{ reason: t.escalation.reason, assigneeCsmId: t.ownerCsmId, openedAt: t.atRiskFrom }] : [],
    }));

  it('scores a platform that sees everything as perfect', () => {
    const e = evaluateAgainstTruth(company, perfect());
    expect(e.observed).toBe(40);
    expect(e.atRisk.flagged).toBe(e.atRisk.scripted);
    expect(e.atRisk.scripted).toBe(truth.filter((t) => t.atRisk).length);
    expect(e.churn.flaggedBeforeChurn).toBe(e.churn.churned);
    expect(e.churn.churned).toBeGreaterThan(0);
    expect(e).toMatchObject({ escalations: { missing: [], unexpected: [] }, bands: { off: [] }, phases: { off: [] } });
    expect(e.escalations.opened).toBe(e.escalations.scripted);
    expect(e.escalations.toOwner).toBe(e.escalations.ownerRouted);
    expect(formatEvaluation(e)).toContain(`${e.churn.churned} of ${e.churn.churned} churned accounts were flagged before they churned (100%)`);
  });

  it('counts misses, late flags, false alarms, wrong escalations and unexpected ones', () => {
    const obs = perfect();
    const churner = truth.find((t) => t.churnDate) ;
    const healthy = truth.find((t) => t.persona === 'healthy-growing');
    const heavy = truth.find((t) => t.persona === 'support-heavy');
    const late = obs.find((o) => o.accountId === churner?.accountId) as AccountObservation;
    late.flaggedAt = '2099-01-01T00:00:00.000Z';
    const h = obs.find((o) => o.accountId === healthy?.accountId) as AccountObservation;
    h.flaggedAt = truth[0]?.atRiskFrom ?? '2026-02-10T00:00:00.000Z';
    h.escalations = [{ reason: EscalationReason.AtRiskContact }];
    h.band = HealthBand.Danger;
    h.phase = LifecyclePhase.Churned;
    const s = obs.find((o) => o.accountId === heavy?.accountId) as AccountObservation;
    s.escalations = [{ reason: EscalationReason.UsageStalled, assigneeCsmId: 'someone-else' }];
    const e = evaluateAgainstTruth(company, obs);
    expect(e.churn.notFlaggedInTime).toEqual([churner?.accountId]);
    expect(e.atRisk.falseAlarms).toEqual([healthy?.accountId]);
    expect(e.escalations.unexpected).toEqual([healthy?.accountId]);
    expect(e.escalations.missing).toEqual([heavy?.accountId]);
    expect(e.bands.off).toEqual([{ accountId: healthy?.accountId, expected: [HealthBand.Good], got: HealthBand.Danger }]);
    expect(e.phases.off.map((x) => x.accountId)).toEqual([healthy?.accountId]);
  });

  it('does not count an expansion conversation with a healthy account as a false alarm', () => {
    const obs = perfect();
    const healthy = truth.find((t) => t.persona === 'healthy-growing');
    (obs.find((o) => o.accountId === healthy?.accountId) as AccountObservation).escalations = [{ reason: EscalationReason.ExpansionSignal }];
    expect(evaluateAgainstTruth(company, obs).escalations.unexpected).toEqual([]);
  });
});
