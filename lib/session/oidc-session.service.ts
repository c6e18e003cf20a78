import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { decodeJwt } from 'jose';
import { BoundedCache } from '../cache/bounded-cache.js';
import { OidcError } from '../errors/oidc.error.js';
import { serializeCookie } from '../http/cookies.js';
import { appendSetCookie, requestCookie, type PlatformRequest, type PlatformResponse } from '../http/platform.js';
import { OIDC_CLOCK, OIDC_OPTIONS, OIDC_SESSION_STORE, type OidcClock } from '../oidc.constants.js';
import { SessionCrypto } from './session-crypto.js';
import type { SessionPayload } from './session-payload.js';
import type { OidcSessionData, OidcSessionFilter, OidcSessionStore } from './session-store.interface.js';

/** A session read from the store and opened. */
export interface LoadedSession {
  /** Store key: hash of the cookie's session id. */
  readonly key: string;
  readonly data: OidcSessionData;
  readonly payload: SessionPayload;
}

/** What a login hands over to become a session. */
export type NewSession = Omit<SessionPayload, 'v' | 'createdAt' | 'absoluteExpiresAt'> & { iss: string; sub: string; sid?: string };

/** The session each request resolved to, read once per request (a WeakMap: see `request-context.ts`). */
const loaded = new WeakMap<PlatformRequest, Promise<LoadedSession | undefined>>();
/** Opened payloads kept per process, so a hot session is not decrypted on every request. */
const OPENED_CACHE_ENTRIES = 10_000;
/** Verified cookies kept per process, so a hot session's cookie is not re-verified on every request. */
const VERIFIED_COOKIE_ENTRIES = 10_000;
/** A key no session can have (store keys are SHA-256 in base64url). */
const PROBE_KEY = 'nestjs-oidc:availability-probe';
/** Don't rewrite the store on every request: extend the rolling expiry at most once a minute. */
const ROLLING_GRANULARITY = 60;

/**
 * Server-side sessions: an opaque 256-bit id in a signed HttpOnly cookie, the data sealed in the
 * configured {@link OidcSessionStore} under a hash of that id.
 *
 * @example
 * ```ts
 * constructor(private readonly sessions: OidcSessionService) {}
 * await this.sessions.endSessions({ iss, sub: 'alice' });
 * ```
 */
