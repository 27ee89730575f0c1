import { randomInt } from 'node:crypto';

/** Writes a 128-bit hash of `key` into `out[0..3]`. */
export type KeyHash = (key: string, out: Uint32Array) => void;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;
const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
const fmix = (h: number) => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/**
 * MurmurHash3 (x86, 128-bit variant) of the key's UTF-16LE code units, two per 32-bit word, with a
 * seed: a non-cryptographic hash with full avalanche, about 0.1 µs for a 60-character key here (MD5
 * through node:crypto took 0.8 µs). Allocates nothing.
 */
export function murmur128(seed: number): KeyHash {
  return (key, out) => {
    let h1 = seed | 0;
    let h2 = h1;
    let h3 = h1;
    let h4 = h1;
    const n = key.length;
    const word = (i: number) => (i < n ? key.charCodeAt(i) | ((i + 1 < n ? key.charCodeAt(i + 1) : 0) << 16) : 0);
    const blocks = n >>> 3; // 8 code units = 16 bytes per block
    for (let b = 0; b < blocks; b++) {
      const i = b << 3;
      const k1 = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16);
      const k2 = key.charCodeAt(i + 2) | (key.charCodeAt(i + 3) << 16);
      const k3 = key.charCodeAt(i + 4) | (key.charCodeAt(i + 5) << 16);
      const k4 = key.charCodeAt(i + 6) | (key.charCodeAt(i + 7) << 16);
      h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
      h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
      h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
      h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
      h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
      h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
      h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
      h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
    }
    const rest = n - (blocks << 3);
    if (rest > 0) {
      const i = blocks << 3;
      // The tail's words: absent code units are zero, as absent bytes are in the byte-wise tail.
      if (rest > 6) h4 ^= Math.imul(rotl(Math.imul(word(i + 6), C4), 18), C1);
      if (rest > 4) h3 ^= Math.imul(rotl(Math.imul(word(i + 4), C3), 17), C4);
      if (rest > 2) h2 ^= Math.imul(rotl(Math.imul(word(i + 2), C2), 16), C3);
      h1 ^= Math.imul(rotl(Math.imul(word(i), C1), 15), C2);
    }
    const bytes = n * 2;
    h1 ^= bytes;
    h2 ^= bytes;
    h3 ^= bytes;
    h4 ^= bytes;
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h3 = fmix(h3);
    h4 = fmix(h4);
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    out[0] = h1;
    out[1] = h2;
    out[2] = h3;
    out[3] = h4;
  };
}

/**
 * One generation: open addressing, linear probing, at most half full (it doubles before). A slot is 24 bytes in one
 * buffer, so a lookup touches one cache line: four words of hash, then the expiry as a float64
 * (milliseconds). A slot is used when its fourth word is not 0 (stored with its low bit set).
 */
class Table {
  private readonly words: Uint32Array;
  private readonly times: Float64Array;
  readonly mask: number;
  count = 0;

  constructor(slots: number) {
    const buffer = new ArrayBuffer(slots * 24);
    this.words = new Uint32Array(buffer);
    this.times = new Float64Array(buffer);
    this.mask = slots - 1;
  }

  /** The slot holding the hash, or the free slot where it would go. */
  find(h: Uint32Array): number {
    const { words, mask } = this;
    const last = (h[3] | 1) >>> 0;
    for (let s = h[0] & mask; ; s = (s + 1) & mask) {
      const o = s * 6;
      const w = words[o + 3];
      if (w === 0) return s;
      if (w === last && words[o] === h[0] && words[o + 1] === h[1] && words[o + 2] === h[2]) return s;
    }
  }

  used(slot: number): boolean {
    return this.words[slot * 6 + 3] !== 0;
  }

  expiresAt(slot: number): number {
    return this.times[slot * 3 + 2];
  }

  get slots(): number {
    return this.mask + 1;
  }

