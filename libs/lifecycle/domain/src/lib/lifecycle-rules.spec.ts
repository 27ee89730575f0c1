import { ContractSize } from '@kizuna/shared/contracts';
import { DEFAULT_LIFECYCLE_RULES, LifecycleRules, milestoneEvents, milestonesFor, validateLifecycleRules } from './lifecycle-rules';

const valid = (): LifecycleRules => structuredClone(DEFAULT_LIFECYCLE_RULES);

/** A copy of `base` with the value at a dotted path (array indexes as numbers) replaced. */
function set(path: string, value: unknown, base: unknown = valid()): unknown {
  const copy: unknown = structuredClone(base);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = copy as Record<string, unknown>;
  for (const k of keys) node = node[k] as Record<string, unknown>;
  node[last] = value;
  return copy;
}

/** A copy of `base` with the property at a dotted path deleted. */
function without(path: string, base: unknown = valid()): unknown {
  const copy: unknown = structuredClone(base);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = copy as Record<string, unknown>;
  for (const k of keys) node = node[k] as Record<string, unknown>;
  delete node[last];
  return copy;
}

function errorsOf(input: unknown): string[] {
  const r = validateLifecycleRules(input);
  return r.ok ? [] : r.errors;
}

describe('DEFAULT_LIFECYCLE_RULES', () => {
  it('holds the documented defaults', () => {
    const r = DEFAULT_LIFECYCLE_RULES;
    expect(r.onboarding.milestones.enterprise).toEqual([
      { event: 'Workspace Created', targetDays: 7 },
      { event: 'Teammate Invited', targetDays: 14 },
      { event: 'First Report Shared', targetDays: 30 },
    ]);
    expect(r.renewal.windowDays).toBe(90);
    expect(r.usage).toEqual({ newDays: 14, dormantDays: 30 });
    expect(r.contractSize).toEqual({ enterpriseMinArr: 100_000, freemiumPlans: ['trial', 'free'] });
    expect(r.touchModel).toMatchObject({ highMinArr: 50_000, lowMinArr: 10_000, shiftBands: ['danger'] });
    expect(r.retention.riskBands).toEqual(['danger']);
    expect(r.nps).toEqual({ promoterMin: 9, passiveMin: 7 });
  });

  it('gives smaller segments shorter targets for the same milestones', () => {
    const { enterprise, smb, freemium } = DEFAULT_LIFECYCLE_RULES.onboarding.milestones;
    expect(smb.map((m) => m.event)).toEqual(enterprise.map((m) => m.event));
    expect(freemium.map((m) => m.event)).toEqual(enterprise.map((m) => m.event));
    enterprise.forEach((m, i) => {
      expect(smb[i].targetDays).toBeLessThan(m.targetDays);
      expect(freemium[i].targetDays).toBeLessThan(smb[i].targetDays);
    });
  });
});

describe('milestonesFor and milestoneEvents', () => {
  it('picks the size, or the fallback while unknown', () => {
    expect(milestonesFor(DEFAULT_LIFECYCLE_RULES, ContractSize.Freemium)[0]).toEqual({ event: 'Workspace Created', targetDays: 1 });
    expect(milestonesFor(DEFAULT_LIFECYCLE_RULES, undefined)).toBe(DEFAULT_LIFECYCLE_RULES.onboarding.milestones.smb);
  });

  it('lists every milestone event of every size once', () => {
    const r = valid();
    r.onboarding.milestones.enterprise.push({ event: 'SSO Configured', targetDays: 30 });
    expect([...milestoneEvents(r)].sort()).toEqual(['First Report Shared', 'SSO Configured', 'Teammate Invited', 'Workspace Created']);
  });
});

