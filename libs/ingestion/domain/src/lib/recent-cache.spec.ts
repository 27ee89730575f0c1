import { RecentCache } from './recent-cache';

describe('RecentCache', () => {
  it('forgets entries after the TTL', () => {
    const c = new RecentCache<true>(10, 1000);
    c.set('a', true, 0);
    expect(c.has('a', 999)).toBe(true);
    expect(c.has('a', 1000)).toBe(false);
    expect(c.size).toBe(0);
  });

  it('evicts the first inserted entries beyond the bound; setting again refreshes value and time', () => {
    const c = new RecentCache<number>(2, 1000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    c.set('a', 3, 900);
    expect(c.get('a', 1500)).toBe(3);
    c.set('c', 4, 1500);
    expect(c.get('a', 1500)).toBeUndefined();
    expect(c.get('c', 1500)).toBe(4);
  });

  it('deletes', () => {
    const c = new RecentCache<number>(2, 1000);
    c.set('a', 1, 0);
    c.delete('a');
    expect(c.has('a', 0)).toBe(false);
  });
});
