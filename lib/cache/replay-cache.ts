import { BoundedCache } from './bounded-cache.js';

/**
 * Remembers one-time identifiers (`jti` of logout tokens and DPoP proofs) until they expire, so a
 * replay is refused. A shared implementation (Redis) makes a replay to another instance fail too.
 */
export interface ReplayCache {
  /** Records `key` for `ttlSeconds`; resolves to false when it was already recorded (a replay). */
  recordOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Optional: forgets `key`, so the same identifier is accepted again. Used when the work a recorded
   * identifier stood for failed (the session store was down during a back-channel logout), so the OP's
   * retry of the same logout token is not refused as a replay.
   */
  forget?(key: string): Promise<void>;
}

/** In-process {@link ReplayCache}: bounded (oldest dropped first) and expiring. */
export class MemoryReplayCache implements ReplayCache {
  private readonly seen: BoundedCache<string, true>;

  /**
   * @param maxEntries most identifiers remembered; beyond it the oldest is forgotten first.
   * @param now epoch milliseconds (the module passes its clock).
   */
  constructor(
    maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.seen = new BoundedCache(maxEntries, now);
  }

  async recordOnce(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.seen.has(key)) return false;
    this.seen.set(key, true, this.now() + Math.max(1, ttlSeconds) * 1000);
    return true;
  }

  async forget(key: string): Promise<void> {
    this.seen.delete(key);
  }
}
