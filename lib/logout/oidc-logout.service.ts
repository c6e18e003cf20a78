import { Inject, Injectable, Logger } from '@nestjs/common';
import * as client from 'openid-client';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import type { PlatformRequest, PlatformResponse } from '../http/http-adapter.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';
import { OidcEvents } from '../events/oidc-events.service.js';
import { OidcSessionService } from '../session/oidc-session.service.js';
import type { SessionPayload } from '../session/session-payload.js';
import { classifyOpError } from '../errors/classify-op-error.js';

/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). */
@Injectable()
export class OidcLogoutService {
  private readonly logger = new Logger('OidcLogout');

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly discovery: OidcDiscoveryService,
    private readonly sessions: OidcSessionService,
    private readonly events: OidcEvents,
  ) {}

  /**
   * Ends the local session and clears its cookie first (LO-16: nothing survives if the OP is never
   * reached), then resolves to where the browser goes: the OP's `end_session_endpoint` with
   * `id_token_hint`, `client_id` and the configured `post_logout_redirect_uri`, or that URI itself.
   */
  async logout(req: PlatformRequest, res: PlatformResponse): Promise<string> {
    const session = await this.sessions.end(req, res);
    const fallback = this.options.logout.postLogoutRedirectUri;
    if (!session) return fallback;
    this.events.emit({ type: 'logout', iss: session.data.iss, sub: session.data.sub, sessionId: session.key });

    let config: client.Configuration;
    try {
      config = await this.discovery.getConfiguration();
    } catch {
      // The local session is gone; without metadata the OP's session is left, and we say so in the log.
      this.logger.warn('Logged out locally only: the OpenID Provider metadata is not available.');
      return fallback;
    }
    await this.revoke(config, session.payload);
    if (this.options.logout.idpLogout === false || !session.payload.idToken) return fallback;
    if (!config.serverMetadata().end_session_endpoint) return fallback;
    // RP-Initiated Logout §2: id_token_hint, post_logout_redirect_uri (registered value only) and client_id.
    return client
      .buildEndSessionUrl(config, {
        id_token_hint: session.payload.idToken,
        post_logout_redirect_uri: fallback,
        client_id: this.options.clientId,
        state: client.randomState(),
      })
      .href;
  }

  /**
   * RFC 7009: revokes the refresh token (which, at most OPs, revokes its access tokens too), then the
   * access token. Best effort: a failure is logged, never blocks the logout.
   */
  private async revoke(config: client.Configuration, payload: SessionPayload): Promise<void> {
    const enabled = this.options.logout.revokeTokens ?? true;
    if (!enabled || !config.serverMetadata().revocation_endpoint) return;
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
