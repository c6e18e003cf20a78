import { Injectable } from '@nestjs/common';
import { OidcAuthenticator } from '../auth/oidc-authenticator.js';
import type { OidcCredentialSource } from '../decorators/auth-methods.decorator.js';
import { OidcError } from '../errors/oidc.error.js';
import { loginRedirectException, protectedRouteChallenge, protectedRouteException } from '../http/error-response.js';
import { strategyResponseOf, type PlatformRequest } from '../http/platform.js';
import { setOidcContext } from '../http/request-context.js';
import type { OidcUser } from '../user/oidc-user.js';

/** How a Passport strategy ends: `success(user)`, `fail(challenge, 401)` or `error(err)`. */
export type OidcPassportOutcome = { readonly user: OidcUser } | { readonly challenge: string } | { readonly error: unknown };

/**
 * {@link OidcAuthenticator} for the Passport strategies `oidc` (session) and `oidc-bearer` (Authorization
 * header): the same checks, the same {@link OidcUser}, the same challenges as `OidcGuard`.
 */
@Injectable()
export class OidcPassportAuthenticator {
  constructor(private readonly authenticator: OidcAuthenticator) {}

  /** Authenticates `req` with one kind of credential; never rejects. */
  async authenticateWith(kind: OidcCredentialSource, req: PlatformRequest): Promise<OidcPassportOutcome> {
    const res = strategyResponseOf(req);
    const sources: readonly OidcCredentialSource[] = [kind];
    const { authenticator } = this;
    try {
      const context = await authenticator.resolve(req, res, sources);
      if (context) {
        // `@CurrentUser()`, `@AccessToken()` and friends read this; `req.user` is set too.
        setOidcContext(req, context);
        return { user: context.user };
      }
      // API.md §3: a browser navigation without a session goes to the login route, where a redirect can be sent.
      if (kind === 'session' && res.target && authenticator.isBrowserNavigation(req, sources)) {
        return { error: loginRedirectException(res, authenticator.loginUrlFor(req)) };
      }
      throw new OidcError('ERR_OIDC_UNAUTHENTICATED', 'Authentication is required.');
    } catch (err) {
      if (!(err instanceof OidcError)) return { error: err };
      // RFC 6750 §3 / RFC 9449 §7.1: the same challenges as OidcGuard.
      const failure = { realm: authenticator.realm, challenges: authenticator.challengesFor(req, err, sources, undefined) };
      const exception = protectedRouteException(err, res, failure);
      if (exception.getStatus() !== 401) return { error: exception };
      return { challenge: protectedRouteChallenge(err, failure) ?? 'Bearer' };
    }
  }
}
