import { OidcError } from '../errors/oidc.error.js';

/** The two access-token authorization schemes (lower-cased). */
export type AccessTokenScheme = 'bearer' | 'dpop';

/** A parsed `Authorization` header carrying an access token. */
export interface AccessTokenCredential {
  scheme: AccessTokenScheme;
  token: string;
}

/**
 * RFC 6750 §2.1 / RFC 9449 §7.1: `<scheme> 1*SP token68`. The scheme compares case-insensitively
 * (RFC 9110 §11.1); the credential is exactly one token68 (RFC 9110 §11.2), so `Bearer`, `Bearer a b`
 * or a quoted value do not fit.
 */
const CREDENTIALS = /^([A-Za-z][A-Za-z0-9!#$%&'*+\-.^_`|~]*) +([A-Za-z0-9\-._~+/]+=*)$/;

/**
 * Parses an `Authorization` header into a Bearer or DPoP credential. Anything else is
 * `ERR_OIDC_INVALID_REQUEST` (400, RFC 6750 §3.1 `invalid_request`).
 */
export function parseAuthorization(value: string): AccessTokenCredential {
  const match = CREDENTIALS.exec(value);
  const scheme = match?.[1]!.toLowerCase();
  if (!match || (scheme !== 'bearer' && scheme !== 'dpop')) {
    throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'The Authorization header must be "Bearer <access token>" or "DPoP <access token>".');
  }
  return { scheme, token: match[2]! };
}

/** The scheme of an `Authorization` header when it is Bearer or DPoP (for choosing the challenge). */
export function authorizationScheme(value: string | undefined): AccessTokenScheme | undefined {
  const scheme = value?.trimStart().split(' ', 1)[0]!.toLowerCase();
  return scheme === 'bearer' || scheme === 'dpop' ? scheme : undefined;
}
