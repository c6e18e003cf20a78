import { deepFreeze, reviveClaims } from '../claims/claims.validation.js';
import { IdTokenClaims } from '../claims/id-token-claims.js';
import { UserInfoClaims } from '../claims/userinfo-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { readRoles, readScopes, type OidcUser } from '../user/oidc-user.js';
import type { LoadedSession } from './oidc-session.service.js';
import type { SessionPayload } from './session-payload.js';

type UserParts = Pick<OidcUser, 'claims' | 'idToken' | 'userinfo' | 'scopes' | 'roles'>;

/**
 * What a session's user is built from, per opened payload: the session service keeps an opened payload
 * object for as long as the store holds the same sealed value, so a hot session's claims are revived
 * and merged once, not on every request. Frozen, since requests of that session share them.
 */
const parts = new WeakMap<SessionPayload, UserParts>();

/** The {@link OidcUser} of a session: claims validated at login, revived without re-validation. */
export function sessionUser(session: LoadedSession, options: ResolvedOidcOptions): OidcUser {
  const { payload, data } = session;
  let user = parts.get(payload);
  if (!user) {
    const claims = { ...payload.idTokenClaims, ...(payload.userinfo ?? {}), ...(payload.extraClaims ?? {}) };
    user = {
      claims: deepFreeze(claims),
      idToken: deepFreeze(reviveClaims(IdTokenClaims, payload.idTokenClaims)),
      userinfo: payload.userinfo ? deepFreeze(reviveClaims(UserInfoClaims, payload.userinfo)) : undefined,
      scopes: Object.freeze(readScopes(payload.scope)) as string[],
      roles: Object.freeze(readRoles(claims, options.roles?.claim)) as string[],
    };
    parts.set(payload, user);
  }
  return {
    sub: data.sub,
    issuer: data.iss,
    authMethod: 'session',
    ...user,
    sessionId: session.key,
    expiresAt: data.expiresAt,
  };
}

