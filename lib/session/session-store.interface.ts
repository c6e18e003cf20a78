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
  /**
   * Epoch seconds when the session began (its login). Plain so that {@link OidcSessionStore.destroyBy} can
   * spare sessions that began after a logout token was issued. Absent in records written before 0.2.
   */
  createdAt?: number;
  /** Epoch seconds: the sooner of the absolute and the rolling expiry. */
  expiresAt: number;
  /** Sealed by the module; opaque to stores. */
  payload: string;
}

/** What {@link OidcSessionStore.destroyBy} ends. */
export interface OidcSessionFilter {
  iss: string;
  sid?: string;
  sub?: string;
  /** Keep sessions whose `createdAt` is after this (epoch seconds). */
  createdBefore?: number;
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
  /**
   * Ends every session of `iss` matching `sid` (when given) or else `sub`; resolves to how many ended. With
   * `createdBefore` (epoch seconds), a session whose `createdAt` is later is kept: a `sub`-only back-channel
   * logout issued at T ends the sessions that existed at T, not one the user started afterwards (Back-Channel
   * Logout §2.7). A record without `createdAt` is ended. A store that ignores `createdBefore` ends too many
   * sessions, never too few.
   */
  destroyBy(filter: OidcSessionFilter): Promise<number>;
  /**
   * Optional, recommended for every store: a compare-and-set. Writes `data` only when a live record is
   * stored under `id` and its `payload` is still `expectedPayload`; resolves to whether it wrote. The
   * module uses it to extend a session's expiry and to store refreshed tokens, so a session ended
   * meanwhile — by a back-channel logout on another instance, say — is never written back, and a newer
   * payload is never overwritten by an older one. Without it the module re-reads and then calls `set`,
   * which leaves a short window for both.
   */
  replace?(id: string, data: OidcSessionData, ttlSeconds: number, expectedPayload: string): Promise<boolean>;
  /**
   * Optional, for stores shared by several instances: a replay cache for logout-token and DPoP-proof
   * `jti`s, so a replay to another instance is refused too. Without it each instance remembers its own.
   */
  readonly replayCache?: ReplayCache;
  /** Optional, for shared stores: a cross-instance lock, so one instance at a time refreshes a session. */
  readonly lock?: SessionLock;
}
