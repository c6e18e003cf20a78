import { Inject, Injectable, Logger } from '@nestjs/common';
import * as client from 'openid-client';
import { toClaims } from '../claims/claims.validation.js';
import { IdTokenClaims } from '../claims/id-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { classifyOpError } from '../errors/classify-op-error.js';
import { OidcError } from '../errors/oidc.error.js';
import type { PlatformRequest } from '../http/http-adapter.js';
import { getOidcContext } from '../http/request-context.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcSessionService, type LoadedSession } from '../session/oidc-session.service.js';
import type { SessionPayload } from '../session/session-payload.js';

/**
 * Tokens for the current request or session: reading them, refreshing them when due (one refresh per
 * session at a time), and the OP's token-related endpoints.
 *
 * @example
 * ```ts
 * const token = await this.tokens.getAccessToken(req);   // refreshed first when about to expire
 * ```
 */
@Injectable()
export class OidcTokenService {
  private readonly logger = new Logger('OidcTokens');
  /** Single flight per session: concurrent requests of one session share one refresh (SE-12). */
  private readonly refreshing = new Map<string, Promise<LoadedSession>>();

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    private readonly discovery: OidcDiscoveryService,
    private readonly sessions: OidcSessionService,
  ) {}

  private now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** The access token of the request: its bearer token, or its session's (refreshed first when due). */
  async getAccessToken(req: PlatformRequest): Promise<string | undefined> {
    const context = getOidcContext(req);
    if (context?.user.authMethod !== 'session' && context?.accessToken) return context.accessToken;
    const session = await this.sessions.get(req);
    if (!session) return undefined;
    return (await this.ensureFresh(session)).payload.accessToken;
  }

  /** Refreshes a session's tokens now, by `OidcUser.sessionId`. */
  async refresh(sessionId: string): Promise<void> {
    const session = await this.sessions.read(sessionId);
    if (!session) throw new OidcError('ERR_OIDC_SESSION_ENDED', 'No such session.');
    await this.singleFlight(session, true);
  }

  /**
   * The session with a usable access token: refreshed when it expires within `refresh.leeway` seconds
   * (never more than half its lifetime) and `refresh.auto` is on and there is a refresh token.
   */
  async ensureFresh(session: LoadedSession): Promise<LoadedSession> {
    if (!this.options.refresh.auto || !this.isDue(session.payload)) return session;
    return this.singleFlight(session, false);
  }

  private isDue(payload: SessionPayload): boolean {
    if (!payload.refreshToken || payload.accessTokenExpiresAt === undefined) return false;
    const lifetime = payload.accessTokenExpiresAt - (payload.accessTokenIssuedAt ?? payload.createdAt);
    const leeway = Math.min(this.options.refresh.leeway, Math.max(0, lifetime) / 2);
    return payload.accessTokenExpiresAt - leeway <= this.now();
  }

  private singleFlight(session: LoadedSession, force: boolean): Promise<LoadedSession> {
    let flight = this.refreshing.get(session.key);
    if (!flight) {
      flight = this.refreshNow(session, force).finally(() => this.refreshing.delete(session.key));
      this.refreshing.set(session.key, flight);
    }
    return flight;
  }

  private async refreshNow(loaded: LoadedSession, force: boolean): Promise<LoadedSession> {
    // Re-read first: another request may have refreshed (and rotated the refresh token) since this one
    // loaded the session. Sending a rotated-out refresh token makes the OP revoke the grant (RFC 9700 §4.14.2).
    const session = await this.sessions.read(loaded.key);
    if (!session) throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session has ended.');
    if (!force && !this.isDue(session.payload)) return session;
    const { refreshToken } = session.payload;
    if (!refreshToken) return session;

    const config = await this.discovery.getConfiguration();
    let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      tokens = await client.refreshTokenGrant(config, refreshToken);
    } catch (err) {
      const error = classifyOpError(err, 'the refresh token grant');
      if (error.code === 'ERR_OIDC_OP_UNAVAILABLE' || error.code === 'ERR_OIDC_OP_TIMEOUT' || error.code === 'ERR_OIDC_DISCOVERY_UNAVAILABLE') {
        // LF-27 (d): an unreachable OP is not a logout; keep the session and let the client retry.
        throw new OidcError('ERR_OIDC_REFRESH_UNAVAILABLE', 'The session could not be refreshed right now; try again shortly.', { cause: err });
      }
      // LF-27 (c): invalid_grant and friends end the session, with no retry loop.
      await this.sessions.destroy(session.key);
      this.logger.log(`Refresh refused for subject ${session.data.sub}; session ended.`);
      throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended: the OpenID Provider refused to refresh it.', { cause: error });
    }

    const now = this.now();
    let idTokenClaims = session.payload.idTokenClaims;
    if (tokens.id_token) {
      try {
        const fresh = toClaims(IdTokenClaims, tokens.claims(), 'The refreshed ID token');
        this.checkRefreshedIdToken(session.payload.idTokenClaims, fresh);
        idTokenClaims = { ...fresh };
      } catch (err) {
        // LF-26: tokens are not replaced, the new access token is never used, the session ends.
        await this.sessions.destroy(session.key);
        throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended: the refreshed ID token did not match the original.', { cause: err });
      }
    }
    const payload: SessionPayload = {
      ...session.payload,
      idTokenClaims,
      idToken: tokens.id_token ?? session.payload.idToken,
      accessToken: tokens.access_token,
      tokenType: tokens.token_type,
      // RFC 6749 §6: without a new refresh token the old one stays valid; a rotated one replaces it.
      refreshToken: tokens.refresh_token ?? refreshToken,
      accessTokenExpiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
      accessTokenIssuedAt: now,
      scope: tokens.scope ?? session.payload.scope,
    };
    return this.sessions.update(session, payload);
  }

  /** OIDC Core §12.2: a refreshed ID token keeps iss, sub, aud, azp and auth_time of the original. */
  private checkRefreshedIdToken(original: Record<string, unknown>, fresh: IdTokenClaims): void {
    const normalize = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v === undefined ? undefined : [v]);
    const same = (a: unknown, b: unknown) => JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
    for (const claim of ['iss', 'sub', 'aud', 'azp'] as const) {
      if (!same(original[claim], fresh[claim])) {
        throw new OidcError('ERR_OIDC_INVALID_RESPONSE', `The refreshed ID token changed "${claim}".`);
      }
    }
    if (original.auth_time !== undefined && fresh.auth_time !== undefined && original.auth_time !== fresh.auth_time) {
      throw new OidcError('ERR_OIDC_INVALID_RESPONSE', 'The refreshed ID token changed "auth_time".');
    }
  }
}
