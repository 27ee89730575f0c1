import { HealthBand, LifecyclePhase, TouchModel } from '@kizuna/shared/contracts';
import {
  accountsPerPhase,
  accountsPerTouchModel,
  averageLtv,
  averageRevenuePerAccount,
  computeKpis,
  csatAverage,
  grossRevenueRetention,
  healthDistribution,
  logoChurnRate,
  ltvToCac,
  medianTimeToOnboard,
  netPromoterScore,
  netRevenueRetention,
  onboardingCompletionRate,
  onboardingRecordOf,
  revenueChurnRate,
  revenueFromMrr,
  valueBefore,
  type AccountHistory,
  type AccountRevenue,
  type KpiInput,
  type OnboardingRecord,
  type Period,
  type SurveyAnswer,
} from './kpis';
import { activity, MILESTONES, on, R, run, START } from './lifecycle.test-helper';

/**
 * Two periods, figures computed by hand in the comments:
 *   P1 = January 2026:            [2026-01-01, 2026-01-31)  30 days
 *   P2 = February to April 2026:  [2026-01-31, 2026-05-01)  90 days (1 + 28 + 31 + 30)
 * A change at exactly 2026-01-31T00:00 belongs to P2, not P1.
 */
const P1: Period = { from: '2026-01-01T00:00:00.000Z', to: '2026-01-31T00:00:00.000Z' };
const P2: Period = { from: '2026-01-31T00:00:00.000Z', to: '2026-05-01T00:00:00.000Z' };

const at = (date: string): string => new Date(date).toISOString();
const history = <T>(accountId: string, ...entries: [string, T][]): AccountHistory<T> => ({ accountId, entries: entries.map(([d, value]) => ({ at: at(d), value })) });

const { Onboarding: O, Adoption: A, Expansion: E, Renewal: RN, Retention: T, Churned: C } = LifecyclePhase;

const phases: AccountHistory<LifecyclePhase>[] = [
  history('a', ['2025-12-01', O], ['2025-12-10', A]),
  history('b', ['2025-11-01', A], ['2026-01-15', C]),
  history('c', ['2026-01-20', C], ['2025-11-01', A], ['2026-01-25', T], ['2026-03-01', C]), // entries in any order
  history('d', ['2026-01-05', O], ['2026-01-20', A]),
  history('e', ['2025-10-01', A], ['2025-12-15', C]),
  history('f', ['2025-12-01', E], ['2026-02-10', RN], ['2026-04-30T23:00:00Z', C]),
  history('g', ['2025-12-01', A], ['2026-01-31T00:00:00Z', C]),
];

describe('valueBefore', () => {
  it('is the latest entry strictly before the instant', () => {
    expect(valueBefore(phases[2], at('2026-01-20'))).toBe(A);
    expect(valueBefore(phases[2], at('2026-01-20T00:00:00.001Z'))).toBe(C);
    expect(valueBefore(phases[2], at('2025-01-01'))).toBeNull();
  });

  it('rejects an unparseable entry', () => {
    expect(() => valueBefore({ accountId: 'x', entries: [{ at: 'soon', value: 1 }] }, at('2026-01-01'))).toThrow("x: entry at 'soon' is not an ISO 8601 instant");
  });
});

describe('logo churn rate', () => {
  it('P1: customers at the start a, b, c, f, g (d not yet, e churned); churned at the end: b (c came back, g churns on the 31st) → 1/5', () => {
    expect(logoChurnRate(phases, P1).value).toBe(0.2);
  });

  it('P2: customers at the start a, c, d, f, g; churned at the end: c, f, g → 3/5', () => {
    expect(logoChurnRate(phases, P2).value).toBe(0.6);
  });

  it('is null without customers at the start', () => {
    expect(logoChurnRate([history('e', ['2025-12-15', C])], P1).value).toBeNull();
  });
});

