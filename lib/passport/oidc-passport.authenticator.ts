import { HttpException, Injectable } from '@nestjs/common';
import type { OidcCredentialSource } from '../decorators/auth-methods.decorator.js';
import { toHttpException } from '../errors/oidc-http.js';
import { OidcError } from '../errors/oidc.error.js';
import { OidcGuard } from '../guards/oidc.guard.js';
import type { PlatformRequest } from '../http/platform.js';
import { setOidcContext } from '../http/request-context.js';
import type { OidcUser } from '../user/oidc-user.js';

/** How a Passport strategy ends: `success(user)`, `fail(challenge, 401)` or `error(err)`. */
export type OidcPassportOutcome = { readonly user: OidcUser } | { readonly challenge: string } | { readonly error: unknown };

/** A Node-style response whose headers can be set (Express's `res`). */
interface HeaderTarget {
  setHeader(name: string, value: string | string[]): unknown;
  getHeader(name: string): unknown;
}

function isHeaderTarget(value: unknown): value is HeaderTarget {
  return typeof value === 'object' && value !== null
    && typeof (value as HeaderTarget).setHeader === 'function' && typeof (value as HeaderTarget).getHeader === 'function';
}

/**
 * The response a Passport strategy can reach. Passport hands strategies the request only; Express links
 * it to its response (`req.res`), Fastify does not. Headers are recorded here (to read the challenge back)
 * and forwarded to the real response when there is one; on Fastify they stay here, so `WWW-Authenticate`,
 * `Cache-Control` and cookie changes are not sent and a login redirect becomes a 401.
 */
class StrategyResponse implements HeaderTarget {
  private readonly headers = new Map<string, string | string[]>();

  constructor(readonly target: HeaderTarget | undefined) {}

  setHeader(name: string, value: string | string[]): void {
    this.headers.set(name.toLowerCase(), value);
    this.target?.setHeader(name, value);
  }

  getHeader(name: string): unknown {
    return this.headers.get(name.toLowerCase()) ?? this.target?.getHeader(name);
  }
}

/**
 * {@link OidcGuard}'s authentication, for the Passport strategies `oidc` (session) and `oidc-bearer`
 * (Authorization header): the same checks, the same {@link OidcUser}, the same challenges.
 */
@Injectable()
export class OidcPassportAuthenticator extends OidcGuard {
  /** Authenticates `req` with one kind of credential; never rejects. */
  async authenticateWith(kind: OidcCredentialSource, req: PlatformRequest): Promise<OidcPassportOutcome> {
    const expressResponse = (req as { res?: unknown }).res;
    const res = new StrategyResponse(isHeaderTarget(expressResponse) ? expressResponse : undefined);
    const methods: readonly OidcCredentialSource[] = [kind];
    try {
      const context = await this.authenticate(req, res, methods);
      if (context) {
        // `@CurrentUser()`, `@AccessToken()` and friends read this; `req.user` is set too.
        setOidcContext(req, context);
        return { user: context.user };
      }
      // API.md §3: a browser navigation without a session goes to the login route, where a redirect can be sent.
      if (kind === 'session' && res.target && this.isBrowserNavigation(req, methods)) return { error: this.redirectToLogin(req, res) };
      throw new OidcError('ERR_OIDC_UNAUTHENTICATED', 'Authentication is required.');
    } catch (err) {
      if (!(err instanceof OidcError)) return { error: err };
      // RFC 6750 §3 / RFC 9449 §7.1: the same challenges as OidcGuard.
      const exception: HttpException = toHttpException(err, res, this.realm(), { challenges: this.bearerChallenges(req, err, methods, undefined) });
      if (exception.getStatus() !== 401) return { error: exception };
      const challenge = res.getHeader('www-authenticate');
      return { challenge: typeof challenge === 'string' ? challenge : 'Bearer' };
    }
  }
}
