/**
 * Remembers one-time values (DPoP proof `jti`s) for a while so that a second use can be refused
 * (RFC 9449 §11.1). Share one store between the instances of an app so a proof replayed to another
 * instance is refused too.
 *
 * @example
 * ```ts
 * const first = await replay.recordOnce(`${jkt}:${jti}`, 600); // true the first time, false after
 * ```
 */
export interface ReplayCache {
  /**
   * Records `key` for `ttlSeconds` and answers `true`, or answers `false` when it is already recorded
   * and not yet expired. Must be atomic: of two concurrent calls with the same key, one gets `false`.
   */
  recordOnce(key: string, ttlSeconds: number): Promise<boolean>;
}

/** Options of {@link MemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /** Most keys kept; the oldest is dropped beyond it. @default 100000 */
  maxEntries?: number;
  /** Epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

/**
 * The default {@link ReplayCache}: in-process, bounded, expiring. Right for one instance.
 *
 * When full, the oldest entry is dropped: with the default bound an attacker would need 100 000 valid
 * proofs within one proof lifetime to push a `jti` out early.
 */
export class MemoryReplayCache implements ReplayCache {
  /** key → expiry (epoch ms); Map keeps insertion order, so the first entry is the oldest. */
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryReplayCacheOptions = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('MemoryReplayCache: `maxEntries` must be a positive integer.');
    this.maxEntries = max;
    this.now = options.now ?? Date.now;
  }

  /** Number of keys held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.entries.size;
  }

  async recordOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.now();
    const expiresAt = this.entries.get(key);
    if (expiresAt !== undefined && expiresAt > now) return false;
    this.entries.delete(key);
    // Drop expired entries from the old end (they are roughly in expiry order): keeps the map small.
    for (const [oldKey, oldExpiry] of this.entries) {
      if (oldExpiry > now) break;
      this.entries.delete(oldKey);
    }
    this.entries.set(key, now + Math.max(1, ttlSeconds) * 1000);
    // Bounded: beyond `maxEntries` the oldest insertion goes (O(1); Map keeps insertion order).
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return true;
  }
}