@Injectable()
export class OidcSessionService {
  private readonly logger = new Logger('OidcSession');
  /** @internal */
  readonly crypto: SessionCrypto;
  /** store key → the sealed payload it was opened from, and what it held. Bounded; oldest dropped first. */
  private readonly opened = new BoundedCache<string, { sealed: string; payload: SessionPayload }>(OPENED_CACHE_ENTRIES);
  /** signed cookie value → its store key, for cookies that verified. Bounded; oldest dropped first. */
  private readonly verifiedCookies = new BoundedCache<string, string>(VERIFIED_COOKIE_ENTRIES);

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Inject(OIDC_SESSION_STORE) private readonly store: OidcSessionStore,
  ) {
    this.crypto = new SessionCrypto(options.session.secrets);
  }

  /**
   * The store's lock, when it has one, so one instance at a time refreshes a session's tokens.
   *
   * @internal
   */
  get lock(): OidcSessionStore['lock'] {
    return this.store.lock;
  }

  private now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * The current request's session, or undefined when there is none or it is invalid, expired or ended
   * (in which case the cookie is cleared). Read once per request.
   */
  get(req: PlatformRequest, res?: PlatformResponse): Promise<LoadedSession | undefined> {
    let session = loaded.get(req);
    if (session === undefined) loaded.set(req, (session = this.load(req, res)));
    return session;
  }

  private async load(req: PlatformRequest, res?: PlatformResponse): Promise<LoadedSession | undefined> {
    const cookie = requestCookie(req, this.options.session.cookieName);
    if (!cookie) return undefined;
    const key = this.storeKeyOf(cookie);
    const session = key === undefined ? undefined : await this.read(key);
    if (!session) {
      if (key !== undefined) this.verifiedCookies.delete(cookie);
      // SE-05: a tampered, foreign or ended session cookie is anonymous, and the browser is told to drop it.
      if (res) this.clearCookie(res);
      return undefined;
    }
    const rolled = await this.roll(session);
    // Ended (or changed) by another request between the read and the roll: SE-05 as above.
    if (!rolled && res) this.clearCookie(res);
    return rolled;
  }

  /**
   * The store key of a signed session cookie, or undefined when no configured secret signed it.
   * Verified cookies are remembered (bounded, oldest dropped first) so a hot session costs neither the
   * HMAC nor the hash on every request. Only cookies whose signature verified are ever remembered, and an
   * exact match of the whole signed value is needed to reuse one, so the cache cannot admit a forgery.
   */
  private storeKeyOf(cookie: string): string | undefined {
    const known = this.verifiedCookies.get(cookie);
    if (known !== undefined) return known;
    const id = this.crypto.verifyCookie(cookie);
    if (id === undefined) return undefined;
    const key = SessionCrypto.storeKey(id);
    this.verifiedCookies.set(cookie, key);
    return key;
  }

  /**
   * Reads and opens a session by store key; expired ones are destroyed.
   *
   * @internal
   */
  async read(key: string): Promise<LoadedSession | undefined> {
    const data = await this.storeCall(() => this.store.get(key));
    if (!data) return undefined;
    const now = this.now();
    const payload = data.expiresAt > now ? await this.open(key, data.payload) : undefined;
    // SE-07: expiry is enforced from the sealed data and the store entry, not from the cookie's Max-Age.
    if (!payload || payload.absoluteExpiresAt <= now) {
      await this.storeCall(() => this.store.destroy(key));
      return undefined;
    }
    return { key, data, payload };
  }

  /** Opens a sealed payload, reusing the result while the store still holds the same sealed string. */
  private async open(key: string, sealed: string): Promise<SessionPayload | undefined> {
    const cached = this.opened.get(key);
    if (cached?.sealed === sealed) return cached.payload;
    const payload = expandPayload(await this.crypto.open<StoredPayload>(sealed, key));
    if (payload) this.opened.set(key, { sealed, payload });
    return payload;
  }

  /**
   * Extends the rolling expiry. Resolves to the session as it now stands: undefined when it was ended
   * meanwhile (a back-channel logout must not be undone by a request that read the session just before).
   */
  private async roll(session: LoadedSession): Promise<LoadedSession | undefined> {
    const now = this.now();
    const target = Math.min(now + this.options.session.rollingDuration, session.payload.absoluteExpiresAt);
    if (target - session.data.expiresAt < ROLLING_GRANULARITY) return session;
    const data = { ...session.data, expiresAt: target };
    if (!(await this.write(session.key, data, target - now, session.data.payload))) {
      // Ended, or its tokens refreshed by another request: take the store's current state.
      return this.read(session.key);
    }
    (session as { data: OidcSessionData }).data = data;
    return session;
  }

  /**
   * Writes `data` only if the store still holds `expectedPayload` under `key` — atomically with a store
   * that has `replace`, else by re-reading first (a narrower window). Resolves to whether it wrote.
   */
  private async write(key: string, data: OidcSessionData, ttlSeconds: number, expectedPayload: string): Promise<boolean> {
    const { store } = this;
    if (store.replace) return this.storeCall(() => store.replace!(key, data, ttlSeconds, expectedPayload));
    const current = await this.storeCall(() => store.get(key));
    if (current?.payload !== expectedPayload) return false;
    await this.storeCall(() => store.set(key, data, ttlSeconds));
    return true;
  }

  /**
   * Starts a new session (always a fresh id: SE-03 session fixation) after ending the one the browser
   * presented, if any (SE-04). Sets the session cookie.
   *
   * @internal
   */
  async create(req: PlatformRequest, res: PlatformResponse, input: NewSession): Promise<LoadedSession> {
    const previous = await this.get(req);
    if (previous) await this.storeCall(() => this.store.destroy(previous.key));

    const now = this.now();
    const { iss, sub, sid, ...rest } = input;
    const payload: SessionPayload = {
      v: 1,
      createdAt: now,
      absoluteExpiresAt: now + this.options.session.absoluteDuration,
      ...rest,
    };
    const id = SessionCrypto.newId();
    const key = SessionCrypto.storeKey(id);
    const expiresAt = Math.min(now + this.options.session.rollingDuration, payload.absoluteExpiresAt);
    const data: OidcSessionData = {
      iss,
      sub,
      createdAt: now,
      expiresAt,
      payload: await this.crypto.seal(compactPayload(payload), key, COMPRESSED),
    };
    if (sid) data.sid = sid;
    await this.storeCall(() => this.store.set(key, data, expiresAt - now));

    const { cookie } = this.options.session;
    appendSetCookie(
      res,
      serializeCookie(this.options.session.cookieName, this.crypto.signCookie(id), {
        httpOnly: true,
        secure: cookie.secure,
        sameSite: cookie.sameSite,
        path: cookie.path,
        domain: cookie.domain,
        // SE-01: the cookie never outlives the session's absolute lifetime.
        maxAge: this.options.session.absoluteDuration,
      }),
    );
    const session = { key, data, payload };
    loaded.set(req, Promise.resolve(session));
    return session;
  }

  /**
   * Replaces a session's sealed payload (after a refresh), keeping its expiry. Resolves to undefined,
   * writing nothing, when the session was ended or changed since `session` was read.
   *
   * @internal
   */
  async update(session: LoadedSession, payload: SessionPayload): Promise<LoadedSession | undefined> {
    const now = this.now();
    const data = { ...session.data, payload: await this.crypto.seal(compactPayload(payload), session.key, COMPRESSED) };
    if (!(await this.write(session.key, data, Math.max(1, data.expiresAt - now), session.data.payload))) return undefined;
    return { key: session.key, data, payload };
  }

  /** Ends the current request's session (if any) and clears the cookie; returns what it was. */
  async end(req: PlatformRequest, res: PlatformResponse): Promise<LoadedSession | undefined> {
    const session = await this.get(req);
    if (session) await this.storeCall(() => this.store.destroy(session.key));
    loaded.set(req, Promise.resolve(undefined));
    this.clearCookie(res);
    return session;
  }

  /**
   * Throws `ERR_OIDC_SESSION_STORE_UNAVAILABLE` (503) when the store cannot answer.
   *
   * @internal
   */
  async assertStoreAvailable(): Promise<void> {
    await this.storeCall(() => this.store.get(PROBE_KEY));
  }

  /** Ends a session by its store key (`OidcUser.sessionId`). */
  async destroy(key: string): Promise<void> {
    await this.storeCall(() => this.store.destroy(key));
  }

  /**
   * Ends every session of `iss` matching `sid`, or else `sub` (Back-Channel Logout §2.7), in whatever
   * store is configured — with a shared store, on every instance. Resolves to how many ended.
   *
   * @see OIDC Back-Channel Logout 1.0 §2.7
   */
  async endSessions(filter: OidcSessionFilter): Promise<number> {
    if (filter.sid === undefined && filter.sub === undefined) {
      throw new TypeError('endSessions() needs `sid` or `sub`.');
    }
    return this.storeCall(() => this.store.destroyBy(filter));
  }

  /**
   * Tells the browser to drop the session cookie.
   *
   * @internal
   */
  clearCookie(res: PlatformResponse): void {
    const { cookie, cookieName } = this.options.session;
    appendSetCookie(
      res,
      serializeCookie(cookieName, '', {
        httpOnly: true,
        secure: cookie.secure,
        sameSite: cookie.sameSite,
        path: cookie.path,
        domain: cookie.domain,
        maxAge: 0,
      }),
    );
  }

  /** A store failure is a 503, never "logged out" and never a 500 with a stack. */
  private async storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      this.logger.error(`Session store failed: ${(err as Error)?.message ?? String(err)}`);
      throw new OidcError('ERR_OIDC_SESSION_STORE_UNAVAILABLE', 'The session store is unavailable; try again shortly.', { cause: err });
    }
  }
}