describe('validateLifecycleRules', () => {
  it('accepts the defaults and returns a detached deep copy', () => {
    const input = valid();
    const r = validateLifecycleRules(input);
    expect(r).toEqual({ ok: true, rules: input });
    if (!r.ok) throw new Error('expected ok');
    expect(r.rules).not.toBe(input);
    r.rules.onboarding.milestones.smb[0].targetDays = 99;
    expect(input.onboarding.milestones.smb[0].targetDays).toBe(3);
  });

  it('accepts the defaults after a JSON round trip', () => {
    expect(validateLifecycleRules(JSON.parse(JSON.stringify(DEFAULT_LIFECYCLE_RULES)))).toEqual({ ok: true, rules: DEFAULT_LIFECYCLE_RULES });
  });

  it('accepts the boundary values: empty lists, zero days, no bands, npsMin 10, any fallback size and touch model', () => {
    const r = valid();
    r.onboarding.milestones.freemium = [];
    r.onboarding.unknownSize = ContractSize.Enterprise;
    r.renewal = { windowDays: 1, graceDays: 0 };
    r.expansion.days = 0;
    r.retention = { riskBands: [], reactivationDays: 0 };
    r.usage = { newDays: 0, dormantDays: 1 };
    r.contractSize = { enterpriseMinArr: 0.01, freemiumPlans: [] };
    r.touchModel = { highMinArr: 2, lowMinArr: 1, freemium: r.touchModel.unknownArr, unknownArr: r.touchModel.freemium, shiftBands: [] };
    r.nps = { promoterMin: 10, passiveMin: 9 };
    expect(validateLifecycleRules(r).ok).toBe(true);
  });

  describe('rejects, naming the path', () => {
    const cases: [string, unknown, string][] = [
      // root
      ['null', null, '(root): must be an object, got null'],
      ['an array', [], '(root): must be an object, got an array'],
      ['a string', 'rules', '(root): must be an object, got a string'],
      ['a missing section', without('renewal'), 'renewal: is required'],
      ['an unknown section', set('escalation', {}), 'escalation: unknown property'],
      ['a section that is not an object', set('usage', 5), 'usage: must be an object, got a number'],
      // onboarding
      ['milestones not an object', set('onboarding.milestones', []), 'onboarding.milestones: must be an object, got an array'],
      ['a missing size', without('onboarding.milestones.smb'), 'onboarding.milestones.smb: is required'],
      ['an unknown size', set('onboarding.milestones.startup', []), 'onboarding.milestones.startup: unknown property'],
      ['a size that is not a list', set('onboarding.milestones.smb', {}), 'onboarding.milestones.smb: must be an array, got an object'],
      ['a milestone that is not an object', set('onboarding.milestones.smb.0', 'Workspace Created'), 'onboarding.milestones.smb[0]: must be an object, got a string'],
      ['an empty event', set('onboarding.milestones.smb.1.event', ''), 'onboarding.milestones.smb[1].event: must be a non-empty string'],
      ['a missing event', without('onboarding.milestones.smb.1.event'), 'onboarding.milestones.smb[1].event: is required'],
      ['a duplicate event', set('onboarding.milestones.enterprise.2.event', 'Workspace Created'), "onboarding.milestones.enterprise[2].event: duplicate milestone 'Workspace Created'"],
      ['target 0 days', set('onboarding.milestones.freemium.0.targetDays', 0), 'onboarding.milestones.freemium[0].targetDays: must be an integer >= 1, got 0'],
      ['fractional target days', set('onboarding.milestones.freemium.0.targetDays', 1.5), 'onboarding.milestones.freemium[0].targetDays: must be an integer >= 1, got 1.5'],
      ['string target days', set('onboarding.milestones.freemium.0.targetDays', '7'), 'onboarding.milestones.freemium[0].targetDays: must be an integer >= 1, got a string'],
      ['an unknown milestone property', set('onboarding.milestones.smb.0.owner', 'csm'), 'onboarding.milestones.smb[0].owner: unknown property'],
      ['an unknown fallback size', set('onboarding.unknownSize', 'startup'), "onboarding.unknownSize: must be one of 'enterprise', 'smb', 'freemium', got 'startup'"],
      ['a missing fallback size', without('onboarding.unknownSize'), 'onboarding.unknownSize: is required'],
      // renewal, expansion, retention, usage
      ['a window of 0 days', set('renewal.windowDays', 0), 'renewal.windowDays: must be an integer >= 1, got 0'],
      ['negative grace days', set('renewal.graceDays', -1), 'renewal.graceDays: must be an integer >= 0, got -1'],
      ['a NaN window', set('renewal.windowDays', NaN), 'renewal.windowDays: must be an integer >= 1, got NaN'],
      ['an unknown renewal property', set('renewal.noticeDays', 30), 'renewal.noticeDays: unknown property'],
      ['negative expansion days', set('expansion.days', -5), 'expansion.days: must be an integer >= 0, got -5'],
      ['an unknown risk band', set('retention.riskBands', ['red']), "retention.riskBands[0]: must be one of 'good', 'caution', 'danger', got 'red'"],
      ['a duplicate risk band', set('retention.riskBands', ['danger', 'danger']), "retention.riskBands[1]: duplicate 'danger'"],
      ['risk bands not a list', set('retention.riskBands', 'danger'), 'retention.riskBands: must be an array, got a string'],
      ['fractional reactivation days', set('retention.reactivationDays', 0.5), 'retention.reactivationDays: must be an integer >= 0, got 0.5'],
      ['negative new days', set('usage.newDays', -1), 'usage.newDays: must be an integer >= 0, got -1'],
      ['dormant after 0 days', set('usage.dormantDays', 0), 'usage.dormantDays: must be an integer >= 1, got 0'],
      // contract size
      ['an enterprise threshold of 0', set('contractSize.enterpriseMinArr', 0), 'contractSize.enterpriseMinArr: must be > 0, got 0'],
      ['an infinite enterprise threshold', set('contractSize.enterpriseMinArr', Infinity), 'contractSize.enterpriseMinArr: must be a finite number, got Infinity'],
      ['an empty plan pattern', set('contractSize.freemiumPlans', ['trial', ' ']), 'contractSize.freemiumPlans[1]: must be a non-empty string'],
      ['a duplicate plan pattern (any case)', set('contractSize.freemiumPlans', ['trial', 'Trial']), "contractSize.freemiumPlans[1]: duplicate plan pattern 'Trial'"],
      // touch model
      ['low threshold = high threshold', set('touchModel.lowMinArr', 50_000), 'touchModel.lowMinArr: must be < touchModel.highMinArr (50000), got 50000'],
      ['low threshold above high', set('touchModel.lowMinArr', 60_000), 'touchModel.lowMinArr: must be < touchModel.highMinArr (50000), got 60000'],
      ['a negative low threshold', set('touchModel.lowMinArr', -1), 'touchModel.lowMinArr: must be > 0, got -1'],
      ['a string high threshold', set('touchModel.highMinArr', '50000'), 'touchModel.highMinArr: must be a finite number, got a string'],
      ['an unknown freemium touch model', set('touchModel.freemium', 'none'), "touchModel.freemium: must be one of 'high', 'low', 'tech', got 'none'"],
      ['a numeric unknown-ARR touch model', set('touchModel.unknownArr', 1), "touchModel.unknownArr: must be one of 'high', 'low', 'tech', got a number"],
      ['an unknown shift band', set('touchModel.shiftBands', ['critical']), "touchModel.shiftBands[0]: must be one of 'good', 'caution', 'danger', got 'critical'"],
      ['a missing shift bands list', without('touchModel.shiftBands'), 'touchModel.shiftBands: is required'],
      // nps
      ['a promoter bound above 10', set('nps.promoterMin', 11), 'nps.promoterMin: must be <= 10, got 11'],
      ['passive = promoter', set('nps.passiveMin', 9), 'nps.passiveMin: must be < nps.promoterMin (9), got 9'],
      ['a passive bound of 0', set('nps.passiveMin', 0), 'nps.passiveMin: must be an integer >= 1, got 0'],
      ['a fractional promoter bound', set('nps.promoterMin', 8.5), 'nps.promoterMin: must be an integer >= 1, got 8.5'],
    ];

    it.each(cases)('%s', (_name, input, message) => {
      expect(validateLifecycleRules(input).ok).toBe(false);
      expect(errorsOf(input)).toContain(message);
    });

    it('reports exactly the one problem for a single defect (no noise)', () => {
      expect(errorsOf(set('renewal.windowDays', 0))).toEqual(['renewal.windowDays: must be an integer >= 1, got 0']);
      expect(errorsOf(set('onboarding.milestones.smb.1.targetDays', -3))).toEqual(['onboarding.milestones.smb[1].targetDays: must be an integer >= 1, got -3']);
    });

    it('reports every problem at once', () => {
      const input = set('nps.promoterMin', 12, set('usage.dormantDays', 0, set('onboarding.milestones.smb.0.event', '', set('touchModel.lowMinArr', 90_000))));
      expect(errorsOf(input)).toEqual([
        'onboarding.milestones.smb[0].event: must be a non-empty string',
        'usage.dormantDays: must be an integer >= 1, got 0',
        'touchModel.lowMinArr: must be < touchModel.highMinArr (50000), got 90000',
        'nps.promoterMin: must be <= 10, got 12',
      ]);
    });
  });
});
