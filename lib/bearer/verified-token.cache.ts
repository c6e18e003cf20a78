import { createHash } from 'node:crypto';

interface Entry<T> {
  value: T;
  /** epoch ms; never later than the token's `exp` */
  expiresAt: number;
}

/**
 * Bounded LRU of access tokens that passed verification, so a hot token costs one SHA-256 rather than a
 * signature check per request. Keyed by SHA-256 of the token (the raw token is never held as a key);
 * an entry lives until the token's `exp` at the latest. The verifier stores only successes here: a failing
 * JWT is verified again each time, so nothing an attacker sends can poison it. (Token introspection keeps
 * a second, short-lived instance of refusals, which can only ever refuse.)
 */
export class VerifiedTokenCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  /**
   * @param maxEntries most tokens kept, the least recently used dropped beyond it; 0 disables the cache.
   * @param now epoch milliseconds.
   */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  get(token: string): T | undefined {
    if (this.maxEntries === 0) return undefined;
    const key = hashToken(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    // Re-inserting makes it the most recently used (Map iteration order is insertion order).
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores a verified token until `expiresAt` (epoch ms); ignored when that is already past. */
  set(token: string, value: T, expiresAt: number): void {
    if (this.maxEntries === 0 || !(expiresAt > this.now())) return;
    const key = hashToken(token);
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(token: string): void {
    this.entries.delete(hashToken(token));
  }
}

/** SHA-256 of a token (base64url): how caches and in-flight maps key tokens without holding them. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
