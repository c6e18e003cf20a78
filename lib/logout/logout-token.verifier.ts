import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { toClaims } from '../claims/claims.validation.js';
import { LogoutTokenClaims } from '../claims/logout-token-claims.js';
import { OidcError } from '../errors/oidc.error.js';

/** Back-Channel Logout 1.0 §2.4: the event member a logout token must carry. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token older than this is refused even if its `exp` says otherwise (§2.6 step 5, §4). */
const MAX_AGE_SECONDS = 600;
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface LogoutTokenExpectations {
  issuer: string;
  clientId: string;
  /** The pinned algorithm the OP signs with (the ID token's, OIDC Back-Channel Logout §2.6 step 3). */
  algorithm: string;
  clockTolerance: number;
  /** epoch seconds */
  now: number;
  /** The key that verifies the token's signature: the shared JWKS cache's, or the client secret for HS*. */
  keyFor: (alg: string, kid: string | undefined) => Promise<CryptoKey | Uint8Array>;
}

function invalid(message: string, cause?: unknown): OidcError {
  return new OidcError('ERR_OIDC_INVALID_LOGOUT_TOKEN', message, { cause });
}

/**
 * Verifies a logout token exactly per OpenID Connect Back-Channel Logout 1.0 §2.6. The caller records
 * the `jti` (step 8) only after this resolves, so an invalid token never burns one.
 */
export async function verifyLogoutToken(token: string, expect: LogoutTokenExpectations): Promise<LogoutTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) {
    throw invalid('The logout_token is not a signed JWT.');
  }
  let payload: Record<string, unknown>;
  let typ: string | undefined;
  let key: CryptoKey | Uint8Array;
  try {
    const header = decodeProtectedHeader(token);
    // §2.6 step 3 (signed like the ID token), RFC 8725 §3.1: exactly the pinned algorithm — never `none`; HMAC
    // only when `idTokenSigningAlg` pins it, and then keyed with the client secret (OIDC Core §10.1).
    if (header.alg !== expect.algorithm) {
      throw invalid(`The logout_token is signed with "${String(header.alg).slice(0, 20)}", but ${expect.algorithm} is expected.`);
    }
    key = await expect.keyFor(header.alg, typeof header.kid === 'string' ? header.kid : undefined);
  } catch (err) {
    if (err instanceof OidcError && err.code === 'ERR_OIDC_KEYS_UNAVAILABLE') throw err;
    throw err instanceof OidcError ? invalid(err.message, err) : invalid('The logout_token is not a signed JWT.', err);
  }
  try {
    // §2.6 steps 2–5: signature with the issuer's keys and the pinned algorithm (never `none`, never
    // HMAC: RFC 8725 §3.1), iss, aud contains our client_id, exp/iat with the shared leeway.
    const result = await jwtVerify(token, key, {
      issuer: expect.issuer,
      audience: expect.clientId,
      algorithms: [expect.algorithm],
      clockTolerance: expect.clockTolerance,
      currentDate: new Date(expect.now * 1000),
      requiredClaims: ['iat', 'exp', 'jti'],
      maxTokenAge: MAX_AGE_SECONDS,
    });
    payload = result.payload as Record<string, unknown>;
    typ = result.protectedHeader.typ;
  } catch (err) {
    const reason = err instanceof joseErrors.JOSEError ? err.code : 'ERR_INVALID';
    throw invalid(`The logout_token failed validation (${reason}).`, err);
  }
  // §2.4, RFC 8725 §3.11: explicit typing is logout+jwt; absent or plain JWT is tolerated for interop
  // (Keycloak sends JWT); any other type (at+jwt, dpop+jwt, …) is another kind of token.
  if (typ !== undefined && !['logout+jwt', 'application/logout+jwt', 'jwt'].includes(typ.toLowerCase())) {
    throw invalid('The logout_token has the wrong "typ".');
  }
  if (typeof payload.iat === 'number' && payload.iat > expect.now + expect.clockTolerance) {
    throw invalid('The logout_token was issued in the future.');
  }
  let claims: LogoutTokenClaims;
  try {
    claims = toClaims(LogoutTokenClaims, payload, 'The logout_token');
  } catch (err) {
    throw invalid('The logout_token has missing or malformed claims.', err);
  }
  // §2.6 step 6: `events` has the back-channel logout member, whose value is a JSON object.
  const event = claims.events?.[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw invalid('The logout_token has no back-channel logout event.');
  }
  // §2.6 step 4 (§2.4): sub and/or sid.
  if (claims.sub === undefined && claims.sid === undefined) {
    throw invalid('The logout_token names neither "sub" nor "sid".');
  }
  // §2.6 step 7: a nonce marks an ID token trying to pass as a logout token.
  if ('nonce' in payload) {
    throw invalid('The logout_token must not contain a "nonce".');
  }
  return claims;
}
