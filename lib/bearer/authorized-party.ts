import { logText } from '../errors/log-text.js';
import { OidcError } from '../errors/oidc.error.js';

/**
 * `bearer.authorizedParties` (OIDC Core §2 `azp`, RFC 9068 §2.2 / RFC 8693 §4.3 `client_id`): the client the
 * token was issued to must be one this API serves — where `aud` is shared by a realm's clients (Keycloak's
 * `account`), the audience alone does not say so.
 */
export function checkAuthorizedParty(claims: Record<string, unknown>, parties: readonly string[] | undefined): void {
  if (parties === undefined) return;
  const party = claims.azp ?? claims.client_id;
  if (typeof party !== 'string' || !parties.includes(party)) {
    throw new OidcError(
      'ERR_OIDC_INVALID_TOKEN',
      `The access token was issued to client ${logText(JSON.stringify(party ?? null), 100)}, which is not one of bearer.authorizedParties.`,
    );
  }
}
