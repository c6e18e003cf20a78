/** An entry with its deadline (epoch ms; `Infinity` for none). */
interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * The module's in-process cache: at most `maxEntries` entries, the least recently written (or, with
 * `touchOnGet`, used) dropped first, each optionally expiring at a deadline read from an injected clock. Every
 * operation is O(1): a Map keeps insertion order, so the oldest entry is the first key. Expired entries are not
 * swept (a sweep would scan the Map): one is dropped when it is read, or as the oldest once the bound is exceeded.
 *
 * (The verified-token cache keeps its own two-generation design: a hit there must not cost a Map delete and
 * re-insert on every request of a hot token.)
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  /**
   * @param maxEntries most entries kept; 0 keeps none.
   * @param now epoch milliseconds (the module's clock).
   * @param touchOnGet whether a read makes an entry the newest (LRU) rather than leaving write order (FIFO).
   */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
    private readonly touchOnGet = false,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new TypeError('BoundedCache: `maxEntries` must be a non-negative integer.');
  }

  /** Number of entries held (expired ones included until they are read or evicted). */
  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, unless absent or expired (an expired entry is dropped). */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.touchOnGet) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  /** Whether `key` holds a value that has not expired. */
  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores `value` as the newest entry, until `expiresAt` (epoch ms) when given; drops the oldest beyond the bound. */
  set(key: K, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
