import { HttpException, IntrinsicException } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import type { StepUpRequirement } from '../decorators/step-up.decorator.js';
import { OIDC_ERROR_STATUS, OidcError, type OidcErrorCode } from '../errors/oidc.error.js';
import { sendResponse, setResponseHeader, type PlatformResponse } from './platform.js';

/**
 * The one mapping from {@link OidcError} to an HTTP answer — status, headers and body — for the guard, the
 * Passport strategies and the built-in routes alike. Nothing else in the module chooses a status for an
 * `OidcError` or writes an error's headers.
 */

/** Headers on every answer of the built-in routes (SE-02, SE-08): never cached, never leaking a referrer. */
const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
});

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...NO_STORE_HEADERS,
  'content-type': 'application/json; charset=utf-8',
});
const HTML_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...NO_STORE_HEADERS,
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'",
});

/** The two access-token authorization schemes (lower-cased). */
export type AccessTokenScheme = 'bearer' | 'dpop';

/** RFC 6750 §3: quoted-string values must not carry `"` or `\`; keep them printable ASCII. */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]|["\\]/g, '')}"`;
}

/** Builds an RFC 6750 §3 / RFC 9449 §7.1 challenge. */
export function challenge(scheme: 'Bearer' | 'DPoP', params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length ? `${scheme} ${parts.join(', ')}` : scheme;
}

/** RFC 6750 §3.1 / RFC 9449 §7.1 error codes of the challenge, per module error code. */
const CHALLENGE_ERRORS: Partial<Record<OidcErrorCode, string>> = {
  ERR_OIDC_INVALID_REQUEST: 'invalid_request',
  ERR_OIDC_INVALID_TOKEN: 'invalid_token',
  ERR_OIDC_INVALID_DPOP_PROOF: 'invalid_dpop_proof',
  ERR_OIDC_INSUFFICIENT_SCOPE: 'insufficient_scope',
  ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION: 'insufficient_user_authentication',
};

/** RFC 9470 §3: what the client must come back with — `acr_values` and `max_age` of the unmet `@StepUp()`. */
function stepUpParams(stepUp: StepUpRequirement | undefined): Record<string, string | undefined> {
  return {
    acr_values: stepUp?.acr?.join(' '),
    max_age: stepUp?.maxAge === undefined ? undefined : String(stepUp.maxAge),
  };
}

/** What {@link bearerChallenges} needs to know about the failed request. */
export interface BearerChallengeInput {
  err: OidcError;
  realm: string;
  bearer: NonNullable<ResolvedOidcOptions['bearer']>;
  /** The scheme of the request's Authorization header, if it was Bearer or DPoP. */
  scheme: AccessTokenScheme | undefined;
  /** Required scopes, for `insufficient_scope`. */
  scope?: string;
  /** The unmet requirement, for `insufficient_user_authentication` (RFC 9470 §3). */
  stepUp?: StepUpRequirement;
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
  const stepUp = stepUpParams(input.stepUp);
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
    const challenges = [challenge('DPoP', { error, algs, error_description: err.message, scope, ...stepUp })];
    if (bearerAccepted) challenges.push(challenge('Bearer', { realm }));
    return challenges;
  }
  const challenges = [challenge('Bearer', { realm, error, error_description: err.message, scope, ...stepUp })];
  if (dpopAccepted) challenges.push(challenge('DPoP', { algs }));
  return challenges;
}

/** How a protected route's failure is answered: its challenges and required scope, where known. */
export interface ProtectedRouteFailure {
  /** `WWW-Authenticate` host for the default challenge (RFC 6750 §3 `realm`). */
  realm: string;
  /** Required scopes, for `insufficient_scope`. */
  scope?: string;
  /** The unmet `@StepUp()`, for `insufficient_user_authentication` (RFC 9470 §3). */
  stepUp?: StepUpRequirement;
  /** Challenges built by {@link bearerChallenges}; otherwise the single default Bearer challenge. */
  challenges?: string[];
}

/** The `WWW-Authenticate` value of a protected route's failure, if it has one (RFC 6750 §3, RFC 9449 §7.1). */
function authenticateHeader(err: OidcError, failure: ProtectedRouteFailure): string | undefined {
  const { realm, scope, challenges } = failure;
  if (challenges?.length) return challenges.join(', ');
  switch (err.code) {
    // RFC 6750 §3.1: a request with no credentials gets a bare challenge, no error code.
    case 'ERR_OIDC_UNAUTHENTICATED':
      return challenge('Bearer', { realm });
    case 'ERR_OIDC_INVALID_TOKEN':
      return challenge('Bearer', { realm, error: 'invalid_token', error_description: err.message });
    case 'ERR_OIDC_INSUFFICIENT_SCOPE':
      return challenge('Bearer', { realm, error: 'insufficient_scope', error_description: err.message, scope });
    // RFC 9470 §3: also for a session's API call, so a client knows what to log in with.
    case 'ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION':
      return challenge('Bearer', {
        realm,
        error: 'insufficient_user_authentication',
        error_description: err.message,
        ...stepUpParams(failure.stepUp),
      });
    default:
      return undefined;
  }
}

/**
 * A protected route's failure (guard, Passport strategy): status from {@link OIDC_ERROR_STATUS}, and
 * `Cache-Control: no-store` plus `WWW-Authenticate` set on the response before the exception is thrown — a
 * Nest exception filter renders the body, so an app's own filter still sends the RFC 6750 challenge.
 * The HttpException carries the status, the code and the module's own message (never request input).
 */
export function protectedRouteException(err: OidcError, res: PlatformResponse, failure: ProtectedRouteFailure): HttpException {
  const status = OIDC_ERROR_STATUS[err.code];
  setResponseHeader(res, 'cache-control', 'no-store');
  const wwwAuthenticate = authenticateHeader(err, failure);
  if (wwwAuthenticate !== undefined) setResponseHeader(res, 'www-authenticate', wwwAuthenticate);
  return new HttpException({ statusCode: status, error: err.code, message: err.message }, status, { cause: err });
}

/** The `WWW-Authenticate` a protected route's failure would carry, for Passport's `fail(challenge)`. */
export function protectedRouteChallenge(err: OidcError, failure: ProtectedRouteFailure): string | undefined {
  return OIDC_ERROR_STATUS[err.code] === 401 ? authenticateHeader(err, failure) : undefined;
}

/** API.md §3: a browser navigation without a session is sent to the login route (302, never cached). */
export function loginRedirectException(res: PlatformResponse, location: string): HttpException {
  setResponseHeader(res, 'location', location);
  setResponseHeader(res, 'cache-control', 'no-store');
  return new HttpException({ statusCode: 302, message: 'Login required; redirecting.' }, 302);
}

/** Responses that carry a user's data must not be stored by shared caches (SE-08). */
export function markPrivate(res: PlatformResponse): void {
  setResponseHeader(res, 'cache-control', 'no-store');
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in failed',
  403: 'Forbidden',
  502: 'Sign-in provider error',
  503: 'Sign-in temporarily unavailable',
  504: 'Sign-in provider timed out',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** How a built-in route answers a failure. */
export type RouteErrorFormat =
  /** Browser routes (login, callback, logout): a small HTML page with the module's message and a retry link. */
  | { readonly page: true; readonly retryUrl?: string }
  /** Back-Channel Logout §2.8: JSON `{ error, error_description }`, 400 for a bad request or token. */
  | 'backchannel'
  /** Front-Channel Logout: a bare page; the OP shows it in an invisible iframe. */
  | 'frontchannel';

/**
 * A built-in route's failure. The page shows the module's own message (never the request's input or the
 * OP's `error_description`, LF-07), escaped, with no external resources.
 */
export function sendRouteError(res: PlatformResponse, err: OidcError, format: RouteErrorFormat): void {
  const status = OIDC_ERROR_STATUS[err.code];
  if (format === 'backchannel') {
    // Back-Channel Logout §2.8: 400 for a request the RP refuses; anything else is this side's trouble.
    const error = status === 400 ? 'invalid_request' : 'temporarily_unavailable';
    sendResponse(res, status, JSON.stringify({ error, error_description: err.message }), JSON_HEADERS);
    return;
  }
  if (format === 'frontchannel') {
    sendResponse(res, status, `<!doctype html><title>${TITLES[status] ?? 'Error'}</title>`, FRONTCHANNEL_HEADERS);
    return;
  }
  const title = TITLES[status] ?? 'Error';
  const retry = format.retryUrl ? `<p><a href="${escapeHtml(format.retryUrl)}">Try signing in again</a></p>` : '';
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${escapeHtml(err.message)}</p><p><code>${err.code}</code></p>${retry}</body></html>`;
  sendResponse(res, status, body, HTML_HEADERS);
}

