/** What the module seals into {@link OidcSessionData.payload}: tokens and claims, never seen by a store in clear. */
export interface SessionPayload {
  v: 1;
  /** epoch seconds */
  createdAt: number;
  /** epoch seconds: createdAt + absoluteDuration */
  absoluteExpiresAt: number;
  idToken?: string;
  accessToken?: string;
  refreshToken?: string;
  tokenType?: string;
  /** epoch seconds; undefined when the OP did not say (RFC 6749 §5.1 `expires_in` is optional) */
  accessTokenExpiresAt?: number;
  /** epoch seconds when the current access token was obtained */
  accessTokenIssuedAt?: number;
  scope?: string;
  idTokenClaims: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
  extraClaims?: Record<string, unknown>;
  /**
   * Access tokens for other APIs, from the refresh token (RFC 8707 `resource`, API.md §7.2), by
   * `JSON.stringify([resource, scope])`; at most a handful per session, the oldest dropped first.
   */
  resourceTokens?: Record<string, ResourceToken>;
  /** The session's DPoP key (RFC 9449 §5, the `dpop` option): the private JWK, sealed here and nowhere else. */
  dpopKey?: { alg: 'ES256' | 'EdDSA'; jwk: Record<string, unknown> };
}

/** An access token the session holds for one (resource, scope). */
export interface ResourceToken {
  accessToken: string;
  tokenType?: string;
  /** epoch seconds; undefined when the OP did not say */
  expiresAt?: number;
  /** epoch seconds */
  issuedAt: number;
}
