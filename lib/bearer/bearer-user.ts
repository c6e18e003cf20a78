import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { readRoles, readScopes, type OidcUser } from '../user/oidc-user.js';

/** A Dex connector id usable as a prefix: a plain token, so `"<connector>:<value>"` splits one way only. */
const CONNECTOR_ID = /^[A-Za-z0-9._~-]+$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A claim by name or dotted path (`federated_claims.user_id`), own properties only. */
function readClaim(claims: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined), claims);
}

/**
 * `OidcUser.identity` of a token (`bearer.identityClaims`): the configured claim of the token's issuer when
 * it is a non-empty string; prefixed with Dex's `federated_claims.connector_id` as `"<connector_id>:<value>"`
 * when the token carries one, so the same e-mail asserted through two upstream identity providers is two
 * identities. Undefined when no claim is configured for the issuer, the claim is missing, or the connector
 * id is not a plain token.
 */
export function readIdentity(claims: Record<string, unknown>, issuer: string, identityClaims: ReadonlyMap<string, string>): string | undefined {
  const path = identityClaims.get(issuer);
  if (path === undefined) return undefined;
  const value = readClaim(claims, path);
  if (typeof value !== 'string' || value === '') return undefined;
  const federated = claims.federated_claims;
  if (!isPlainObject(federated) || federated.connector_id === undefined) return value;
  const connector = federated.connector_id;
  return typeof connector === 'string' && CONNECTOR_ID.test(connector) ? `${connector}:${value}` : undefined;
}

/** The {@link OidcUser} of a request authenticated with a verified (or introspected) access token. */
export function bearerUser(claims: AccessTokenClaims, options: ResolvedOidcOptions, authMethod: 'bearer' | 'dpop'): OidcUser {
  const all: Record<string, unknown> = { ...claims };
  const identity = options.bearer ? readIdentity(all, claims.iss, options.bearer.identityClaims) : undefined;
  return {
    sub: claims.sub,
    issuer: claims.iss,
    authMethod,
    claims: all,
    accessTokenClaims: claims,
    // RFC 9068 §2.2.3: `scope` (space-separated); some OPs use an `scp` array instead.
    scopes: readScopes(claims.scope, claims.scp),
    roles: readRoles(all, options.roles?.claim),
    ...(identity === undefined ? {} : { identity }),
    expiresAt: claims.exp,
  };
}
