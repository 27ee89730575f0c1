import { RecentCache } from './recent-cache';

describe('RecentCache', () => {
  it('forgets entries after the TTL', () => {
    const c = new RecentCache<true>(10, 1000);
    c.set('a', true, 0);
    expect(c.has('a', 999)).toBe(true);
    expect(c.has('a', 1000)).toBe(false);
    expect(c.size).toBe(0);
  });

  it('always holds the last maxEntries/2 keys written and never more than maxEntries', () => {
    const c = new RecentCache<number>(10, 1_000_000);
    for (let i = 0; i < 1000; i++) {
      c.set(`k${i}`, i, i);
      expect(c.size).toBeLessThanOrEqual(10);
      for (let j = Math.max(0, i - 4); j <= i; j++) expect(c.get(`k${j}`, i)).toBe(j);
    }
    expect(c.get('k0', 1000)).toBeUndefined();
  });

  it('treats a refreshed key as the newest, with its new value and time', () => {
    const c = new RecentCache<number>(4, 1000);
    c.set('a', 1, 0);
    c.set('b', 2, 0); // generation full: a, b become the old generation
    c.set('a', 3, 900); // a moves to the young generation
    c.set('c', 4, 900); // young full: a, c become old, b is dropped
    expect(c.get('b', 900)).toBeUndefined();
    expect(c.get('a', 1500)).toBe(3);
    expect(c.get('c', 1500)).toBe(4);
    expect(c.get('a', 1900)).toBeUndefined();
  });

  it('deletes from either generation', () => {
    const c = new RecentCache<number>(2, 1000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    c.delete('a');
    c.delete('b');
    expect(c.has('a', 0)).toBe(false);
    expect(c.has('b', 0)).toBe(false);
  });

  // Evicting from the front of one Map one key at a time took minutes here (quadratic once full);
  // two generations take well under a second. The bound is loose: it only catches the quadratic case.
  it('stays O(1) per write when full: 400k writes into a 100k cache', () => {
    const c = new RecentCache<true>(100_000, 60_000);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 400_000; i++) c.set(`m${i}`, true, 0);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(c.size).toBeLessThanOrEqual(100_000);
    expect(ms).toBeLessThan(10_000);
  });
});
