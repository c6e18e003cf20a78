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
}
