import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { challenge } from '../errors/oidc-http.js';
import type { OidcError, OidcErrorCode } from '../errors/oidc.error.js';
import type { AccessTokenScheme } from './authorization-header.js';

/** RFC 6750 §3.1 / RFC 9449 §7.1 error codes of the challenge, per module error code. */
const CHALLENGE_ERRORS: Partial<Record<OidcErrorCode, string>> = {
  ERR_OIDC_INVALID_REQUEST: 'invalid_request',
  ERR_OIDC_INVALID_TOKEN: 'invalid_token',
  ERR_OIDC_INVALID_DPOP_PROOF: 'invalid_dpop_proof',
  ERR_OIDC_INSUFFICIENT_SCOPE: 'insufficient_scope',
};

/** What {@link bearerChallenges} needs to know about the failed request. */
export interface BearerChallengeInput {
  err: OidcError;
  realm: string;
  bearer: NonNullable<ResolvedOidcOptions['bearer']>;
  /** The scheme of the request's Authorization header, if it was Bearer or DPoP. */
  scheme: AccessTokenScheme | undefined;
  /** Required scopes, for `insufficient_scope`. */
  scope?: string;
}

/**
 * The `WWW-Authenticate` challenges for a failed access-token request, or `undefined` to keep the
 * default single Bearer challenge.
 *
 * - RFC 9449 §7.1: where both schemes are accepted, every 401 advertises both, `Bearer realm=…` and
 *   `DPoP algs="…"`; the error parameters go in the challenge of the scheme the request used.
 * - With `dpop: 'required'` only the DPoP challenge is sent; with `'disabled'` only the Bearer one.
 */
export function bearerChallenges(input: BearerChallengeInput): string[] | undefined {
  const { err, realm, bearer, scheme, scope } = input;
  const dpopAccepted = bearer.dpop !== 'disabled';
  const bearerAccepted = bearer.dpop !== 'required';
  const algs = bearer.algorithms.join(' ');

  if (err.code === 'ERR_OIDC_UNAUTHENTICATED') {
    // RFC 6750 §3.1: no credentials → challenges without an error code.
    if (!dpopAccepted) return undefined;
    return [...(bearerAccepted ? [challenge('Bearer', { realm })] : []), challenge('DPoP', { algs })];
  }
  const error = CHALLENGE_ERRORS[err.code];
  if (error === undefined) return undefined;

  const inDpop = dpopAccepted && (err.code === 'ERR_OIDC_INVALID_DPOP_PROOF' || scheme === 'dpop' || !bearerAccepted);
  if (inDpop) {
    const challenges = [challenge('DPoP', { error, algs, error_description: err.message, scope })];
    if (bearerAccepted) challenges.push(challenge('Bearer', { realm }));
    return challenges;
  }
  const challenges = [challenge('Bearer', { realm, error, error_description: err.message, scope })];
  if (dpopAccepted) challenges.push(challenge('DPoP', { algs }));
  return challenges;
}
