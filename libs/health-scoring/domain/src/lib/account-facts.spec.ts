import { ContractSize, HealthBand } from '@kizuna/shared/contracts';
import { contractSize, deriveFeatures, hasLessThanAWeekOfHistory, utcDay, type AccountFacts } from './account-facts';
import { scoreAccount } from './dear-score';
import { DEFAULT_SCORECARDS } from './default-scorecards';
import { FEATURES } from './features';
import type { Scorecard } from './scorecard';

const base: AccountFacts = {
  seatsPurchased: 50, activeUsers7d: 20, activeUsers30d: 40, sessions7d: 80, sessions30d: 300, events7d: 700, eventsPrev21d: 2100,
  lastActiveDay: '2026-03-10', keyFeaturesUsed30d: 3, keyFeaturesConfigured: 4, valueMilestones: 2, npsLatest: 9, csatAvg90d: 4.5,
  tickets30d: 4, tickets90d: 10, reopened90d: 2, negativeContacts30d: 1, paymentFailed30d: 0, downgraded90d: 0, openEscalations: 2, anyActivity: true,
};
const now = new Date('2026-03-10T18:00:00Z');

describe('deriveFeatures', () => {
  it('computes ratios, trend and recency', () => {
    const f = deriveFeatures(base, now);
    expect(f[FEATURES.seatUtilisation]).toBeCloseTo(0.8);
    expect(f[FEATURES.engagementTrend]).toBeCloseTo(1);
    expect(f[FEATURES.daysSinceLastActivity]).toBe(0);
    expect(f[FEATURES.keyFeaturesUsed30d]).toBe(0.75);
    expect(f[FEATURES.ticketsPerActiveUser30d]).toBe(0.1);
    expect(f[FEATURES.reopenRate90d]).toBe(0.2);
    expect(f[FEATURES.openEscalations]).toBe(2);
  });

  it('decays with silence: days since the last activity grow with the clock', () => {
    expect(deriveFeatures(base, new Date('2026-03-20T00:00:00Z'))[FEATURES.daysSinceLastActivity]).toBe(10);
  });

  it('reports no data rather than zero where nothing is known', () => {
    const f = deriveFeatures(
      { ...base, seatsPurchased: null, lastActiveDay: null, npsLatest: null, csatAvg90d: null, tickets90d: 0, keyFeaturesConfigured: 0, events7d: 0, eventsPrev21d: 0 },
      now,
    );
    for (const k of [FEATURES.seatUtilisation, FEATURES.activeUsers30d, FEATURES.daysSinceLastActivity, FEATURES.engagementTrend, FEATURES.nps, FEATURES.csat, FEATURES.reopenRate90d, FEATURES.keyFeaturesUsed30d]) {
      expect(f[k]).toBeNull();
    }
  });

  it("does not judge a new account's first week on what accumulates over 30 days or a lifetime", () => {
    // Day 2 of a new SMB customer: the admin alone, two sessions, two key features, no milestone yet.
    const first: AccountFacts = {
      ...base, seatsPurchased: 20, activeUsers7d: 1, activeUsers30d: 1, sessions7d: 2, sessions30d: 2, events7d: 6, eventsPrev21d: 0, lastActiveDay: '2026-03-10',
      keyFeaturesUsed30d: 2, keyFeaturesConfigured: 6, valueMilestones: 0, npsLatest: null, csatAvg90d: null, tickets30d: 0, tickets90d: 0, reopened90d: 0,
      negativeContacts30d: 0, openEscalations: 0,
    };
    expect(hasLessThanAWeekOfHistory(first)).toBe(true);
    const f = deriveFeatures(first, now);
    for (const k of [FEATURES.seatUtilisation, FEATURES.activeUsers30d, FEATURES.sessions30d, FEATURES.keyFeaturesUsed30d, FEATURES.valueMilestones]) expect([k, f[k]]).toEqual([k, null]);
    // What the first days do say still counts.
    expect(f).toMatchObject({ [FEATURES.daysSinceLastActivity]: 0, [FEATURES.sessions7d]: 2, [FEATURES.activeUsers7d]: 1, [FEATURES.engagementTrend]: 1.5 });
    const smb = DEFAULT_SCORECARDS.find((c) => c.id === 'smb') as Scorecard;
    const score = scoreAccount(f, smb, now);
    expect(score.components.find((c) => c.key === 'deployment')?.status).toBe('no-data');
    expect(score.components.find((c) => c.key === 'adoption')?.measures.find((m) => m.key === 'key_features_used')?.status).toBe('no-data');
    // Judged on the 30-day measures the same day, the account would read as a failure (danger).
    const judged = scoreAccount({ ...f, [FEATURES.seatUtilisation]: 1 / 20, [FEATURES.activeUsers30d]: 1, [FEATURES.sessions30d]: 2, [FEATURES.keyFeaturesUsed30d]: 2 / 6, [FEATURES.valueMilestones]: 0 }, smb, now);
    expect(judged.band).toBe(HealthBand.Danger);
    expect(score.band).not.toBe(HealthBand.Danger);

    // From the second week on (activity before the last 7 days) every measure counts again.
    const second = deriveFeatures({ ...first, eventsPrev21d: 10, activeUsers30d: 3, sessions30d: 9 }, now);
    expect(hasLessThanAWeekOfHistory({ ...first, eventsPrev21d: 10 })).toBe(false);
    expect(second).toMatchObject({ [FEATURES.seatUtilisation]: 3 / 20, [FEATURES.activeUsers30d]: 3, [FEATURES.sessions30d]: 9, [FEATURES.valueMilestones]: 0 });
    expect(second[FEATURES.keyFeaturesUsed30d]).toBeCloseTo(1 / 3);
    // A silent account is not young: its emptiness is data.
    expect(hasLessThanAWeekOfHistory({ ...first, events7d: 0, eventsPrev21d: 0 })).toBe(false);
    expect(deriveFeatures({ ...first, events7d: 0, eventsPrev21d: 0 }, now)[FEATURES.seatUtilisation]).toBeCloseTo(1 / 20);
  });

  it('treats a new account with activity and no history as growing', () => {
    expect(deriveFeatures({ ...base, eventsPrev21d: 0, events7d: 5 }, now)[FEATURES.engagementTrend]).toBe(1.5);
    expect(deriveFeatures({ ...base, eventsPrev21d: 0, events7d: 0 }, now)[FEATURES.engagementTrend]).toBe(0);
  });
});

describe('contractSize', () => {
  it('classifies by plan and ARR', () => {
    expect(contractSize({ plan: 'Free Trial', arr: 50_000 })).toBe(ContractSize.Freemium);
    expect(contractSize({ plan: null, arr: 0 })).toBe(ContractSize.Freemium);
    expect(contractSize({ plan: 'pro', arr: 99_999 })).toBe(ContractSize.Smb);
    expect(contractSize({ plan: 'pro', arr: 100_000 })).toBe(ContractSize.Enterprise);
    expect(contractSize({ plan: 'pro', arr: null })).toBeUndefined();
  });
});

describe('utcDay', () => {
  it('formats the UTC day', () => {
    expect(utcDay(new Date('2026-03-10T23:59:59.999Z'))).toBe('2026-03-10');
  });
});
