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
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  async recordOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Date.now();
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    this.seen.delete(key);
    this.seen.set(key, now + Math.max(1, ttlSeconds) * 1000);
    if (this.seen.size > this.maxEntries) this.evict(now);
    return true;
  }

  async forget(key: string): Promise<void> {
    this.seen.delete(key);
  }

  private evict(now: number): void {
    for (const [key, until] of this.seen) {
      if (this.seen.size <= this.maxEntries && until > now) break;
      this.seen.delete(key);
    }
  }
}
