import { ClientError, AuthorizationResponseError, ResponseBodyError } from 'openid-client';
import { OidcError } from './oidc.error.js';

/**
 * Turns whatever openid-client (or fetch) threw during a call to the OP into an {@link OidcError}:
 * the OP's own refusal → 401, a token or claim failing validation → 401, something that is not an
 * OAuth response at all (HTML, a JSON array, a 5xx, a refused connection, a redirect) → 502, a timeout → 504.
 * The `what` names the step for the message; the OP's words never reach the client verbatim.
 */
export function classifyOpError(err: unknown, what: string): OidcError {
  if (err instanceof OidcError) return err;
  if (err instanceof AuthorizationResponseError) {
    return new OidcError('ERR_OIDC_AUTHORIZATION_ERROR', `The OpenID Provider answered ${what} with error "${err.error}".`, { cause: err });
  }
  if (err instanceof ResponseBodyError) {
    if (err.status >= 500) {
      return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider failed ${what} (HTTP ${err.status}).`, { cause: err });
    }
    return new OidcError('ERR_OIDC_GRANT_REFUSED', `The OpenID Provider refused ${what} with error "${err.error}".`, { cause: err });
  }
  if (err instanceof ClientError) {
    switch (err.code) {
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_ABORT':
        return new OidcError('ERR_OIDC_OP_TIMEOUT', `The OpenID Provider did not answer ${what} in time (see the \`http.timeout\` option).`, { cause: err });
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
        return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider's answer to ${what} was not a valid OAuth response.`, { cause: err });
      case undefined:
        // openid-client wraps errors it does not recognise without a code: our own checks on the OP's
        // responses, or a fetch failure from another realm.
        if (err.cause instanceof OidcError) return err.cause;
        return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider could not be reached for ${what}.`, { cause: err });
    }
    return new OidcError('ERR_OIDC_INVALID_RESPONSE', `The OpenID Provider's answer to ${what} failed validation.`, { cause: err });
  }
  // By name, not instanceof: errors may come from another realm (vm contexts, workers).
  const name = (err as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new OidcError('ERR_OIDC_OP_TIMEOUT', `The OpenID Provider did not answer ${what} in time (see the \`http.timeout\` option).`, { cause: err });
  }
  // fetch() throws a TypeError for refused connections and DNS failures.
  return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider could not be reached for ${what}.`, { cause: err });
}