/**
 * Revenue (MRR):
 *   P1: a 1000 (+200 expansion), b 500 (churned 500), c 800 (contraction 200), d new logo (0 → 300: not in the base),
 *       f 2000, g 700.       Start 5000 over 5 accounts; lost 700; expansion 200.
 *   P2: a 1200 (+300), c 600 (churned), d 300 (contraction 50), f 2000 (churned), g 700 (churned),
 *       h new logo, i 100 with inconsistent figures (churned 100 + contraction 50: capped at 100).
 *       Start 4900 over 6 accounts; lost 600 + 50 + 2000 + 700 + 100 = 3450; expansion 300.
 */
const revenueP1: AccountRevenue[] = [
  { accountId: 'a', mrrStart: 1000, mrrEnd: 1200, churned: 0, expansion: 200, contraction: 0 },
  { accountId: 'b', mrrStart: 500, mrrEnd: 0, churned: 500, expansion: 0, contraction: 0 },
  { accountId: 'c', mrrStart: 800, mrrEnd: 600, churned: 0, expansion: 0, contraction: 200 },
  { accountId: 'd', mrrStart: 0, mrrEnd: 300, churned: 0, expansion: 300, contraction: 0 },
  { accountId: 'f', mrrStart: 2000, mrrEnd: 2000, churned: 0, expansion: 0, contraction: 0 },
  { accountId: 'g', mrrStart: 700, mrrEnd: 700, churned: 0, expansion: 0, contraction: 0 },
];
const revenueP2: AccountRevenue[] = [
  { accountId: 'a', mrrStart: 1200, mrrEnd: 1500, churned: 0, expansion: 300, contraction: 0 },
  { accountId: 'c', mrrStart: 600, mrrEnd: 0, churned: 600, expansion: 0, contraction: 0 },
  { accountId: 'd', mrrStart: 300, mrrEnd: 250, churned: 0, expansion: 0, contraction: 50 },
  { accountId: 'f', mrrStart: 2000, mrrEnd: 0, churned: 2000, expansion: 0, contraction: 0 },
  { accountId: 'g', mrrStart: 700, mrrEnd: 0, churned: 700, expansion: 0, contraction: 0 },
  { accountId: 'h', mrrStart: 0, mrrEnd: 400, churned: 0, expansion: 0, contraction: 0 },
  { accountId: 'i', mrrStart: 100, mrrEnd: 0, churned: 100, expansion: 0, contraction: 50 },
];