/** A failure that is not an {@link OidcError} (a bug or a dependency's crash), as the generic sign-in error. */
export function asRouteError(err: unknown): OidcError {
  return err instanceof OidcError
    ? err
    : new OidcError('ERR_OIDC_OP_UNAVAILABLE', 'Something went wrong while signing in; try again.', { cause: err });
}

// ——— The built-in routes' other answers (the success side), so that their headers live here too. ———

/** Front-Channel Logout 1.0 §2: the page sits in the OP's iframe and must never be cached. */
const FRONTCHANNEL_HEADERS: Readonly<Record<string, string>> = Object.freeze({ ...HTML_HEADERS, 'cache-control': 'no-cache, no-store' });

/** 302 to `location`, never cached. */
export function sendNoStoreRedirect(res: PlatformResponse, location: string): void {
  sendResponse(res, 302, '', { ...NO_STORE_HEADERS, location });
}

/** JSON, never cached. */
export function sendJson(res: PlatformResponse, status: number, body: unknown): void {
  sendResponse(res, status, JSON.stringify(body), JSON_HEADERS);
}

/** Back-Channel Logout §2.8: success is 200 with an empty body (and `no-store`). */
export function sendEmptyOk(res: PlatformResponse): void {
  sendResponse(res, 200, '', NO_STORE_HEADERS);
}