  /** The same entries in a table of twice the slots. */
  grown(): Table {
    const t = new Table(this.slots * 2);
    const { words, times } = this;
    for (let s = 0; s <= this.mask; s++) {
      const o = s * 6;
      if (words[o + 3] === 0) continue;
      let d = words[o] & t.mask;
      while (t.words[d * 6 + 3] !== 0) d = (d + 1) & t.mask;
      const n = d * 6;
      t.words[n] = words[o];
      t.words[n + 1] = words[o + 1];
      t.words[n + 2] = words[o + 2];
      t.words[n + 3] = words[o + 3];
      t.times[d * 3 + 2] = times[s * 3 + 2];
      t.count++;
    }
    return t;
  }

  put(slot: number, h: Uint32Array, expiresAt: number): void {
    const o = slot * 6;
    if (!this.used(slot)) this.count++;
    this.words[o] = h[0];
    this.words[o + 1] = h[1];
    this.words[o + 2] = h[2];
    this.words[o + 3] = h[3] | 1;
    this.times[slot * 3 + 2] = expiresAt;
  }
}

/**
 * A bounded, time-limited set of keys kept outside the JavaScript heap (ingestion: the message ids
 * accepted in the dedup window). The same two generations as `RecentCache`: it always holds the last
 * `maxEntries / 2` keys added and never more than `maxEntries`; time is passed in.
 *
 * A key is stored as its 128-bit hash (`murmur128`, seeded at random per instance) in typed arrays,
 * 24 bytes a slot at most half full, so a million keys take about 48 MB that the garbage collector
 * never walks. A generation starts at 1,024 slots and doubles as it fills, so a cache holding few keys
 * stays small (in the processor's caches, and without a page fault for every first touch). A `Map` of the key strings took 150 MB or more of small objects that every full
 * collection marked: at 1,000,000 keys it cost ingestion 15-25 % of its throughput (benchmarks.md).
 * Two different keys are confused only if all 128 bits agree (127 are compared: one bit marks a used
 * slot): for a million keys held, a chance of about 1e-32 per lookup.
 */
export class RecentKeys {
  private young: Table;
  private old: Table;
  private readonly generationSize: number;
  private readonly slots: number;
  private readonly hash: KeyHash;
  private readonly h = new Uint32Array(4);
  /** The key whose hash `h` holds: `add` right after `has` of the same key does not hash again. */
  private hashed: string | undefined;

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
    options: { hash?: KeyHash } = {},
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 2) throw new Error(`RecentKeys needs maxEntries >= 2, got ${maxEntries}`);
    if (!(ttlMs > 0)) throw new Error(`RecentKeys needs ttlMs > 0, got ${ttlMs}`);
    this.generationSize = Math.floor(maxEntries / 2);
    this.slots = 2 ** Math.ceil(Math.log2(this.generationSize * 2 + 1));
    this.hash = options.hash ?? murmur128(randomInt(2 ** 31));
    this.young = this.emptyTable();
    this.old = this.emptyTable();
  }

  /** Keys held, expired ones included until their generation is dropped. */
  get size(): number {
    return this.young.count + this.old.count;
  }

  has(key: string, now: number): boolean {
    this.hashKey(key);
    return this.live(this.young, now) || this.live(this.old, now);
  }

  /** Adds or refreshes a key; a refreshed key counts as the newest. */
  add(key: string, now: number): void {
    this.hashKey(key);
    let young = this.young;
    if (young.count * 2 >= young.slots && young.slots < this.slots) young = this.young = young.grown();
    young.put(young.find(this.h), this.h, now + this.ttlMs);
    if (young.count >= this.generationSize) {
      this.old = young;
      this.young = this.emptyTable();
    }
  }

  private emptyTable(): Table {
    return new Table(Math.min(this.slots, 1024));
  }

  private hashKey(key: string): void {
    if (key === this.hashed) return;
    this.hash(key, this.h);
    this.hashed = key;
  }

  private live(t: Table, now: number): boolean {
    const s = t.find(this.h);
    return t.used(s) && t.expiresAt(s) > now;
  }
}
