import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { IdTokenClaims } from '../claims/id-token-claims.js';
import type { UserInfoClaims } from '../claims/userinfo-claims.js';

/**
 * How the current request was authenticated: the session cookie, or the `Authorization` header with the Bearer
 * or the DPoP scheme (RFC 9449). `@AuthMethods()` chooses between the two sources, `OidcCredentialSource`.
 */
export type OidcAuthMethod = 'session' | 'bearer' | 'dpop';

/** The authenticated user handed to controllers (`@CurrentUser()`), whatever the credential. */
export interface OidcUser {
  /** Subject identifier. */
  sub: string;
  /** Issuer that vouched for the subject. */
  issuer: string;
  authMethod: OidcAuthMethod;
  /** Merged claims: ID token + userinfo + afterCallback additions (sessions); access-token claims (bearer). */
  claims: Record<string, unknown>;
  idToken?: IdTokenClaims;
  userinfo?: UserInfoClaims;
  accessTokenClaims?: AccessTokenClaims;
  /** Granted scopes. */
  scopes: string[];
  /** Roles read with the `roles.claim` option. */
  roles: string[];
  /** The issuer's identity claim, where one is configured (bearer). */
  identity?: string;
  /** Session handle (a hash of the cookie's id; never the cookie itself). */
  sessionId?: string;
  /** Epoch seconds when the session or token expires. */
  expiresAt?: number;
  /** The authentication context class the user authenticated with (`acr` of the ID token or access token). */
  acr?: string;
  /** The authentication methods used (`amr`, RFC 8176), when the OP says. */
  amr?: string[];
  /** Epoch seconds when the user last authenticated (`auth_time`), when the OP says. */
  authTime?: number;
}

/** `acr`, `amr` and `auth_time` of an ID token or access token (OIDC Core §2, RFC 9068 §2.2.1), checked for type. */
export function authenticationFacts(claims: Record<string, unknown>): Pick<OidcUser, 'acr' | 'amr' | 'authTime'> {
  const { acr, amr, auth_time: authTime } = claims;
  return {
    ...(typeof acr === 'string' && acr !== '' ? { acr } : {}),
    ...(Array.isArray(amr) && amr.every((m) => typeof m === 'string') ? { amr: amr as string[] } : {}),
    ...(typeof authTime === 'number' && Number.isFinite(authTime) ? { authTime } : {}),
  };
}

/**
 * Where a claim is: a name, a dotted path (`realm_access.roles`), or an array of names — the unambiguous form
 * for names that contain dots (`['resource_access', 'my.client', 'roles']`).
 */
export type ClaimPath = string | readonly string[];

/**
 * A claim by {@link ClaimPath}, through own properties of plain objects only. A string that is exactly the
 * name of a top-level claim wins over reading it as a dotted path, so namespaced claims such as Auth0's
 * `https://example.com/roles` work as written.
 */
export function readClaimPath(claims: Record<string, unknown>, path: ClaimPath): unknown {
  if (typeof path === 'string' && Object.hasOwn(claims, path)) return claims[path];
  const keys = typeof path === 'string' ? path.split('.') : path;
  return keys.reduce<unknown>((node, key) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    return Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
  }, claims);
}

/** Reads roles from claims: a {@link ClaimPath} (`realm_access.roles`) or a function; always a string array. */
export function readRoles(
  claims: Record<string, unknown>,
  source: ClaimPath | ((claims: Record<string, unknown>) => string[]) | undefined,
): string[] {
  if (source === undefined) return [];
  let value: unknown;
  if (typeof source === 'function') {
    value = source(claims);
  } else {
    value = readClaimPath(claims, source);
  }
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Scopes from a `scope` string (RFC 6749 §3.3) or an `scp` array. */
export function readScopes(scope: unknown, scp?: unknown): string[] {
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scp)) return scp.filter((v): v is string => typeof v === 'string');
  if (typeof scp === 'string') return scp.split(' ').filter(Boolean);
  return [];
}
