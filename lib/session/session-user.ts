import { reviveClaims } from '../claims/claims.validation.js';
import { IdTokenClaims } from '../claims/id-token-claims.js';
import { UserInfoClaims } from '../claims/userinfo-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { readRoles, readScopes, type OidcUser } from '../user/oidc-user.js';
import type { LoadedSession } from './oidc-session.service.js';

/** The {@link OidcUser} of a session: claims validated at login, revived without re-validation. */
export function sessionUser(session: LoadedSession, options: ResolvedOidcOptions): OidcUser {
  const { payload, data } = session;
  const idToken = reviveClaims(IdTokenClaims, payload.idTokenClaims);
  const userinfo = payload.userinfo ? reviveClaims(UserInfoClaims, payload.userinfo) : undefined;
  const claims = { ...payload.idTokenClaims, ...(payload.userinfo ?? {}), ...(payload.extraClaims ?? {}) };
  return {
    sub: data.sub,
    issuer: data.iss,
    authMethod: 'session',
    claims,
    idToken,
    userinfo,
    scopes: readScopes(payload.scope),
    roles: readRoles(claims, options.roles?.claim),
    sessionId: session.key,
    expiresAt: data.expiresAt,
  };
}
