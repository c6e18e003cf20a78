import { hash } from 'node:crypto';

interface Entry<T> {
  value: T;
  /** epoch ms; never later than the token's `exp` */
  expiresAt: number;
}

/**
 * Bounded, approximately-LRU cache of access tokens that passed verification, so a hot token costs one
 * SHA-256 rather than a signature check per request. Keyed by SHA-256 of the token (the raw token is never
 * held as a key); an entry lives until the token's `exp` at the latest. The verifier stores only successes
 * here: a failing JWT is verified again each time, so nothing an attacker sends can poison it. (Token
 * introspection keeps a second, short-lived instance of refusals, which can only ever refuse.)
 *
 * Two generations of at most `maxEntries / 2` entries each: new entries go to the young one; when it is
 * full it becomes the old one and the previous old generation is dropped whole. A hit in the young
 * generation is a plain lookup; a hit in the old one moves the entry to the young one (a second chance).
 * So a hit entry outlives at least `maxEntries / 2` further insertions, eviction costs O(1) however large
 * the cache (no Map iteration over deleted slots), and the cache never holds more than `maxEntries` entries.
 */
export class VerifiedTokenCache<T> {
  private young = new Map<string, Entry<T>>();
  private old = new Map<string, Entry<T>>();
  /** Entries per generation. */
  private readonly generation: number;

  /**
   * @param maxEntries most tokens kept, the least recently used dropped beyond it; 0 disables the cache.
   * @param now epoch milliseconds.
   */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {
    this.generation = Math.max(1, Math.floor(maxEntries / 2));
  }

  /** Number of entries held. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * The value stored for `token`, unless it has expired (an expired entry is dropped).
   *
   * @param key `hashToken(token)` when the caller already has it (hashing once per request).
   */
  get(token: string, key?: string): T | undefined {
    if (this.maxEntries === 0) return undefined;
    const k = key ?? hashToken(token);
    let entry = this.young.get(k);
    if (entry === undefined) {
      entry = this.old.get(k);
      if (entry === undefined) return undefined;
      this.old.delete(k);
      if (entry.expiresAt <= this.now()) return undefined;
      // Second chance: a hit in the old generation moves the entry to the young one.
      this.insert(k, entry);
      return entry.value;
    }
    if (entry.expiresAt <= this.now()) {
      this.young.delete(k);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Stores a verified token until `expiresAt` (epoch ms); ignored when that is already past.
   *
   * @param key `hashToken(token)` when the caller already has it.
   */
  set(token: string, value: T, expiresAt: number, key?: string): void {
    if (this.maxEntries === 0 || !(expiresAt > this.now())) return;
    const k = key ?? hashToken(token);
    this.old.delete(k);
    this.insert(k, { value, expiresAt });
  }

  delete(token: string, key?: string): void {
    const k = key ?? hashToken(token);
    this.young.delete(k);
    this.old.delete(k);
  }

  private insert(key: string, entry: Entry<T>): void {
    if (!this.young.has(key) && this.young.size >= this.generation) {
      // The young generation is full: it becomes the old one, and the old one is dropped whole. (With
      // maxEntries 1 there is no room for an old generation.)
      this.old = this.maxEntries >= 2 ? this.young : new Map();
      this.young = new Map();
    }
    this.young.set(key, entry);
  }
}

/** SHA-256 of a token (base64url): how caches and in-flight maps key tokens without holding them. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
