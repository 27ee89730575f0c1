import { ContractSize } from '@kizuna/shared/contracts';
import { contractSize, deriveFeatures, utcDay, type AccountFacts } from './account-facts';
import { FEATURES } from './features';

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
