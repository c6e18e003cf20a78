import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { readClaimPath, readRoles, readScopes, type ClaimPath, type OidcUser } from '../user/oidc-user.js';

/** A Dex connector id usable as a prefix: a plain token, so `"<connector>:<value>"` splits one way only. */
const CONNECTOR_ID = /^[A-Za-z0-9._~-]+$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `OidcUser.identity` of a token (`bearer.identityClaims`): the configured claim of the token's issuer when
 * it is a non-empty string; prefixed with Dex's `federated_claims.connector_id` as `"<connector_id>:<value>"`
 * when the token carries one, so the same e-mail asserted through two upstream identity providers is two
 * identities. Undefined when no claim is configured for the issuer, the claim is missing, or the connector
 * id is not a plain token.
 */
export function readIdentity(claims: Record<string, unknown>, issuer: string, identityClaims: ReadonlyMap<string, ClaimPath>): string | undefined {
  const path = identityClaims.get(issuer);
  if (path === undefined) return undefined;
  const value = readClaimPath(claims, path);
  if (typeof value !== 'string' || value === '') return undefined;
  const federated = claims.federated_claims;
  if (!isPlainObject(federated) || federated.connector_id === undefined) return value;
  const connector = federated.connector_id;
  return typeof connector === 'string' && CONNECTOR_ID.test(connector) ? `${connector}:${value}` : undefined;
}

/** The trusted issuer URL a token's `iss` stands for (`bearer.issuerAliases`), else the `iss` itself. */
export function canonicalIssuer(iss: string, options: ResolvedOidcOptions): string {
  return options.bearer?.issuerAliases?.get(iss) ?? iss;
}

type BearerUserParts = Pick<OidcUser, 'claims' | 'accessTokenClaims' | 'scopes' | 'roles' | 'identity'>;

/**
 * What a bearer user is built from, per claims object: `AccessTokenVerifier.verifyShared` hands out the same
 * cached (frozen) claims for every request with a token, so its claims copy, scopes, roles and identity are
 * worked out once and shared — frozen, like a session user's. Kept only as long as those claims live.
 */
const parts = new WeakMap<object, { readonly options: ResolvedOidcOptions; readonly parts: BearerUserParts }>();

/**
 * The {@link OidcUser} of a request authenticated with a verified (or introspected) access token. When
 * `claims` is frozen — the verifier's shared claims, deeply frozen — the user's `claims`, `scopes` and
 * `roles` are frozen too and shared by the requests that carry the same token; otherwise they are built
 * afresh.
 */
export function bearerUser(claims: Readonly<AccessTokenClaims>, options: ResolvedOidcOptions, authMethod: 'bearer' | 'dpop'): OidcUser {
  let shared: BearerUserParts | undefined;
  if (Object.isFrozen(claims)) {
    const built = parts.get(claims);
    if (built?.options === options) {
      shared = built.parts;
    } else {
      shared = userParts(claims, options, true);
      parts.set(claims, { options, parts: shared });
    }
  }
  return { sub: claims.sub, issuer: canonicalIssuer(claims.iss, options), authMethod, ...(shared ?? userParts(claims, options, false)), expiresAt: claims.exp };
}

function userParts(claims: Readonly<AccessTokenClaims>, options: ResolvedOidcOptions, frozen: boolean): BearerUserParts {
  const all: Record<string, unknown> = { ...claims };
  const identity = options.bearer ? readIdentity(all, canonicalIssuer(claims.iss, options), options.bearer.identityClaims) : undefined;
  // RFC 9068 §2.2.3: `scope` (space-separated); some OPs use an `scp` array instead.
  const scopes = readScopes(claims.scope, claims.scp);
  const roles = readRoles(all, options.roles?.claim);
  const built: BearerUserParts = {
    // (the members of frozen claims are frozen already)
    claims: frozen ? Object.freeze(all) : all,
    accessTokenClaims: claims as AccessTokenClaims,
    scopes: frozen ? (Object.freeze(scopes) as string[]) : scopes,
    roles: frozen ? (Object.freeze(roles) as string[]) : roles,
    ...(identity === undefined ? {} : { identity }),
  };
  return frozen ? Object.freeze(built) : built;
}
