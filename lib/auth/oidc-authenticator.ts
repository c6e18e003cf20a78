import { Inject, Injectable, Optional } from '@nestjs/common';
import { AccessTokenVerifier } from '../bearer/access-token.verifier.js';
import { assertDpopSchemeAccepted, dpopRequestOf } from '../bearer/dpop.verifier.js';
import { canonicalIssuer } from '../bearer/issuer-trust.js';
import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import { deepFreeze, isPlainObject, reviveClaims } from '../claims/claims.validation.js';
import { IdTokenClaims } from '../claims/id-token-claims.js';
import { UserInfoClaims } from '../claims/userinfo-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { ALL_CREDENTIAL_SOURCES, type OidcCredentialSource } from '../decorators/auth-methods.decorator.js';
import type { StepUpRequirement } from '../decorators/step-up.decorator.js';
import { OidcError, invalidToken } from '../errors/oidc.error.js';
import { bearerChallenges, markPrivate, type AccessTokenScheme } from '../http/error-response.js';
import {
  requestHeader,
  requestHeaderAll,
  requestMethod,
  requestPathAndQuery,
  requestQuery,
  type PlatformRequest,
  type PlatformResponse,
} from '../http/platform.js';
import { setOidcContext, type OidcRequestContext } from '../http/request-context.js';
import { sanitizeReturnTo } from '../http/return-to.js';
import { OIDC_CLOCK, OIDC_OPTIONS, systemClock, type OidcClock } from '../oidc.constants.js';
import { OidcSessionService, type LoadedSession } from '../session/oidc-session.service.js';
import type { SessionPayload } from '../session/session-payload.js';
import { OidcTokenService } from '../tokens/oidc-token.service.js';
import { authenticationFacts, readClaimPath, readRoles, readScopes, type ClaimPath, type OidcUser } from '../user/oidc-user.js';

/** Options of {@link OidcAuthenticator.authenticate}. */
export interface OidcAuthenticateOptions {
  /** Where the credential may come from; both by default (the `Authorization` header wins when present). */
  sources?: readonly OidcCredentialSource[];
  /**
   * The response, when there is one: an ended session's cookie is cleared on it and `Cache-Control: no-store` is
   * set for an authenticated request. Without it (a WebSocket upgrade, a queue message) nothing is written.
   */
  response?: PlatformResponse;
}

/**
 * The module's authentication, for every transport: picks the request's credential (the `Authorization` header
 * when present, else the session cookie), verifies it — Bearer or DPoP access token (RFC 6750, RFC 9449), or the
 * server-side session, refreshing its tokens when due — and hands back the {@link OidcUser}. `OidcGuard`, the
 * Passport strategies and custom transports (GraphQL, WebSockets, queues) all call it.
 *
 * Resolves to `undefined` when the request carries no credential; rejects with an {@link OidcError} when it
 * carries one that is refused (`ERR_OIDC_INVALID_TOKEN`, `ERR_OIDC_INVALID_DPOP_PROOF`, `ERR_OIDC_INVALID_REQUEST`)
 * or cannot be checked now (`ERR_OIDC_KEYS_UNAVAILABLE`, `ERR_OIDC_SESSION_STORE_UNAVAILABLE`, …). Authorization
 * (`@Scopes()`, `@Roles()`) stays with the guard.
 *
 * @see RFC 6750 §2.1 (the Authorization header), RFC 9449 §7.1 (the DPoP scheme)
 * @example
 * ```ts
 * @Injectable() class UpgradeAuth {
 *   constructor(private readonly authenticator: OidcAuthenticator) {}
 *   async userOf(req: IncomingMessage) {
 *     return this.authenticator.authenticate(req); // OidcUser | undefined
 *   }
 * }
 * ```
 */
