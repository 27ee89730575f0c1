import { FEATURES } from '@kizuna/health-scoring/domain';
import { FEATURE_ORDER_1796900000000 } from './migrations/1796900000000-account-health-features-array';
import { fromStoredFeatures, storedFeaturePosition, STORED_FEATURE_ORDER, toStoredFeatures } from './stored-features';

describe('stored features (account_health.features, float8[])', () => {
  it('keeps the order the migration froze, and only appends to it', () => {
    expect(STORED_FEATURE_ORDER.slice(0, FEATURE_ORDER_1796900000000.length)).toEqual(FEATURE_ORDER_1796900000000);
  });

  it('stores every feature deriveFeatures computes, each once', () => {
    expect(new Set(STORED_FEATURE_ORDER).size).toBe(STORED_FEATURE_ORDER.length);
    for (const f of Object.values(FEATURES)) expect(STORED_FEATURE_ORDER).toContain(f);
  });

  it('gives 1-based positions (Postgres array subscripts)', () => {
    expect(storedFeaturePosition(STORED_FEATURE_ORDER[0] as string)).toBe(1);
    expect(storedFeaturePosition('downgraded_90d')).toBe(STORED_FEATURE_ORDER.indexOf('downgraded_90d') + 1);
    expect(storedFeaturePosition('not_a_feature')).toBeUndefined();
  });

  it('round-trips values; missing, null and non-finite values are stored as NULL (no data)', () => {
    const stored = toStoredFeatures({ seat_utilisation: 0.25, nps_latest: 0, csat_avg_90d: null, engagement_trend: Number.NaN, sessions_7d: Infinity, other: 3 });
    expect(stored).toHaveLength(STORED_FEATURE_ORDER.length);
    const back = fromStoredFeatures(stored);
    expect(back['seat_utilisation']).toBe(0.25);
    expect(back['nps_latest']).toBe(0);
    expect(back['csat_avg_90d']).toBeNull();
    expect(back['engagement_trend']).toBeNull();
    expect(back['sessions_7d']).toBeNull();
    expect(back['active_users_7d']).toBeNull();
    expect(Object.keys(back)).toEqual(STORED_FEATURE_ORDER);
  });

  it('reads a shorter array (written before a feature was appended) as no data for the rest', () => {
    const back = fromStoredFeatures([0.5]);
    expect(back[STORED_FEATURE_ORDER[0] as string]).toBe(0.5);
    expect(back[STORED_FEATURE_ORDER[1] as string]).toBeNull();
    expect(fromStoredFeatures(null)[STORED_FEATURE_ORDER[0] as string]).toBeNull();
  });
});
