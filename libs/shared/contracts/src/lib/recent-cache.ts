/**
 * A bounded, time-limited memory of keys (ingestion: recently accepted message ids, user -> account
 * associations; notification: feature uses already stored).
 * Time is passed in, so tests control it.
 *
 * Two generations of at most `maxEntries / 2` keys each: writes go to the young one; when it is full it
 * becomes the old one and the previous old generation is dropped whole. Every operation is O(1), also when
 * the cache is full (evicting one key at a time from the front of a single Map is not: V8 leaves the
 * deleted slots behind, and finding the first live entry walks over them). The price is precision: the
 * cache always holds the last `maxEntries / 2` keys written, and never more than `maxEntries`.
 */
export class RecentCache<V> {
  private young = new Map<string, { value: V; expiresAt: number }>();
  private old = new Map<string, { value: V; expiresAt: number }>();
  private readonly generationSize: number;

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 2) throw new Error(`RecentCache needs maxEntries >= 2, got ${maxEntries}`);
    this.generationSize = Math.floor(maxEntries / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string, now: number): V | undefined {
    const e = this.young.get(key) ?? this.old.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string, now: number): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Stores or refreshes a key; a refreshed key counts as the newest. */
  set(key: string, value: V, now: number): void {
    this.old.delete(key);
    this.young.set(key, { value, expiresAt: now + this.ttlMs });
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  delete(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }
}