@Injectable()
export class OidcAuthenticator {
  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly sessions: OidcSessionService,
    private readonly tokens: OidcTokenService,
    @Optional() private readonly accessTokens?: AccessTokenVerifier,
    @Optional() @Inject(OIDC_CLOCK) private readonly clock: OidcClock = systemClock,
  ) {}

  /**
   * The request's user, or `undefined` when it carries no credential. `request` is an Express or Fastify request,
   * or a plain node `IncomingMessage` (a WebSocket upgrade). On success the user is also left on the request for
   * `@CurrentUser()`, `@AccessToken()` and `req.user`.
   */
  async authenticate(request: object, options: OidcAuthenticateOptions = {}): Promise<OidcUser | undefined> {
    const context = await this.resolve(request, options.response, options.sources ?? ALL_CREDENTIAL_SOURCES);
    if (!context) return undefined;
    setOidcContext(request, context);
    return context.user;
  }

  /**
   * {@link authenticate} without leaving the result on the request: the user and the raw access token.
   *
   * @internal
   */
  resolve(
    req: PlatformRequest,
    res: PlatformResponse | undefined,
    sources: readonly OidcCredentialSource[],
  ): OidcRequestContext | undefined | Promise<OidcRequestContext | undefined> {
    // Settled without a promise where no I/O is needed (a cached bearer token; no Authorization header where sessions
    // are off or not accepted): `OidcGuard` then decides the request synchronously. A refusal may be thrown rather than
    // rejected, so call it inside an async function or a try.

    const authorization = requestHeader(req, 'authorization');
    if (authorization !== undefined) {
      if (!sources.includes('bearer')) {
        throw invalidToken('This route does not accept an Authorization header; use the session.');
      }
      return this.resolveAccessToken(req, res, authorization);
    }
    if (!sources.includes('session') || this.options.session.enabled === false) return undefined;
    return this.resolveSession(req, res);
  }

  /** The session's user, its tokens refreshed first when due (API.md §5). */
  private async resolveSession(req: PlatformRequest, res: PlatformResponse | undefined): Promise<OidcRequestContext | undefined> {
    const loaded = await this.sessions.get(req, res);
    if (!loaded) return undefined;
    let session: LoadedSession;
    try {
      session = await this.tokens.ensureFresh(loaded);
    } catch (err) {
      // LF-26, LF-27 (c): a refused refresh ended the session; the request is anonymous from here on.
      if (err instanceof OidcError && err.code === 'ERR_OIDC_SESSION_ENDED') {
        if (res) this.sessions.clearCookie(res);
        return undefined;
      }
      throw err;
    }
    // SE-08: responses that carry a user's data must not be stored by shared caches.
    if (res) markPrivate(res);
    return { user: sessionUser(session, this.options), accessToken: session.payload.accessToken };
  }

  /** Bearer/DPoP authentication (RFC 6750 §2.1, RFC 9449 §7.1); enabled with the `bearer` option. */
  private resolveAccessToken(
    req: PlatformRequest,
    res: PlatformResponse | undefined,
    authorization: string,
  ): OidcRequestContext | Promise<OidcRequestContext> {
    const bearer = this.options.bearer;
    if (!bearer || !this.accessTokens) {
      throw invalidToken('Bearer tokens are not accepted: the `bearer` option is not configured.');
    }
    const { scheme, token } = parseAuthorization(authorization);
    // RFC 6750 §2: one method per request — a second Authorization header or an `access_token` query
    // parameter next to the header is `invalid_request` (400). (No `?`, no query to parse.)
    if (
      requestHeaderAll(req, 'authorization').length > 1 ||
      (requestPathAndQuery(req).includes('?') && requestQuery(req).has('access_token'))
    ) {
      throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'Send the access token in exactly one place: one Authorization header.');
    }
    let claims: Readonly<AccessTokenClaims> | Promise<Readonly<AccessTokenClaims>>;
    if (scheme === 'dpop') {
      assertDpopSchemeAccepted(bearer.dpop);
      const { proof, method, url } = dpopRequestOf(req, this.options.baseUrl.origin);
      claims = this.accessTokens.verifyShared(token, { dpopProof: proof, method, url, req });
    } else {
      // `req` reaches a `bearer.issuers` resolver (per-request tenants). The claims are the verifier's shared,
      // frozen ones: the user built from them is shared by this token's requests (bearerUser). A cached token's come
      // without a promise.
      claims = this.accessTokens.verifyShared(token, { req });
    }
    return claims instanceof Promise
      ? claims.then((verified) => this.accessTokenContext(verified, res, token, scheme))
      : this.accessTokenContext(claims, res, token, scheme);
  }

  private accessTokenContext(
    claims: Readonly<AccessTokenClaims>,
    res: PlatformResponse | undefined,
    token: string,
    scheme: AccessTokenScheme,
  ): OidcRequestContext {
    // Responses that carry a user's data must not be stored by shared caches (as for sessions, SE-08).
    if (res) markPrivate(res);
    return { user: bearerUser(claims, this.options, scheme), accessToken: token };
  }

  /**
   * RFC 6750 §3 / RFC 9449 §7.1 challenges for a failure on a route that accepts access tokens.
   *
   * @internal
   */
  challengesFor(
    req: PlatformRequest,
    err: OidcError,
    sources: readonly OidcCredentialSource[],
    scope: string | undefined,
    stepUp?: StepUpRequirement,
  ): string[] | undefined {
    const bearer = this.options.bearer;
    if (!bearer || !sources.includes('bearer')) return undefined;
    const authorization = requestHeader(req, 'authorization');
    if (authorization === undefined && err.code !== 'ERR_OIDC_UNAUTHENTICATED') return undefined;
    return bearerChallenges({ err, realm: this.realm, bearer, scheme: authorizationScheme(authorization), scope, stepUp });
  }

  /**
   * API.md §3: GET/HEAD, `Accept` includes text/html, no Authorization header, route not bearer-only.
   *
   * @internal
   */
  isBrowserNavigation(req: PlatformRequest, sources: readonly OidcCredentialSource[]): boolean {
    const method = requestMethod(req);
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (!sources.includes('session') || this.options.routePrefix === false) return false;
    if (requestHeader(req, 'authorization') !== undefined) return false;
    return (requestHeader(req, 'accept') ?? '').toLowerCase().includes('text/html');
  }

  /**
   * The login route with this request's path as `returnTo` — and, for a step-up, the `acr_values` and `max_age`
   * the login must ask the OP for (RFC 9470 §4, OIDC Core §3.1.2.1).
   *
   * @internal
   */
  loginUrlFor(req: PlatformRequest, stepUp?: StepUpRequirement): string {
    const loginUrl = new URL(this.options.loginUri);
    // SE-09: `GET //evil.example` on a catch-all must not become an open redirect.
    loginUrl.searchParams.set('returnTo', sanitizeReturnTo(requestPathAndQuery(req)));
    if (stepUp?.acr) loginUrl.searchParams.set('acr_values', stepUp.acr.join(' '));
    if (stepUp?.maxAge !== undefined) loginUrl.searchParams.set('max_age', String(stepUp.maxAge));
    return loginUrl.href;
  }

  /**
   * Why `user` falls short of a `@StepUp()` requirement (RFC 9470 §3), or undefined when it meets it: `acr` one of
   * the required values; `auth_time` present and at most `maxAge` seconds ago (with `clockTolerance` for the OP's
   * clock, OIDC Core §3.1.3.7 steps 12–13).
   *
   * @internal
   */
  stepUpShortfall(user: OidcUser, requirement: StepUpRequirement): string | undefined {
    const { acr, maxAge } = requirement;
    if (acr && (user.acr === undefined || !acr.includes(user.acr))) {
      return 'A stronger authentication is required for this resource.';
    }
    if (maxAge !== undefined) {
      const now = Math.floor(this.clock.now() / 1000);
      if (user.authTime === undefined || now - user.authTime > maxAge + this.options.clockTolerance) {
        return 'A more recent authentication is required for this resource.';
      }
    }
    return undefined;
  }

  /**
   * RFC 6750 §3 `realm`: this app's public host.
   *
   * @internal
   */
  get realm(): string {
    return this.options.baseUrl.host;
  }
}

