import type { ReplayCache } from '../cache/replay-cache.js';
import type { SessionLock } from '../cache/session-lock.js';

/**
 * What a session store holds for one session. Only `iss`, `sub` and `sid` are plain (they are what
 * {@link OidcSessionStore.destroyBy} searches); tokens and claims are in `payload`, sealed by the module
 * (AES-256-GCM, key derived with HKDF from `session.secret`) before any store sees them.
 */
export interface OidcSessionData {
  iss: string;
  sub: string;
  sid?: string;
  /** Epoch seconds: the sooner of the absolute and the rolling expiry. */
  expiresAt: number;
  /** Sealed by the module; opaque to stores. */
  payload: string;
}

/**
 * Where server-side sessions live. Keys are a hash of the cookie's session id, never the id itself.
 *
 * @example
 * ```ts
 * OidcModule.forRoot({ ..., session: { secret, store: new RedisSessionStore({ client: redis }) } })
 * ```
 */
export interface OidcSessionStore {
  get(id: string): Promise<OidcSessionData | undefined>;
  set(id: string, data: OidcSessionData, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Ends every session of `iss` matching `sid` (when given) or else `sub`; resolves to how many ended. */
  destroyBy(filter: { iss: string; sid?: string; sub?: string }): Promise<number>;
  /**
   * Optional, for stores shared by several instances: a replay cache for logout-token and DPoP-proof
   * `jti`s, so a replay to another instance is refused too. Without it each instance remembers its own.
   */
  readonly replayCache?: ReplayCache;
  /** Optional, for shared stores: a cross-instance lock, so one instance at a time refreshes a session. */
  readonly lock?: SessionLock;
}
