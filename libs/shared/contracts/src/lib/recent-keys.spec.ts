import { murmur128, RecentKeys, type KeyHash } from './recent-keys';

const hashOf = (h: KeyHash, key: string) => {
  const out = new Uint32Array(4);
  h(key, out);
  return [...out];
};

describe('murmur128', () => {
  const h = murmur128(42);

  it('is deterministic for a seed and differs between seeds', () => {
    expect(hashOf(h, 'src\nmsg-1')).toEqual(hashOf(murmur128(42), 'src\nmsg-1'));
    expect(hashOf(h, 'src\nmsg-1')).not.toEqual(hashOf(murmur128(43), 'src\nmsg-1'));
  });

  it('hashes every length of tail and block, and tells apart keys that differ in length or one code unit', () => {
    const seen = new Set<string>();
    const base = 'abcdefghijklmnopqrstuvwxyz0123456789';
    for (let n = 0; n <= base.length; n++) {
      const key = base.slice(0, n);
      seen.add(hashOf(h, key).join());
      seen.add(hashOf(h, `${key}\u0000`).join()); // a trailing zero code unit is not the same key
      if (n > 0) seen.add(hashOf(h, `${key.slice(0, -1)}\u00e9`).join()); // a code unit above 0xff
    }
    expect(seen.size).toBe(3 * (base.length + 1) - 1);
  });

  it('changes about half of the 128 bits when one bit of the key changes', () => {
    let flipped = 0;
    let trials = 0;
    for (let i = 0; i < 2000; i++) {
      const key = `source-${i}\n${i * 7919}`;
      const a = hashOf(h, key);
      const pos = i % key.length;
      const b = hashOf(h, key.slice(0, pos) + String.fromCharCode(key.charCodeAt(pos) ^ 1) + key.slice(pos + 1));
      for (let w = 0; w < 4; w++) {
        let x = (a[w] ^ b[w]) >>> 0;
        while (x) {
          flipped += x & 1;
          x >>>= 1;
        }
      }
      trials++;
    }
    const share = flipped / (trials * 128);
    expect(share).toBeGreaterThan(0.48);
    expect(share).toBeLessThan(0.52);
  });

  it('gives 200,000 sequential ids 200,000 different hashes, each word spread over its range', () => {
    const seen = new Set<string>();
    const highBits = new Array(4).fill(0);
    for (let i = 0; i < 200_000; i++) {
      const v = hashOf(h, `src_1\nmsg-${i}`);
      seen.add(v.join());
      for (let w = 0; w < 4; w++) highBits[w] += v[w] >>> 31;
    }
    expect(seen.size).toBe(200_000);
    for (const n of highBits) expect(Math.abs(n - 100_000)).toBeLessThan(1500);
  });
});

describe('RecentKeys', () => {
  it('forgets keys after the TTL', () => {
    const c = new RecentKeys(10, 1000);
    c.add('a', 0);
    expect(c.has('a', 999)).toBe(true);
    expect(c.has('a', 1000)).toBe(false);
    expect(c.has('b', 0)).toBe(false);
  });

  it('always holds the last maxEntries/2 keys added and never more than maxEntries', () => {
    const c = new RecentKeys(10, 1_000_000);
    for (let i = 0; i < 1000; i++) {
      c.add(`k${i}`, i);
      expect(c.size).toBeLessThanOrEqual(10);
      for (let j = Math.max(0, i - 4); j <= i; j++) expect(c.has(`k${j}`, i)).toBe(true);
    }
    expect(c.has('k0', 1000)).toBe(false);
  });

  it('treats a refreshed key as the newest, with its new time', () => {
    const c = new RecentKeys(4, 1000);
    c.add('a', 0);
    c.add('b', 0); // generation full: a, b become the old generation
    c.add('a', 900); // a is added to the young generation again
    c.add('c', 900); // young full: a, c become old, b is dropped
    expect(c.has('b', 900)).toBe(false);
    expect(c.has('a', 1500)).toBe(true);
    expect(c.has('c', 1500)).toBe(true);
    expect(c.has('a', 1900)).toBe(false);
  });

  it('refreshing a key in the young generation does not count it twice', () => {
    const c = new RecentKeys(6, 1000);
    c.add('a', 0);
    c.add('a', 10);
    c.add('a', 20);
    expect(c.size).toBe(1);
    expect(c.has('a', 1015)).toBe(true);
  });

  // Keys whose hashes share the first word land on the same slot and probe onward; only the
  // whole 128 bits make two keys the same. A hash that keeps the first word constant forces it.
  it('keeps apart keys whose hashes collide in the slot but not in all 128 bits', () => {
    const real = murmur128(7);
    const crowded: KeyHash = (key, out) => {
      real(key, out);
      out[0] = 5;
    };
    const c = new RecentKeys(200, 1000, { hash: crowded });
    for (let i = 0; i < 99; i++) c.add(`k${i}`, 0);
    for (let i = 0; i < 99; i++) expect(c.has(`k${i}`, 0)).toBe(true);
    for (let i = 99; i < 200; i++) expect(c.has(`k${i}`, 0)).toBe(false);
    expect(c.size).toBe(99);
  });

  it('a key differing from a held one only in the used-slot bit is the same key (127 bits compared)', () => {
    const fixed =
      (w3: number): KeyHash =>
      (_key, out) => {
        out.set([1, 2, 3, w3]);
      };
    const c = new RecentKeys(10, 1000, { hash: fixed(8) });
    c.add('x', 0);
    expect(c.has('anything', 0)).toBe(true); // same four words
    const d = new RecentKeys(10, 1000, { hash: (k, out) => out.set([1, 2, 3, k === 'x' ? 8 : 16]) });
    d.add('x', 0);
    expect(d.has('y', 0)).toBe(false); // the fourth word differs above the low bit
  });

  it('keeps every key while its generation grows from 1,024 slots to its full size', () => {
    const c = new RecentKeys(100_000, 1000);
    for (let i = 0; i < 49_999; i++) c.add(`k${i}`, i % 100);
    expect(c.size).toBe(49_999);
    for (let i = 0; i < 49_999; i++) if (!c.has(`k${i}`, 500) || !c.has(`k${i}`, (i % 100) + 999)) throw new Error(`k${i} lost`);
    for (let i = 0; i < 49_999; i++) if (c.has(`k${i}`, (i % 100) + 1000)) throw new Error(`k${i} kept past its time`);
    expect(c.has('k49999', 0)).toBe(false);
  });

  // Catches a cost that grows with the keys held (a quadratic case), not a speed: with the coverage
  // instrumentation of CI one addition takes microseconds, so the bound is loose.
  it('stays fast when full: 200,000 additions into a 20,000-key set', () => {
    const c = new RecentKeys(20_000, 60_000);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 200_000; i++) c.add(`src_1\nm${i}`, 0);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(c.size).toBeLessThanOrEqual(20_000);
    expect(c.has('src_1\nm199999', 0)).toBe(true);
    expect(c.has('src_1\nm0', 0)).toBe(false);
    expect(ms).toBeLessThan(5000);
  });

  it('rejects a size below 2 and a TTL that is not positive', () => {
    expect(() => new RecentKeys(1, 1000)).toThrow(/maxEntries >= 2/);
    expect(() => new RecentKeys(10, 0)).toThrow(/ttlMs > 0/);
  });
});
