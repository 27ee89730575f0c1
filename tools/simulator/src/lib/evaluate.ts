import { EscalationReason } from '@kizuna/shared/contracts';
import type { Company, GroundTruth, Persona } from './model';

/** What the platform concluded about one account (read from its public APIs by the caller). */
export interface AccountObservation {
  accountId: string;
  band?: string | null;
  phase?: string | null;
  /** First time the platform flagged the account at risk (e.g. danger band or retention phase), if ever. */
  flaggedAt?: string | null;
  escalations?: { reason: string; assigneeCsmId?: string | null; openedAt?: string | null }[];
}

export interface Evaluation {
  accounts: number;
  observed: number;
  atRisk: { scripted: number; flagged: number; missed: string[]; falseAlarms: string[] };
  churn: { churned: number; flaggedBeforeChurn: number; notFlaggedInTime: string[] };
  escalations: {
    scripted: number;
    /** Accounts whose scripted escalation (its reason or a legitimate alternative) was opened. */
    opened: number;
    missing: string[];
    /** Accounts scripted to need no escalation that got one. */
    unexpected: string[];
    /** Of the opened ones routed 'owner' by the script, how many went to the owner CSM. */
    toOwner: number;
    ownerRouted: number;
  };
  bands: { asExpected: number; observed: number; off: { accountId: string; expected: string[]; got: string }[] };
  phases: { asExpected: number; observed: number; off: { accountId: string; expected: string[]; got: string }[] };
  byPersona: Partial<Record<Persona, { accounts: number; flagged: number; escalated: number; bandAsExpected: number; phaseAsExpected: number }>>;
}

/**
 * Compares what the platform concluded with the personas' ground truth: at-risk accounts flagged
 * (and before they churned), scripted escalations opened and to whom, bands and phases as
 * expected. Pure: the caller reads the observations from the services' APIs.
 */
export function evaluateAgainstTruth(company: Pick<Company, 'truth'>, observations: readonly AccountObservation[]): Evaluation {
  const seen = new Map(observations.map((o) => [o.accountId, o]));
  const e: Evaluation = {
    accounts: company.truth.length, observed: 0,
    atRisk: { scripted: 0, flagged: 0, missed: [], falseAlarms: [] },
    churn: { churned: 0, flaggedBeforeChurn: 0, notFlaggedInTime: [] },
    escalations: { scripted: 0, opened: 0, missing: [], unexpected: [], toOwner: 0, ownerRouted: 0 },
    bands: { asExpected: 0, observed: 0, off: [] },
    phases: { asExpected: 0, observed: 0, off: [] },
    byPersona: {},
  };
  for (const t of company.truth) {
    const o = seen.get(t.accountId);
    const p = (e.byPersona[t.persona] ??= { accounts: 0, flagged: 0, escalated: 0, bandAsExpected: 0, phaseAsExpected: 0 });
    p.accounts++;
    if (!o) continue;
    e.observed++;
    const flagged = !!o.flaggedAt;
    if (flagged) p.flagged++;
    if (t.atRisk) {
      e.atRisk.scripted++;
      if (flagged) e.atRisk.flagged++;
      else e.atRisk.missed.push(t.accountId);
    } else if (flagged) e.atRisk.falseAlarms.push(t.accountId);
    if (t.churnDate) {
      e.churn.churned++;
      if (o.flaggedAt && o.flaggedAt < t.churnDate) e.churn.flaggedBeforeChurn++;
      else e.churn.notFlaggedInTime.push(t.accountId);
    }
    evaluateEscalation(e, t, o, p);
    if (o.band) {
      e.bands.observed++;
      if ((t.expectedBands as string[]).includes(o.band)) {
        e.bands.asExpected++;
        p.bandAsExpected++;
      } else e.bands.off.push({ accountId: t.accountId, expected: t.expectedBands, got: o.band });
    }
    if (o.phase) {
      e.phases.observed++;
      if ((t.expectedPhases as string[]).includes(o.phase)) {
        e.phases.asExpected++;
        p.phaseAsExpected++;
      } else e.phases.off.push({ accountId: t.accountId, expected: t.expectedPhases, got: o.phase });
    }
  }
  return e;
}

function evaluateEscalation(e: Evaluation, t: GroundTruth, o: AccountObservation, p: { escalated: number }): void {
  const opened = o.escalations ?? [];
  if (opened.length > 0) p.escalated++;
  if (!t.escalation) {
    // An expansion conversation is not a false alarm; a risk escalation on a healthy account is (on an
    // at-risk account whose script causes none, any escalation is legitimate).
    if (!t.atRisk && opened.some((x) => x.reason !== EscalationReason.ExpansionSignal)) e.escalations.unexpected.push(t.accountId);
    return;
  }
  e.escalations.scripted++;
  const accepted = new Set<string>([t.escalation.reason, ...t.escalation.also]);
  const match = opened.find((x) => x.reason === t.escalation?.reason) ?? opened.find((x) => accepted.has(x.reason));
  if (!match) {
    e.escalations.missing.push(t.accountId);
    return;
  }
  e.escalations.opened++;
  if (t.escalation.route === 'owner' && t.ownerCsmId) {
    e.escalations.ownerRouted++;
    if (match.assigneeCsmId === t.ownerCsmId) e.escalations.toOwner++;
  }
}

/** A few lines for the demo's summary. */
export function formatEvaluation(e: Evaluation): string {
  const pct = (a: number, b: number) => (b === 0 ? '-' : `${Math.round((100 * a) / b)}%`);
  return [
    `ground truth (${e.observed}/${e.accounts} accounts observed):`,
    `  at risk: ${e.atRisk.flagged} of ${e.atRisk.scripted} scripted at-risk accounts flagged (${pct(e.atRisk.flagged, e.atRisk.scripted)}), ${e.atRisk.falseAlarms.length} healthy accounts flagged`,
    `  churn: ${e.churn.flaggedBeforeChurn} of ${e.churn.churned} churned accounts were flagged before they churned (${pct(e.churn.flaggedBeforeChurn, e.churn.churned)})`,
    `  escalations: ${e.escalations.opened} of ${e.escalations.scripted} scripted escalations opened, ${e.escalations.unexpected.length} unexpected; ` +
      `${e.escalations.toOwner} of ${e.escalations.ownerRouted} went to the owner CSM`,
    `  bands as scripted: ${e.bands.asExpected}/${e.bands.observed}; phases as scripted: ${e.phases.asExpected}/${e.phases.observed}`,
  ].join('\n');
}