/** LO-14 (a): `Allow: POST` and `no-store` — not the platform's 404, which would echo the query string. */
export function sendMethodNotAllowed(res: PlatformResponse): void {
  sendResponse(res, 405, JSON.stringify({ error: 'invalid_request', error_description: 'Use POST.' }), { ...JSON_HEADERS, allow: 'POST' });
}

/** Front-channel logout outcomes without an error: 200 signed out, or 404 when the route is off. */
export function sendFrontchannelPage(res: PlatformResponse, status: 200 | 404): void {
  sendResponse(res, status, status === 200 ? '<!doctype html><title>Signed out</title>' : '', FRONTCHANNEL_HEADERS);
}

/**
 * The page or redirect the browser lands on after logout. Clear-Site-Data (W3C): Chromium keeps even
 * `no-store` pages in its back/forward cache; flushing the cache where the browser lands after logout keeps
 * Back from showing the previous user's private page. (On the /auth/logout redirect itself it would come too
 * early: the OP's pages are visited after it.)
 */
export function sendLoggedOutLanding(res: PlatformResponse, location: string | undefined): void {
  const headers = { ...NO_STORE_HEADERS, 'clear-site-data': '"cache"' };
  if (location) {
    sendResponse(res, 302, '', { ...headers, location });
    return;
  }
  sendResponse(
    res,
    200,
    '<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out</h1><p>You are signed out.</p></body></html>',
    { ...HTML_HEADERS, 'clear-site-data': '"cache"' },
  );
}

/**
 * A protected resolver's refusal. GraphQL execution wraps what a resolver (or its guard) throws into a GraphQLError and
 * keeps its `extensions` (graphql-js `locatedError`), which Apollo and Mercurius both send; as a Nest
 * IntrinsicException it is not logged as an unexpected error by Nest's exception handler.
 */
export class OidcGraphQLError extends IntrinsicException {
  override readonly name = 'OidcGraphQLError';

  constructor(
    message: string,
    readonly extensions: Readonly<{ code: string; oidcCode: OidcErrorCode }>,
  ) {
    super(message);
  }
}

/**
 * A protected resolver's failure (API.md §7.4): a GraphQL error, never a redirect — `extensions.code`
 * `UNAUTHENTICATED` for missing or refused credentials, `FORBIDDEN` for a refused scope, role, claim or step-up,
 * `BAD_REQUEST` / `SERVICE_UNAVAILABLE` otherwise — and `extensions.oidcCode`. The RFC 6750 / RFC 9470 challenge goes
 * on the HTTP response when there is one.
 */
export function graphqlError(err: OidcError, res: PlatformResponse | undefined, failure: ProtectedRouteFailure): OidcGraphQLError {
  if (res) {
    setResponseHeader(res, 'cache-control', 'no-store');
    const wwwAuthenticate = authenticateHeader(err, failure);
    if (wwwAuthenticate !== undefined) setResponseHeader(res, 'www-authenticate', wwwAuthenticate);
  }
  const status = OIDC_ERROR_STATUS[err.code];
  const code =
    err.code === 'ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION' || status === 403
      ? 'FORBIDDEN'
      : status === 401
        ? 'UNAUTHENTICATED'
        : status === 400
          ? 'BAD_REQUEST'
          : 'SERVICE_UNAVAILABLE';
  return new OidcGraphQLError(err.message, Object.freeze({ code, oidcCode: err.code }));
}
