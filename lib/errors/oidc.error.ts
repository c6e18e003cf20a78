/**
 * Every failure the module raises carries one of these stable codes. Match on `code`, never on the message.
 */
export const OIDC_ERROR_CODES = [
  /** Module options are invalid. Bootstrap only: never thrown while serving a request. */
  'ERR_OIDC_INVALID_OPTIONS',
  /** The OpenID Provider's metadata could not be fetched yet; retried with backoff (HTTP 503). */
  'ERR_OIDC_DISCOVERY_UNAVAILABLE',
  /** A malformed request to one of the module's routes (HTTP 400). */
  'ERR_OIDC_INVALID_REQUEST',
  /** The callback names no login transaction this browser started, or it has expired (HTTP 400). */
  'ERR_OIDC_TRANSACTION_NOT_FOUND',
  /** The OP answered the authorization request with an error (HTTP 401). */
  'ERR_OIDC_AUTHORIZATION_ERROR',
  /** A response or token from the OP failed validation (HTTP 401). */
  'ERR_OIDC_INVALID_RESPONSE',
  /** The OP refused a grant (e.g. `invalid_grant`) (HTTP 401). */
  'ERR_OIDC_GRANT_REFUSED',
  /** The OP could not be reached or answered with something that is not OAuth (HTTP 502). */
  'ERR_OIDC_OP_UNAVAILABLE',
  /** The OP did not answer within `http.timeout` (HTTP 504). */
  'ERR_OIDC_OP_TIMEOUT',
  /** The `afterCallback` hook refused the login (HTTP 401). */
  'ERR_OIDC_LOGIN_REFUSED',
  /** No valid credentials on a protected route (HTTP 401). */
  'ERR_OIDC_UNAUTHENTICATED',
  /** An access token failed validation (HTTP 401, `error="invalid_token"`). */
  'ERR_OIDC_INVALID_TOKEN',
  /** A DPoP proof (RFC 9449) is missing, malformed, replayed or does not match the request (HTTP 401, `error="invalid_dpop_proof"`). */
  'ERR_OIDC_INVALID_DPOP_PROOF',
  /** The access token lacks a required scope (HTTP 403, `error="insufficient_scope"`). */
  'ERR_OIDC_INSUFFICIENT_SCOPE',
  /** A role or claim requirement is not met (HTTP 403). */
  'ERR_OIDC_FORBIDDEN',
  /** The session store failed (HTTP 503). */
  'ERR_OIDC_SESSION_STORE_UNAVAILABLE',
  /** Tokens could not be refreshed because the OP is unreachable; the session is kept (HTTP 503). */
  'ERR_OIDC_REFRESH_UNAVAILABLE',
  /** The session ended (refresh refused, logged out elsewhere) (HTTP 401). */
  'ERR_OIDC_SESSION_ENDED',
  /** An issuer's signing keys (JWKS) could not be had, so a token cannot be checked now; retried later (HTTP 503). */
  'ERR_OIDC_KEYS_UNAVAILABLE',
  /** The OP's introspection endpoint could not answer, so an opaque access token cannot be checked now (HTTP 503). */
  'ERR_OIDC_INTROSPECTION_UNAVAILABLE',
  /** A back-channel logout token failed validation or was replayed (Back-Channel Logout §2.6) (HTTP 400). */
  'ERR_OIDC_INVALID_LOGOUT_TOKEN',
  /**
   * The user's authentication is not strong or recent enough for this route (`@StepUp()`), or the OP answered a
   * step-up login with less than was asked (RFC 9470 §3, `insufficient_user_authentication`) (HTTP 401).
   */
  'ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION',
] as const;

export type OidcErrorCode = (typeof OIDC_ERROR_CODES)[number];

/**
 * The module's error class: a stable {@link OidcErrorCode} and, where there is one, the underlying `cause`.
 *
 * @example
 * ```ts
 * try { await tokens.refresh(id); } catch (e) {
 *   if (e instanceof OidcError && e.code === 'ERR_OIDC_GRANT_REFUSED') { ... }
 * }
 * ```
 */
export class OidcError extends Error {
  override readonly name = 'OidcError';
  readonly code: OidcErrorCode;

  constructor(code: OidcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * HTTP status each code maps to; one table, read by the module's one error mapper for the guard, the Passport
 * strategies and the built-in routes alike. (`ERR_OIDC_INVALID_OPTIONS` fails the bootstrap; its 500 is only for
 * completeness.)
 */
export const OIDC_ERROR_STATUS: Readonly<Record<OidcErrorCode, number>> = Object.freeze({
  ERR_OIDC_INVALID_OPTIONS: 500,
  ERR_OIDC_DISCOVERY_UNAVAILABLE: 503,
  ERR_OIDC_INVALID_REQUEST: 400,
  ERR_OIDC_TRANSACTION_NOT_FOUND: 400,
  ERR_OIDC_AUTHORIZATION_ERROR: 401,
  ERR_OIDC_INVALID_RESPONSE: 401,
  ERR_OIDC_GRANT_REFUSED: 401,
  ERR_OIDC_OP_UNAVAILABLE: 502,
  ERR_OIDC_OP_TIMEOUT: 504,
  ERR_OIDC_LOGIN_REFUSED: 401,
  ERR_OIDC_UNAUTHENTICATED: 401,
  ERR_OIDC_INVALID_TOKEN: 401,
  ERR_OIDC_INVALID_DPOP_PROOF: 401,
  ERR_OIDC_INSUFFICIENT_SCOPE: 403,
  ERR_OIDC_FORBIDDEN: 403,
  ERR_OIDC_SESSION_STORE_UNAVAILABLE: 503,
  ERR_OIDC_REFRESH_UNAVAILABLE: 503,
  ERR_OIDC_SESSION_ENDED: 401,
  ERR_OIDC_KEYS_UNAVAILABLE: 503,
  ERR_OIDC_INTROSPECTION_UNAVAILABLE: 503,
  ERR_OIDC_INVALID_LOGOUT_TOKEN: 400,
  ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION: 401,
});

/**
 * A refused access token (RFC 6750 §3.1 `invalid_token`) with the module's own description, never request input.
 *
 * @internal
 */
export function invalidToken(description: string, cause?: unknown): OidcError {
  return new OidcError('ERR_OIDC_INVALID_TOKEN', description, cause === undefined ? undefined : { cause });
}