// ——— The Authorization header ———

/**
 * A parsed `Authorization` header carrying an access token.
 *
 * @internal
 */
export interface AccessTokenCredential {
  scheme: AccessTokenScheme;
  token: string;
}

/**
 * RFC 6750 §2.1 / RFC 9449 §7.1: `<scheme> 1*SP token68`. The scheme compares case-insensitively
 * (RFC 9110 §11.1); the credential is exactly one token68 (RFC 9110 §11.2), so `Bearer`, `Bearer a b`
 * or a quoted value do not fit.
 */
const CREDENTIALS = /^([A-Za-z][A-Za-z0-9!#$%&'*+\-.^_`|~]*) +([A-Za-z0-9\-._~+/]+=*)$/;

/**
 * Parses an `Authorization` header into a Bearer or DPoP credential. Anything else is
 * `ERR_OIDC_INVALID_REQUEST` (400, RFC 6750 §3.1 `invalid_request`).
 *
 * @internal
 */
export function parseAuthorization(value: string): AccessTokenCredential {
  const match = CREDENTIALS.exec(value);
  const scheme = match?.[1]!.toLowerCase();
  if (!match || (scheme !== 'bearer' && scheme !== 'dpop')) {
    throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'The Authorization header must be "Bearer <access token>" or "DPoP <access token>".');
  }
  return { scheme, token: match[2]! };
}

/**
 * The scheme of an `Authorization` header when it is Bearer or DPoP (for choosing the challenge).
 *
 * @internal
 */
export function authorizationScheme(value: string | undefined): AccessTokenScheme | undefined {
  const scheme = value?.trimStart().split(' ', 1)[0]!.toLowerCase();
  return scheme === 'bearer' || scheme === 'dpop' ? scheme : undefined;
}

// ——— The user of an access token ———

/** A Dex connector id usable as a prefix: a plain token, so `"<connector>:<value>"` splits one way only. */
const CONNECTOR_ID = /^[A-Za-z0-9._~-]+$/;

/**
 * `OidcUser.identity` of a token (`bearer.identityClaims`): the configured claim of the token's issuer when
 * it is a non-empty string; prefixed with Dex's `federated_claims.connector_id` as `"<connector_id>:<value>"`
 * when the token carries one, so the same e-mail asserted through two upstream identity providers is two
 * identities. Undefined when no claim is configured for the issuer, the claim is missing, or the connector
 * id is not a plain token.
 *
 * @internal
 */
export function readIdentity(
  claims: Record<string, unknown>,
  issuer: string,
  identityClaims: ReadonlyMap<string, ClaimPath>,
): string | undefined {
  const path = identityClaims.get(issuer);
  if (path === undefined) return undefined;
  const value = readClaimPath(claims, path);
  if (typeof value !== 'string' || value === '') return undefined;
  const federated = claims.federated_claims;
  if (!isPlainObject(federated) || federated.connector_id === undefined) return value;
  const connector = federated.connector_id;
  return typeof connector === 'string' && CONNECTOR_ID.test(connector) ? `${connector}:${value}` : undefined;
}

type BearerUserParts = Pick<OidcUser, 'claims' | 'accessTokenClaims' | 'scopes' | 'roles' | 'identity' | 'acr' | 'amr' | 'authTime'>;

/**
 * What a bearer user is built from, per claims object: `AccessTokenVerifier.verifyShared` hands out the same
 * cached (frozen) claims for every request with a token, so its claims copy, scopes, roles and identity are
 * worked out once and shared — frozen, like a session user's. Kept only as long as those claims live.
 */
const bearerParts = new WeakMap<object, { readonly options: ResolvedOidcOptions; readonly parts: BearerUserParts }>();

/**
 * The {@link OidcUser} of a request authenticated with a verified (or introspected) access token. When
 * `claims` is frozen — the verifier's shared claims, deeply frozen — the user's `claims`, `scopes` and
 * `roles` are frozen too and shared by the requests that carry the same token; otherwise they are built
 * afresh.
 *
 * @internal
 */
export function bearerUser(claims: Readonly<AccessTokenClaims>, options: ResolvedOidcOptions, authMethod: 'bearer' | 'dpop'): OidcUser {
  let shared: BearerUserParts | undefined;
  if (Object.isFrozen(claims)) {
    const built = bearerParts.get(claims);
    if (built?.options === options) {
      shared = built.parts;
    } else {
      shared = userParts(claims, options, true);
      bearerParts.set(claims, { options, parts: shared });
    }
  }
  return {
    sub: claims.sub,
    issuer: canonicalIssuer(claims.iss, options),
    authMethod,
    ...(shared ?? userParts(claims, options, false)),
    expiresAt: claims.exp,
  };
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
    // RFC 9068 §2.2.1: the access token's authentication facts, for @StepUp().
    ...authenticationFacts(all),
  };
  return frozen ? Object.freeze(built) : built;
}

