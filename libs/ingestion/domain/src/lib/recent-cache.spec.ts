import { RecentCache } from './recent-cache';

describe('RecentCache', () => {
  it('forgets entries after the TTL', () => {
    const c = new RecentCache<true>(10, 1000);
    c.set('a', true, 0);
    expect(c.has('a', 999)).toBe(true);
    expect(c.has('a', 1000)).toBe(false);
    expect(c.size).toBe(0);
  });

  it('evicts the oldest entries beyond the bound; setting again refreshes', () => {
    const c = new RecentCache<number>(2, 1000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    c.set('a', 3, 1);
    c.set('c', 4, 2);
    expect(c.get('b', 3)).toBeUndefined();
    expect(c.get('a', 3)).toBe(3);
    expect(c.get('c', 3)).toBe(4);
  });

  it('deletes', () => {
    const c = new RecentCache<number>(2, 1000);
    c.set('a', 1, 0);
    c.delete('a');
    expect(c.has('a', 0)).toBe(false);
  });
});
