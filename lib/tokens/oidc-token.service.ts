import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import type { PlatformRequest } from '../http/http-adapter.js';
import { getOidcContext } from '../http/request-context.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';
import { OidcSessionService } from '../session/oidc-session.service.js';

/**
 * Tokens for the current request or session.
 *
 * @example
 * ```ts
 * const token = await this.tokens.getAccessToken(req);
 * ```
 */
@Injectable()
export class OidcTokenService {
  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly sessions: OidcSessionService,
  ) {}

  /** The access token of the request: its bearer token, or its session's. */
  async getAccessToken(req: PlatformRequest): Promise<string | undefined> {
    const context = getOidcContext(req);
    if (context?.accessToken) return context.accessToken;
    const session = await this.sessions.get(req);
    return session?.payload.accessToken;
  }
}
