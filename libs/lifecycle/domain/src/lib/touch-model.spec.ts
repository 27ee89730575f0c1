import { ContractSize, HealthBand, TouchModel } from '@kizuna/shared/contracts';
import { DEFAULT_LIFECYCLE_RULES as R } from './lifecycle-rules';
import { decideTouchModel, shiftUp, touchModelOf } from './touch-model';

const { High, Low, Tech } = TouchModel;
const f = (arr: number | null, healthBand: HealthBand | null = null, contractSize: ContractSize | undefined = ContractSize.Smb) => ({ arr, contractSize, healthBand });

describe('touch model', () => {
  it.each<[number, TouchModel]>([
    [1_000_000, High],
    [50_000, High],
    [49_999.99, Low],
    [10_000, Low],
    [9_999, Tech],
    [1, Tech],
  ])('ARR %s → %s', (arr, expected) => {
    expect(touchModelOf(f(arr), R.touchModel)).toBe(expected);
  });

  it('freemium accounts get the freemium touch model whatever their ARR; unknown ARR the fallback', () => {
    expect(touchModelOf(f(80_000, null, ContractSize.Freemium), R.touchModel)).toBe(Tech);
    expect(touchModelOf(f(null, null, undefined), R.touchModel)).toBe(Tech);
    const rules = { ...R.touchModel, freemium: Low, unknownArr: High };
    expect(touchModelOf(f(0, null, ContractSize.Freemium), rules)).toBe(Low);
    expect(touchModelOf(f(null, null, undefined), rules)).toBe(High);
  });

  it('shifts one step up while health is in a shift band: tech → low, low → high, high stays high', () => {
    expect(shiftUp(Tech)).toBe(Low);
    expect(shiftUp(Low)).toBe(High);
    expect(shiftUp(High)).toBe(High);
    expect(touchModelOf(f(5_000, HealthBand.Danger), R.touchModel)).toBe(Low);
    expect(touchModelOf(f(20_000, HealthBand.Danger), R.touchModel)).toBe(High);
    expect(touchModelOf(f(90_000, HealthBand.Danger), R.touchModel)).toBe(High);
    expect(touchModelOf(f(0, HealthBand.Danger, ContractSize.Freemium), R.touchModel)).toBe(Low);
  });

  it('does not shift for bands outside the configured ones', () => {
    expect(touchModelOf(f(5_000, HealthBand.Caution), R.touchModel)).toBe(Tech);
    expect(touchModelOf(f(5_000, HealthBand.Good), R.touchModel)).toBe(Tech);
    const both = { ...R.touchModel, shiftBands: [HealthBand.Caution, HealthBand.Danger] };
    expect(touchModelOf(f(5_000, HealthBand.Caution), both)).toBe(Low);
    expect(touchModelOf(f(5_000, HealthBand.Danger), { ...R.touchModel, shiftBands: [] })).toBe(Tech);
  });

  it('reports base, shift and the reason', () => {
    expect(decideTouchModel(f(20_000, HealthBand.Danger), R.touchModel)).toEqual({
      touchModel: High,
      base: Low,
      shiftedBy: HealthBand.Danger,
      reason: 'ARR 20000 >= 10000: low; health danger shifts low → high',
    });
    expect(decideTouchModel(f(60_000, HealthBand.Danger), R.touchModel).reason).toBe('ARR 60000 >= 50000: high; health danger (already high)');
    expect(decideTouchModel(f(500), R.touchModel)).toEqual({ touchModel: Tech, base: Tech, shiftedBy: null, reason: 'ARR 500 < 10000: tech' });
    expect(decideTouchModel(f(null), R.touchModel).reason).toBe('ARR unknown: tech');
    expect(decideTouchModel(f(0, null, ContractSize.Freemium), R.touchModel).reason).toBe('freemium contract size: tech');
  });
});
