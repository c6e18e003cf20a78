import type { OidcCredentialSource } from '../decorators/auth-methods.decorator.js';
import type { PlatformRequest } from '../http/platform.js';
import type { OidcPassportAuthenticator, OidcPassportOutcome } from './oidc-passport.authenticator.js';

/** Name of the Passport strategy for the login session: `AuthGuard('oidc')`. */
export const OIDC_PASSPORT_STRATEGY = 'oidc';
/** Name of the Passport strategy for Bearer/DPoP access tokens: `AuthGuard('oidc-bearer')`. */
export const OIDC_BEARER_PASSPORT_STRATEGY = 'oidc-bearer';

/**
 * What `passport.Strategy` instances offer (typed here, because passport is an optional peer with no
 * bundled types). Passport adds `success`, `fail` and `error` to each per-request copy of a strategy.
 */
export interface PassportStrategyInstance {
  name?: string;
  authenticate(req: object, options?: unknown): void;
  success(user: unknown, info?: unknown): void;
  fail(challenge?: string | number, status?: number): void;
  error(err: unknown): void;
}

/** `passport.Strategy`. */
export type PassportStrategyClass = new () => PassportStrategyInstance;

function settle(strategy: PassportStrategyInstance, outcome: OidcPassportOutcome): void {
  if ('user' in outcome) strategy.success(outcome.user);
  // RFC 6750 §3: the challenge is what `WWW-Authenticate` carries; passport's default handler sends it.
  else if ('challenge' in outcome) strategy.fail(outcome.challenge, 401);
  else strategy.error(outcome.error);
}

/**
 * Builds the module's two Passport strategies on the application's `passport.Strategy` (loaded at run
 * time: passport is optional).
 *
 * - `oidc`: the login session. Authenticated → the session's `OidcUser`; none → a browser navigation is
 *   redirected to the login route (Express), anything else fails with 401 and a `Bearer` challenge.
 * - `oidc-bearer`: the `Authorization: Bearer|DPoP` header, verified like `OidcGuard` does (JWT or
 *   introspection, DPoP, per-request issuers) → the token's `OidcUser`; invalid → 401 with the RFC 6750
 *   challenge; malformed header → 400; keys or introspection unreachable → 503.
 */
export function createOidcStrategies(Strategy: PassportStrategyClass, authenticator: OidcPassportAuthenticator) {
  const run = (strategy: PassportStrategyInstance, kind: OidcCredentialSource, req: object) => {
    void authenticator.authenticateWith(kind, req as PlatformRequest).then((outcome) => settle(strategy, outcome));
  };

  /** Passport strategy `oidc`: the module's login session. */
  class OidcStrategy extends Strategy {
    constructor() {
      super();
      this.name = OIDC_PASSPORT_STRATEGY;
    }

    override authenticate(req: object): void {
      run(this, 'session', req);
    }
  }

  /** Passport strategy `oidc-bearer`: Bearer/DPoP access tokens. */
  class OidcBearerStrategy extends Strategy {
    constructor() {
      super();
      this.name = OIDC_BEARER_PASSPORT_STRATEGY;
    }

    override authenticate(req: object): void {
      run(this, 'bearer', req);
    }
  }

  return { OidcStrategy, OidcBearerStrategy };
}