/** Session payloads stay server-side (the cookie holds only the id), so they are sealed compressed. */
const COMPRESSED = { compress: true } as const;

/** A payload as sealed: `idTokenClaims` is left out when it is exactly what the ID token carries. */
type StoredPayload = Omit<SessionPayload, 'idTokenClaims'> & { idTokenClaims?: SessionPayload['idTokenClaims'] };

/**
 * The ID token's claims are in the ID token itself: a session stores them once (about 0.5 KB less per session).
 * Left out only when identical to the token's payload, so nothing is lost whatever the caller stored.
 */
function compactPayload(payload: SessionPayload): StoredPayload {
  if (payload.idToken === undefined) return payload;
  try {
    if (JSON.stringify(decodeJwt(payload.idToken)) !== JSON.stringify(payload.idTokenClaims)) return payload;
  } catch {
    return payload;
  }
  const { idTokenClaims: _claims, ...rest } = payload;
  return rest;
}

/** The payload as the module uses it. The ID token was validated at login and sealed since, so decoding suffices. */
function expandPayload(stored: StoredPayload | undefined): SessionPayload | undefined {
  if (stored === undefined || stored.idTokenClaims !== undefined) return stored as SessionPayload | undefined;
  if (stored.idToken === undefined) return undefined;
  try {
    return { ...stored, idTokenClaims: decodeJwt(stored.idToken) };
  } catch {
    return undefined;
  }
}
