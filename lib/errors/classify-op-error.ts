import { ClientError, AuthorizationResponseError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { logText, logValue } from './log-text.js';
import { OidcError } from './oidc.error.js';

/**
 * The `error` codes an authorization response may carry: RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6. These alone
 * are ever repeated from a callback request.
 */
export const AUTHORIZATION_ERROR_CODES: ReadonlySet<string> = new Set([
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
]);

/** What the OP said when it refused a call: for log lines and for the error's message. Never a token. */
export interface OpRefusal {
  /** HTTP status of the OP's answer */
  readonly status: number;
  /** the OAuth `error` code (RFC 6749 §5.2), control characters removed and bounded */
  readonly error: string;
}

/** The OP's refusal carried by an error {@link classifyOpError} produced, if it was one. */
export function opRefusalOf(err: OidcError): OpRefusal | undefined {
  return (err as OidcError & { opRefusal?: OpRefusal }).opRefusal;
}

function refused(what: string, status: number, error: string | undefined, cause: unknown): OidcError {
  const refusal: OpRefusal = { status, error: logText(error ?? 'unknown', 64) };
  const out = new OidcError(
    'ERR_OIDC_GRANT_REFUSED',
    `The OpenID Provider refused ${what} (HTTP ${status}, error "${refusal.error}")${hintFor(refusal.error)}`,
    { cause },
  );
  Object.defineProperty(out, 'opRefusal', { value: refusal, enumerable: false });
  return out;
}

/** A next step for the refusals a developer can fix on their side. */
function hintFor(error: string): string {
  if (error === 'invalid_client') return ': check clientId, clientSecret and clientAuthMethod against the client registered at the OP.';
  if (error === 'unauthorized_client') return ': the client is not allowed this grant at the OP; enable it in the client registration.';
  return '.';
}

/**
 * Turns whatever openid-client (or fetch) threw during a call to the OP into an {@link OidcError}:
 * the OP's own refusal → 401, a token or claim failing validation → 401, something that is not an
 * OAuth response at all (HTML, a JSON array, a 5xx, a refused connection, a redirect) → 502, a timeout → 504.
 * The `what` names the step for the message; the OP's words never reach the client verbatim.
 */
export function classifyOpError(err: unknown, what: string): OidcError {
  if (err instanceof OidcError) return err;
  if (err instanceof AuthorizationResponseError) {
    // The `error` of an authorization response arrives in the browser's request, so anyone can write it: only
    // a registered code is ever repeated (on the error page or in a log line), never free text (CWE-117).
    const code = AUTHORIZATION_ERROR_CODES.has(err.error) ? `error "${err.error}"` : 'an error code that is not a registered OAuth one';
    return new OidcError('ERR_OIDC_AUTHORIZATION_ERROR', `The OpenID Provider answered ${what} with ${code}.`, { cause: err });
  }
  if (err instanceof ResponseBodyError) {
    if (err.status >= 500) {
      return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider failed ${what} (HTTP ${err.status}).`, { cause: err });
    }
    // RFC 6749 §5.2: an OAuth error response names its `error`; the OP refused, it is not unreachable.
    return refused(what, err.status, err.error, err);
  }
  if (err instanceof WWWAuthenticateChallengeError) {
    // RFC 6749 §5.2: failed client authentication is 401 with a WWW-Authenticate challenge (invalid_client);
    // RFC 6750 §3: a resource (userinfo) names its `error` in the challenge. Either way, the OP's refusal.
    const named = (err.cause ?? []).map((c) => c.parameters?.error).find((e) => typeof e === 'string');
    if (err.status >= 500) {
      return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider failed ${what} (HTTP ${err.status}).`, { cause: err });
    }
    return refused(what, err.status, named ?? (err.status === 401 ? 'invalid_client' : undefined), err);
  }
  if (err instanceof ClientError) {
    switch (err.code) {
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_ABORT':
        return new OidcError(
          'ERR_OIDC_OP_TIMEOUT',
          `The OpenID Provider did not answer ${what} in time (see the \`http.timeout\` option).`,
          { cause: err },
        );
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
        return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider's answer to ${what} was not a valid OAuth response.`, {
          cause: err,
        });
      case undefined:
        // openid-client wraps errors it does not recognise without a code: our own checks on the OP's
        // responses, or a fetch failure from another realm.
        if (err.cause instanceof OidcError) return err.cause;
        return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider could not be reached for ${what}.`, { cause: err });
    }
    return new OidcError(
      'ERR_OIDC_INVALID_RESPONSE',
      `The OpenID Provider's answer to ${what} failed validation${describeValidation(err)}`,
      { cause: err },
    );
  }
  // By name, not instanceof: errors may come from another realm (vm contexts, workers).
  const name = (err as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new OidcError('ERR_OIDC_OP_TIMEOUT', `The OpenID Provider did not answer ${what} in time (see the \`http.timeout\` option).`, {
      cause: err,
    });
  }
  // fetch() throws a TypeError for refused connections and DNS failures.
  return new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider could not be reached for ${what}.`, { cause: err });
}

/** What oauth4webapi records about a failed check: the claims, the claim, what was expected, the clock. */
interface ValidationDetail {
  claim?: unknown;
  claims?: Record<string, unknown>;
  expected?: unknown;
  header?: Record<string, unknown>;
  now?: unknown;
  tolerance?: unknown;
}

function detailOf(err: ClientError): ValidationDetail | undefined {
  const isDetail = (v: unknown): v is ValidationDetail =>
    typeof v === 'object' && v !== null && ('claims' in v || 'header' in v || 'expected' in v);
  const cause = err.cause as { cause?: unknown } | undefined;
  return isDetail(cause) ? cause : isDetail(cause?.cause) ? cause.cause : undefined;
}

/**
 * The non-secret facts of a failed ID token check, so a developer can act on the log line: which claim,
 * what was found and expected (`iss`, `aud`, `azp`, `alg`), and for time checks the size of the gap next to
 * `clockTolerance`. Never a token, a nonce value or a code.
 */
function describeValidation(err: ClientError): string {
  const d = detailOf(err);
  if (!d) return '.';
  if (d.header && typeof d.expected === 'string') {
    return `: the ID token is signed with ${logValue(d.header.alg)}, but "${d.expected}" is expected. Set \`idTokenSigningAlg\` to the algorithm your OP signs ID tokens with (HS256/384/512 use the client secret, OIDC Core §10.1).`;
  }
  const claim = typeof d.claim === 'string' ? d.claim : undefined;
  if (claim && typeof d.now === 'number' && d.claims) {
    const value = d.claims[claim];
    const tolerance = typeof d.tolerance === 'number' ? d.tolerance : 0;
    if (typeof value !== 'number') return `: the ID token's "${claim}" is missing or not a number.`;
    const gap = Math.round(value - d.now);
    const when = gap >= 0 ? `${gap} s in the future` : `${-gap} s in the past`;
    return `: the ID token's "${claim}" is ${when}; clockTolerance is ${tolerance} s — are the clocks of this server and the OP in sync?`;
  }
  if (claim === 'nonce') return ": the ID token's nonce does not match this login (a replayed or injected ID token).";
  if (claim && d.claims) {
    return `: the ID token's "${claim}" is ${logValue(d.claims[claim])}, but ${logValue(d.expected)} is expected.`;
  }
  return '.';
}
