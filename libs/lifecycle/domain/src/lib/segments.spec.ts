import { ContractSize, HealthBand, NpsLoyalty, UsageStatus } from '@kizuna/shared/contracts';
import { DEFAULT_LIFECYCLE_RULES as R } from './lifecycle-rules';
import { computeSegments, contractSizeOf, decideContractSize, deriveSegments, diffSegments, npsLoyaltyOf, usageStatusOf, type SegmentFacts } from './segments';
import { day, onDay } from './lifecycle.test-helper';

describe('contract size', () => {
  it.each<[number | null, string | null, ContractSize | undefined]>([
    [100_000, 'Pro', ContractSize.Enterprise],
    [250_000, null, ContractSize.Enterprise],
    [99_999.99, 'Pro', ContractSize.Smb],
    [0.01, null, ContractSize.Smb],
    [0, 'Pro', ContractSize.Freemium],
    [0, null, ContractSize.Freemium],
    [500_000, 'Free Trial', ContractSize.Freemium],
    [500_000, 'FREE', ContractSize.Freemium],
    [20_000, 'trial-2026', ContractSize.Freemium],
    [null, 'Starter Free', ContractSize.Freemium],
    [null, 'Pro', undefined],
    [null, null, undefined],
  ])('ARR %s, plan %s → %s', (arr, plan, expected) => {
    expect(contractSizeOf({ arr, plan }, R.contractSize)).toBe(expected);
  });

  it('uses the configured threshold and plan patterns', () => {
    const rules = { enterpriseMinArr: 50_000, freemiumPlans: ['community'] };
    expect(contractSizeOf({ arr: 50_000, plan: 'Free' }, rules)).toBe(ContractSize.Enterprise);
    expect(contractSizeOf({ arr: 50_000, plan: 'Community Edition' }, rules)).toBe(ContractSize.Freemium);
  });

  it('says why', () => {
    expect(decideContractSize({ arr: 120_000, plan: null }, R.contractSize)?.reason).toBe('ARR 120000 >= 100000');
    expect(decideContractSize({ arr: 5, plan: 'Free Trial' }, R.contractSize)?.reason).toBe("plan 'Free Trial' is a freemium plan ('trial')");
    expect(decideContractSize({ arr: 0, plan: null }, R.contractSize)?.reason).toBe('ARR 0');
  });
});

describe('usage status', () => {
  const status = (startedAt: string | null, lastActivityAt: string | null, now: number) => usageStatusOf({ startedAt, lastActivityAt }, R.usage, onDay(now));

  it('is new during the first newDays, whatever the activity', () => {
    expect(status(day(0), null, 0)).toBe(UsageStatus.New);
    expect(status(day(0), day(1), 13.99)).toBe(UsageStatus.New);
    expect(status(day(10), null, 5)).toBe(UsageStatus.New); // a start in the future
  });

  it('then active while the last activity is less than dormantDays old', () => {
    expect(status(day(0), day(10), 14)).toBe(UsageStatus.Active);
    expect(status(day(0), day(10), 39.99)).toBe(UsageStatus.Active);
    expect(status(day(0), day(50), 40)).toBe(UsageStatus.Active); // activity "in the future" (clock skew)
  });

  it('then dormant from exactly dormantDays without activity, or with no activity ever', () => {
    expect(status(day(0), day(10), 40)).toBe(UsageStatus.Dormant);
    expect(status(day(0), null, 14)).toBe(UsageStatus.Dormant);
  });

  it('without a start: by activity alone; without either: unknown', () => {
    expect(status(null, day(10), 20)).toBe(UsageStatus.Active);
    expect(status(null, day(10), 40)).toBe(UsageStatus.Dormant);
    expect(status(null, null, 40)).toBeUndefined();
  });

  it('honours the configured days', () => {
    expect(usageStatusOf({ startedAt: day(0), lastActivityAt: day(0) }, { newDays: 0, dormantDays: 7 }, onDay(0))).toBe(UsageStatus.Active);
    expect(usageStatusOf({ startedAt: day(0), lastActivityAt: day(0) }, { newDays: 0, dormantDays: 7 }, onDay(7))).toBe(UsageStatus.Dormant);
  });
});