describe('revenue KPIs', () => {
  it('revenue churn: P1 700/5000; P2 3450/4900', () => {
    expect(revenueChurnRate(revenueP1, P1).value).toBeCloseTo(0.14, 12);
    expect(revenueChurnRate(revenueP2, P2).value).toBeCloseTo(3450 / 4900, 12); // 0.70408…
  });

  it('GRR: P1 (5000 - 700)/5000; P2 (4900 - 3450)/4900', () => {
    expect(grossRevenueRetention(revenueP1, P1).value).toBeCloseTo(0.86, 12);
    expect(grossRevenueRetention(revenueP2, P2).value).toBeCloseTo(1450 / 4900, 12); // 0.29591…
  });

  it('NRR includes expansion (not new logos): P1 (5000 - 700 + 200)/5000; P2 (4900 - 3450 + 300)/4900', () => {
    expect(netRevenueRetention(revenueP1, P1).value).toBeCloseTo(0.9, 12);
    expect(netRevenueRetention(revenueP2, P2).value).toBeCloseTo(5 / 14, 12); // 1750/4900
    const growing = [{ accountId: 'a', mrrStart: 100, mrrEnd: 130, churned: 0, expansion: 40, contraction: 10 }];
    expect(netRevenueRetention(growing, P1).value).toBeCloseTo(1.3, 12);
  });

  it('ARPA: P1 5000/5; P2 4900/6', () => {
    expect(averageRevenuePerAccount(revenueP1, P1).value).toBe(1000);
    expect(averageRevenuePerAccount(revenueP2, P2).value).toBeCloseTo(4900 / 6, 9);
  });

  it('LTV = ARPA × margin / monthly churn: P1 1000 × 0.8 / (0.2 × 30/30) = 4000; P2 816.67 × 0.8 / (0.6 × 30/90) = 3266.67', () => {
    expect(averageLtv({ revenue: revenueP1, phases, grossMargin: 0.8 }, P1).value).toBeCloseTo(4000, 9);
    // P2: paying at the start a, c, d, f, g, i; with a phase history a, c, d, f, g → churn c, f, g = 3/5.
    expect(averageLtv({ revenue: revenueP2, phases, grossMargin: 0.8 }, P2).value).toBeCloseTo(19_600 / 6, 9);
  });

  it('LTV/CAC with CAC 1000: P1 4; P2 3.2667', () => {
    expect(ltvToCac({ revenue: revenueP1, phases, grossMargin: 0.8, cac: 1000 }, P1).value).toBeCloseTo(4, 12);
    expect(ltvToCac({ revenue: revenueP2, phases, grossMargin: 0.8, cac: 1000 }, P2).value).toBeCloseTo(19.6 / 6, 12);
  });

  it('LTV is null without churn (unbounded) or without paying accounts', () => {
    const noChurn = [history('a', ['2025-12-01', A])];
    expect(averageLtv({ revenue: revenueP1, phases: noChurn, grossMargin: 0.8 }, P1).value).toBeNull();
    expect(averageLtv({ revenue: [], phases, grossMargin: 0.8 }, P1).value).toBeNull();
    expect(ltvToCac({ revenue: [], phases, grossMargin: 0.8, cac: 100 }, P1).value).toBeNull();
  });

  it('is null without MRR at the start', () => {
    const onlyNew = [revenueP1[3]];
    expect(revenueChurnRate(onlyNew, P1).value).toBeNull();
    expect(grossRevenueRetention(onlyNew, P1).value).toBeNull();
    expect(netRevenueRetention(onlyNew, P1).value).toBeNull();
    expect(averageRevenuePerAccount(onlyNew, P1).value).toBeNull();
  });

  it('rejects negative money, a margin outside (0, 1] and a CAC <= 0', () => {
    expect(() => revenueChurnRate([{ ...revenueP1[0], churned: -1 }], P1)).toThrow('a.churned: must be a finite number >= 0, got -1');
    expect(() => averageLtv({ revenue: revenueP1, phases, grossMargin: 0 }, P1)).toThrow('grossMargin: must be > 0 and <= 1, got 0');
    expect(() => averageLtv({ revenue: revenueP1, phases, grossMargin: 1.2 }, P1)).toThrow('grossMargin: must be > 0 and <= 1, got 1.2');
    expect(() => ltvToCac({ revenue: revenueP1, phases, grossMargin: 0.8, cac: 0 }, P1)).toThrow('cac: must be a finite number > 0, got 0');
  });

  it('revenueFromMrr derives the movement from start and end', () => {
    expect(revenueFromMrr('a', 100, 0)).toEqual({ accountId: 'a', mrrStart: 100, mrrEnd: 0, churned: 100, expansion: 0, contraction: 0 });
    expect(revenueFromMrr('a', 100, 130)).toEqual({ accountId: 'a', mrrStart: 100, mrrEnd: 130, churned: 0, expansion: 30, contraction: 0 });
    expect(revenueFromMrr('a', 100, 80)).toEqual({ accountId: 'a', mrrStart: 100, mrrEnd: 80, churned: 0, expansion: 0, contraction: 20 });
    expect(revenueFromMrr('a', 0, 80)).toEqual({ accountId: 'a', mrrStart: 0, mrrEnd: 80, churned: 0, expansion: 0, contraction: 0 });
  });
});