// ——— The user of a session ———

type SessionUserParts = Pick<OidcUser, 'claims' | 'idToken' | 'userinfo' | 'scopes' | 'roles' | 'acr' | 'amr' | 'authTime'>;

/**
 * What a session's user is built from, per opened payload: the session service keeps an opened payload
 * object for as long as the store holds the same sealed value, so a hot session's claims are revived
 * and merged once, not on every request. Frozen, since requests of that session share them.
 */
const sessionParts = new WeakMap<SessionPayload, SessionUserParts>();

/**
 * The {@link OidcUser} of a session: claims validated at login, revived without re-validation.
 *
 * @internal
 */
export function sessionUser(session: LoadedSession, options: ResolvedOidcOptions): OidcUser {
  const { payload, data } = session;
  let user = sessionParts.get(payload);
  if (!user) {
    const claims = { ...payload.idTokenClaims, ...(payload.userinfo ?? {}), ...(payload.extraClaims ?? {}) };
    user = {
      claims: deepFreeze(claims),
      idToken: deepFreeze(reviveClaims(IdTokenClaims, payload.idTokenClaims)),
      userinfo: payload.userinfo ? deepFreeze(reviveClaims(UserInfoClaims, payload.userinfo)) : undefined,
      scopes: Object.freeze(readScopes(payload.scope)) as string[],
      roles: Object.freeze(readRoles(claims, options.roles?.claim)) as string[],
      // OIDC Core §2: how and when the user authenticated, from the ID token (for @StepUp()).
      ...authenticationFacts(payload.idTokenClaims),
    };
    sessionParts.set(payload, user);
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
