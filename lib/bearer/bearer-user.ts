import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { readRoles, readScopes, type OidcUser } from '../user/oidc-user.js';

/** The {@link OidcUser} of a request authenticated with a verified access token. */
export function bearerUser(claims: AccessTokenClaims, options: ResolvedOidcOptions, authMethod: 'bearer' | 'dpop'): OidcUser {
  const all: Record<string, unknown> = { ...claims };
  return {
    sub: claims.sub,
    issuer: claims.iss,
    authMethod,
    claims: all,
    accessTokenClaims: claims,
    // RFC 9068 §2.2.3: `scope` (space-separated); some OPs use an `scp` array instead.
    scopes: readScopes(claims.scope, claims.scp),
    roles: readRoles(all, options.roles?.claim),
    expiresAt: claims.exp,
  };
}