/**
 * Onboarding (SMB targets: Workspace Created 3, Teammate Invited 7, First Report Shared 14 days):
 *   P1 cohort (started in January): r1 on time (10 days), r2 late (Teammate Invited after 10 > 7; 12 days),
 *     r3 incomplete, r4 on time (4 days; started Jan 30 12:00). r0 started in December: not in P1.
 *     Rate 2/4 = 0.5; median of 10, 12, 4 = 10.
 *   P2 cohort: r8 (started exactly Jan 31: on time, 4 days), r5 on time (9 days), r6 late (19 > 3; 21 days),
 *     r7 incomplete, r9 on time (3 days). Rate 3/5 = 0.6; median of 4, 9, 21, 3 = (4 + 9)/2 = 6.5.
 */
const smb = (done: [string | null, string | null, string | null]) =>
  [
    { event: 'Workspace Created', targetDays: 3, completedAt: done[0] && at(done[0]) },
    { event: 'Teammate Invited', targetDays: 7, completedAt: done[1] && at(done[1]) },
    { event: 'First Report Shared', targetDays: 14, completedAt: done[2] && at(done[2]) },
  ] as const;
const record = (accountId: string, startedAt: string, done: [string | null, string | null, string | null]): OnboardingRecord => ({
  accountId,
  startedAt: at(startedAt),
  milestones: smb(done).map((m) => ({ ...m, completedAt: m.completedAt ?? null })),
});
const onboarding: OnboardingRecord[] = [
  record('r0', '2025-12-20', ['2025-12-21', '2025-12-22', '2025-12-23']),
  record('r1', '2026-01-02', ['2026-01-04', '2026-01-08', '2026-01-12']),
  record('r2', '2026-01-10', ['2026-01-12', '2026-01-20', '2026-01-22']),
  record('r3', '2026-01-20', ['2026-01-21', null, null]),
  record('r4', '2026-01-30T12:00:00Z', ['2026-01-31T00:00:00Z', '2026-02-01T12:00:00Z', '2026-02-03T12:00:00Z']),
  record('r5', '2026-02-01', ['2026-02-02', '2026-02-05', '2026-02-10']),
  record('r6', '2026-03-01', ['2026-03-20', '2026-03-21', '2026-03-22']),
  record('r7', '2026-04-30', [null, null, null]),
  record('r8', '2026-01-31T00:00:00Z', ['2026-02-01', '2026-02-02', '2026-02-04']),
  record('r9', '2026-04-01', ['2026-04-02', '2026-04-03', '2026-04-04']),
];

describe('onboarding KPIs', () => {
  it('completion rate within target: P1 2/4; P2 3/5', () => {
    expect(onboardingCompletionRate(onboarding, P1).value).toBe(0.5);
    expect(onboardingCompletionRate(onboarding, P2).value).toBe(0.6);
  });

  it('median days to complete: P1 10; P2 6.5', () => {
    expect(medianTimeToOnboard(onboarding, P1).value).toBe(10);
    expect(medianTimeToOnboard(onboarding, P2).value).toBe(6.5);
  });

  it('a milestone exactly on its target day is on time', () => {
    const r = record('x', '2026-01-02', ['2026-01-05', '2026-01-09', '2026-01-16']);
    expect(onboardingCompletionRate([r], P1).value).toBe(1);
  });

  it('is null without a cohort or without completions', () => {
    expect(onboardingCompletionRate([], P1).value).toBeNull();
    expect(medianTimeToOnboard([onboarding[3]], P1).value).toBeNull();
  });

  it('onboardingRecordOf reads an account state (null before its start is known)', () => {
    const s = run([on(START()), ...MILESTONES, on(activity(6, 'Report Viewed'))]).state;
    const r = onboardingRecordOf(s, R);
    expect(r).toEqual({
      accountId: 'acme',
      startedAt: '2026-01-01T00:00:00.000Z',
      milestones: [
        { event: 'Workspace Created', targetDays: 3, completedAt: '2026-01-02T00:00:00.000Z' },
        { event: 'Teammate Invited', targetDays: 7, completedAt: '2026-01-03T00:00:00.000Z' },
        { event: 'First Report Shared', targetDays: 14, completedAt: '2026-01-06T00:00:00.000Z' },
      ],
    });
    expect(r && onboardingCompletionRate([r], P1).value).toBe(1);
    expect(r && medianTimeToOnboard([r], P1).value).toBe(5);
    expect(onboardingRecordOf(run([]).state, R)).toBeNull();
  });
});