describe('NPS loyalty', () => {
  it.each([
    [0, NpsLoyalty.Detractor],
    [1, NpsLoyalty.Detractor],
    [2, NpsLoyalty.Detractor],
    [3, NpsLoyalty.Detractor],
    [4, NpsLoyalty.Detractor],
    [5, NpsLoyalty.Detractor],
    [6, NpsLoyalty.Detractor],
    [7, NpsLoyalty.Passive],
    [8, NpsLoyalty.Passive],
    [9, NpsLoyalty.Promoter],
    [10, NpsLoyalty.Promoter],
  ])('%i → %s', (score, loyalty) => {
    expect(npsLoyaltyOf(score, R.nps)).toBe(loyalty);
  });

  it('honours configured bounds', () => {
    expect(npsLoyaltyOf(9, { promoterMin: 10, passiveMin: 8 })).toBe(NpsLoyalty.Passive);
    expect(npsLoyaltyOf(7, { promoterMin: 10, passiveMin: 8 })).toBe(NpsLoyalty.Detractor);
  });

  it.each([-1, 11, 7.5, NaN])('rejects %s', (score) => {
    expect(() => npsLoyaltyOf(score, R.nps)).toThrow(RangeError);
  });
});

describe('computeSegments', () => {
  const facts: SegmentFacts = {
    arr: 20_000,
    plan: 'Pro',
    startedAt: day(0),
    lastActivityAt: day(20),
    latestNps: 8,
    healthBand: HealthBand.Caution,
    industry: 'saas',
    region: 'emea',
  };

  it('gives every dimension it has facts for', () => {
    expect(computeSegments(facts, R, onDay(30))).toEqual({
      'contract-size': 'smb',
      'usage-status': 'active',
      'nps-loyalty': 'passive',
      'health-band': 'caution',
      industry: 'saas',
      region: 'emea',
    });
  });

  it('leaves out the dimensions without facts (and blank traits)', () => {
    const none: SegmentFacts = { arr: null, plan: null, startedAt: null, lastActivityAt: null, latestNps: null, healthBand: null, industry: ' ', region: null };
    expect(computeSegments(none, R, onDay(30))).toEqual({});
  });

  it('explains each value', () => {
    expect(deriveSegments(facts, R, onDay(30)).reasons).toEqual({
      'contract-size': 'ARR 20000 > 0 and < 100000',
      'usage-status': `last activity ${day(20)}, less than 30 days ago`,
      'nps-loyalty': 'latest NPS 8 in 7..8',
      'health-band': 'latest health band caution',
      industry: "trait 'saas'",
      region: "trait 'emea'",
    });
    expect(deriveSegments({ ...facts, latestNps: 10 }, R, onDay(30)).reasons['nps-loyalty']).toBe('latest NPS 10 >= 9');
    expect(deriveSegments({ ...facts, latestNps: 2 }, R, onDay(30)).reasons['nps-loyalty']).toBe('latest NPS 2 < 7');
    expect(deriveSegments({ ...facts, lastActivityAt: day(1) }, R, onDay(32)).reasons['usage-status']).toBe(`no activity for 31 days (last ${day(1)}; dormant after 30)`);
    expect(deriveSegments({ ...facts, lastActivityAt: null }, R, onDay(32)).reasons['usage-status']).toBe(`no product activity since the start (${day(0)})`);
  });
});

describe('diffSegments', () => {
  it('emits one change per changed dimension, in dimension order, new ones from null', () => {
    const before = { region: 'emea', 'usage-status': 'new', 'contract-size': 'smb' };
    const after = { region: 'apac', 'usage-status': 'active', 'contract-size': 'smb', 'nps-loyalty': 'promoter', zeta: 'z', alpha: 'a' };
    expect(diffSegments(before, after, 'because', day(1))).toEqual([
      { dimension: 'usage-status', from: 'new', to: 'active', cause: 'because', changedAt: day(1) },
      { dimension: 'nps-loyalty', from: null, to: 'promoter', cause: 'because', changedAt: day(1) },
      { dimension: 'region', from: 'emea', to: 'apac', cause: 'because', changedAt: day(1) },
      { dimension: 'alpha', from: null, to: 'a', cause: 'because', changedAt: day(1) },
      { dimension: 'zeta', from: null, to: 'z', cause: 'because', changedAt: day(1) },
    ]);
  });

  it('emits nothing for equal segments or a dimension that disappeared', () => {
    expect(diffSegments({ region: 'emea' }, { region: 'emea' }, 'x', day(1))).toEqual([]);
    expect(diffSegments({ region: 'emea', industry: 'saas' }, { region: 'emea' }, 'x', day(1))).toEqual([]);
  });

  it('computes the cause per dimension when given a function', () => {
    expect(diffSegments({}, { region: 'emea' }, (d, from, to) => `${d}:${from}->${to}`, day(1))).toEqual([
      { dimension: 'region', from: null, to: 'emea', cause: 'region:null->emea', changedAt: day(1) },
    ]);
  });
});
