import { Inject, Injectable, Logger } from '@nestjs/common';
import * as client from 'openid-client';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { serializeCookie } from '../http/cookies.js';
import { appendSetCookie, requestCookies, requestQuery, type PlatformRequest, type PlatformResponse } from '../http/platform.js';
import { sanitizeReturnTo } from '../http/return-to.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcEvents } from '../events/oidc-events.service.js';
import { OidcSessionService } from '../session/oidc-session.service.js';
import type { SessionPayload } from '../session/session-payload.js';
import { classifyOpError } from '../errors/classify-op-error.js';

interface PendingLogout {
  state: string;
  returnTo: string;
  createdAt: number;
}

const LOGOUT_CONTEXT = 'rp-initiated-logout';
/** Seconds a logout at the OP may take before its landing forgets the returnTo. */
const LOGOUT_TTL = 600;

/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). */
@Injectable()
export class OidcLogoutService {
  private readonly logger = new Logger('OidcLogout');

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly discovery: OidcDiscoveryService,
    private readonly sessions: OidcSessionService,
    private readonly events: OidcEvents,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
  ) {}

  /** Epoch seconds. */
  private now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * Ends the local session and clears its cookie first (LO-16: nothing survives if the OP is never
   * reached), then resolves to where the browser goes: the OP's `end_session_endpoint` with
   * `id_token_hint`, `client_id` and the configured `post_logout_redirect_uri`, or that URI itself.
   */
  async logout(req: PlatformRequest, res: PlatformResponse, returnTo?: unknown): Promise<string> {
    const session = await this.sessions.end(req, res);
    const target = this.options.logout.postLogoutRedirectUri;
    // Without a trip to the OP the browser still goes through the landing route when it is the target (its
    // state, its Clear-Site-Data, a clean URL at the end).
    const fallback = async (): Promise<string> => {
      if (!this.options.logout.toLanding) return target;
      const url = new URL(target);
      url.searchParams.set('state', await this.remember(res, returnTo));
      return url.href;
    };
    if (!session) return fallback();
    this.events.emit({ type: 'logout', iss: session.data.iss, sub: session.data.sub, sessionId: session.key });

    let config: client.Configuration;
    try {
      config = await this.discovery.getConfiguration();
    } catch {
      // The local session is gone; without metadata the OP's session is left, and we say so in the log.
      this.logger.warn('Logged out locally only: the OpenID Provider metadata is not available.');
      return fallback();
    }
    await this.revoke(config, session.payload);
    if (!this.options.logout.idpLogout || !session.payload.idToken) return fallback();
    if (!config.serverMetadata().end_session_endpoint) return fallback();
    // RP-Initiated Logout §2: id_token_hint, post_logout_redirect_uri (registered value only, LO-17) and
    // client_id; §3: a fresh state, remembered with the validated returnTo for the landing route.
    const state = await this.remember(res, returnTo);
    return client.buildEndSessionUrl(config, {
      id_token_hint: session.payload.idToken,
      post_logout_redirect_uri: target,
      client_id: this.options.clientId,
      state,
    }).href;
  }

  /** A fresh logout `state`, sealed in a short-lived cookie with the validated returnTo for the landing route. */
  private async remember(res: PlatformResponse, returnTo: unknown): Promise<string> {
    const state = client.randomState();
    const pending: PendingLogout = { state, returnTo: sanitizeReturnTo(returnTo), createdAt: this.now() };
    appendSetCookie(
      res,
      serializeCookie(
        this.logoutCookieName(),
        await this.sessions.crypto.seal(pending, LOGOUT_CONTEXT),
        this.logoutCookieAttributes(LOGOUT_TTL),
      ),
    );
    return state;
  }

  /**
   * The `post_logout_redirect_uri` landing (`GET /auth/logout/callback`, when configured as that URI):
   * with the `state` this browser's logout sent (RP-Initiated Logout §3), the stored same-origin returnTo;
   * with another or no state, undefined — the caller shows a neutral "signed out" page (LO-18).
   */
  async landing(req: PlatformRequest, res: PlatformResponse): Promise<string | undefined> {
    const sealed = requestCookies(req).get(this.logoutCookieName());
    const state = requestQuery(req).getAll('state');
    if (sealed === undefined) return undefined;
    appendSetCookie(res, serializeCookie(this.logoutCookieName(), '', this.logoutCookieAttributes(0)));
    const pending = await this.sessions.crypto.open<PendingLogout>(sealed, LOGOUT_CONTEXT);
    if (!pending || state.length !== 1 || state[0] !== pending.state) return undefined;
    if (this.now() - pending.createdAt > LOGOUT_TTL) return undefined;
    return new URL(pending.returnTo, this.options.baseUrl.origin).href;
  }

  private logoutCookieName(): string {
    return `${this.options.session.cookieName}.logout`;
  }

  private logoutCookieAttributes(maxAge: number) {
    const { cookie } = this.options.session;
    return { httpOnly: true, secure: cookie.secure, sameSite: 'lax' as const, path: this.options.routesPath, maxAge };
  }

  /**
   * RFC 7009: revokes the refresh token (which, at most OPs, revokes its access tokens too), then the
   * access token. Best effort: a failure is logged, never blocks the logout.
   */
  private async revoke(config: client.Configuration, payload: SessionPayload): Promise<void> {
    if (!this.options.logout.revokeTokens || !config.serverMetadata().revocation_endpoint) return;
    const pending: Array<[string, string]> = [];
    if (payload.refreshToken) pending.push([payload.refreshToken, 'refresh_token']);
    if (payload.accessToken) pending.push([payload.accessToken, 'access_token']);
    for (const [token, hint] of pending) {
      try {
        await client.tokenRevocation(config, token, { token_type_hint: hint });
      } catch (err) {
        this.logger.warn(`Revoking the ${hint} at logout failed (${classifyOpError(err, 'token revocation').code}).`);
      }
    }
  }
}