/**
 * Surveys:
 *   P1 NPS (10 answers): 10, 9, 9, 8, 6, 3, 10, 7, 9, 2 → promoters 5, passives 2, detractors 3 → 100 × (5 - 3)/10 = 20.
 *     With bounds promoter >= 10, passive >= 8: promoters 2, passives 4, detractors 4 → -20.
 *   P2 NPS: 0 (at exactly Jan 31), 9, 7, 5 → promoters 1, detractors 2 → 100 × (1 - 2)/4 = -25.
 *   CSAT P1: 5, 4, 3, 5 → 4.25. P2: 2, 4 → 3.
 */
const answer = (kind: 'nps' | 'csat', answeredAt: string, score: number, accountId = 'a'): SurveyAnswer => ({ accountId, kind, score, answeredAt: at(answeredAt) });
const surveys: SurveyAnswer[] = [
  answer('nps', '2025-12-31T23:59:59Z', 0), // before P1
  ...[10, 9, 9, 8, 6, 3, 10, 7, 9, 2].map((s, i) => answer('nps', `2026-01-${String(i + 2).padStart(2, '0')}`, s)),
  answer('nps', '2026-01-31T00:00:00Z', 0),
  answer('nps', '2026-02-10', 9),
  answer('nps', '2026-03-03', 7),
  answer('nps', '2026-04-20', 5),
  answer('nps', '2026-05-01', 10), // after P2
  answer('csat', '2026-01-03', 5),
  answer('csat', '2026-01-04', 4),
  answer('csat', '2026-01-05', 3),
  answer('csat', '2026-01-30T23:59:59Z', 5),
  answer('csat', '2026-01-31', 2),
  answer('csat', '2026-03-31', 4),
];

describe('survey KPIs', () => {
  it('NPS: P1 20; P2 -25', () => {
    expect(netPromoterScore(surveys, P1).value).toBe(20);
    expect(netPromoterScore(surveys, P2).value).toBe(-25);
  });

  it('NPS with configured bounds: P1 -20', () => {
    expect(netPromoterScore(surveys, P1, { promoterMin: 10, passiveMin: 8 }).value).toBe(-20);
  });

  it('CSAT average: P1 4.25; P2 3', () => {
    expect(csatAverage(surveys, P1).value).toBe(4.25);
    expect(csatAverage(surveys, P2).value).toBe(3);
  });

  it('is null without answers in the period', () => {
    const p: Period = { from: '2027-01-01T00:00:00Z', to: '2027-02-01T00:00:00Z' };
    expect(netPromoterScore(surveys, p).value).toBeNull();
    expect(csatAverage(surveys, p).value).toBeNull();
  });
});

/**
 * At the period end:
 *   health  P1: a danger, b caution, c danger (d's first score is on Jan 31) → good 0, caution 1, danger 2 of 3.
 *           P2: a caution, b caution, c danger, d good → 1, 2, 1 of 4.
 *   touch   P1: a high, b high (shifted on Jan 15), c tech → high 2, low 0, tech 1.
 *           P2: a high, b low, c tech, d tech → 1, 1, 2.
 *   phases  P1: a adoption, b churned, c retention, d adoption, e churned, f expansion, g adoption.
 *           P2: a adoption, d adoption; b, c, e, f, g churned.
 */
const healthHistories: AccountHistory<HealthBand>[] = [
  history('a', ['2025-12-01', HealthBand.Good], ['2026-01-10', HealthBand.Danger], ['2026-02-15', HealthBand.Caution]),
  history('b', ['2025-12-01', HealthBand.Caution]),
  history('c', ['2026-01-30', HealthBand.Danger]),
  history('d', ['2026-01-31T00:00:00Z', HealthBand.Good]),
  history<HealthBand>('e'),
];
const touchHistories: AccountHistory<TouchModel>[] = [
  history('a', ['2025-12-01', TouchModel.High]),
  history('b', ['2025-12-01', TouchModel.Low], ['2026-01-15', TouchModel.High], ['2026-02-01', TouchModel.Low]),
  history('c', ['2026-01-05', TouchModel.Tech]),
  history('d', ['2026-02-20', TouchModel.Tech]),
];

describe('distributions at the period end', () => {
  it('health distribution', () => {
    expect(healthDistribution(healthHistories, P1).value).toEqual({ total: 3, counts: { good: 0, caution: 1, danger: 2 }, shares: { good: 0, caution: 1 / 3, danger: 2 / 3 } });
    expect(healthDistribution(healthHistories, P2).value).toEqual({ total: 4, counts: { good: 1, caution: 2, danger: 1 }, shares: { good: 0.25, caution: 0.5, danger: 0.25 } });
  });

  it('accounts per touch model', () => {
    expect(accountsPerTouchModel(touchHistories, P1).value.counts).toEqual({ high: 2, low: 0, tech: 1 });
    expect(accountsPerTouchModel(touchHistories, P2).value).toEqual({ total: 4, counts: { high: 1, low: 1, tech: 2 }, shares: { high: 0.25, low: 0.25, tech: 0.5 } });
  });

  it('accounts per phase', () => {
    expect(accountsPerPhase(phases, P1).value.counts).toEqual({ onboarding: 0, adoption: 3, expansion: 1, renewal: 0, retention: 1, churned: 2 });
    expect(accountsPerPhase(phases, P2).value.counts).toEqual({ onboarding: 0, adoption: 2, expansion: 0, renewal: 0, retention: 0, churned: 5 });
    expect(accountsPerPhase(phases, P2).value.total).toBe(7);
  });

  it('shares are null when nothing is counted', () => {
    expect(accountsPerPhase([], P1).value).toEqual({
      total: 0,
      counts: { onboarding: 0, adoption: 0, expansion: 0, renewal: 0, retention: 0, churned: 0 },
      shares: { onboarding: null, adoption: null, expansion: null, renewal: null, retention: null, churned: null },
    });
  });
});

describe('every KPI', () => {
  const input: KpiInput = { revenue: revenueP1, phases, touchModels: touchHistories, health: healthHistories, onboarding, surveys, grossMargin: 0.8, cac: 1000 };

  it('computeKpis gives each KPI as computed alone', () => {
    const report = computeKpis(input, P1);
    expect(report.logoChurnRate).toEqual(logoChurnRate(phases, P1));
    expect(report.netRevenueRetention).toEqual(netRevenueRetention(revenueP1, P1));
    expect(report.ltvToCac).toEqual(ltvToCac(input, P1));
    expect(report.netPromoterScore).toEqual(netPromoterScore(surveys, P1));
    expect(report.accountsPerTouchModel).toEqual(accountsPerTouchModel(touchHistories, P1));
    expect(Object.keys(report)).toHaveLength(14);
  });

  it('each says what it measures and for which period (normalised)', () => {
    const report = computeKpis(input, { from: '2026-01-01', to: '2026-01-31T01:00:00+01:00' });
    for (const k of Object.values(report)) {
      expect(k.period).toEqual(P1);
      expect(k.definition.length).toBeGreaterThan(40);
    }
    expect(report.revenueChurnRate.definition).toMatch(/^Revenue churn rate/);
    expect(report.averageLtv.definition).toContain('gross margin (0.8)');
  });

  it('rejects an empty or reversed period', () => {
    expect(() => logoChurnRate(phases, { from: P1.to, to: P1.from })).toThrow(RangeError);
    expect(() => logoChurnRate(phases, { from: P1.from, to: P1.from })).toThrow(`period: from (${P1.from}) must be before to (${P1.from})`);
    expect(() => logoChurnRate(phases, { from: 'January', to: P1.to })).toThrow("period.from: must be an ISO 8601 date-time, got 'January'");
  });
});
