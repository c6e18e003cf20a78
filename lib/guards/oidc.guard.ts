import { type CanActivate, type ExecutionContext, HttpException, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessTokenVerifier } from '../bearer/access-token.verifier.js';
import { authorizationScheme, parseAuthorization } from '../bearer/authorization-header.js';
import { bearerChallenges } from '../bearer/bearer-challenges.js';
import { bearerUser } from '../bearer/bearer-user.js';
import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import type { OidcCredentialSource } from '../decorators/auth-methods.decorator.js';
import type { ClaimCheck } from '../decorators/roles.decorator.js';
import { toHttpException } from '../errors/oidc-http.js';
import { OidcError } from '../errors/oidc.error.js';
import {
  requestHeader,
  requestHeaderAll,
  requestMethod,
  requestPathAndQuery,
  requestQuery,
  setResponseHeader,
  type PlatformRequest,
  type PlatformResponse,
} from '../http/platform.js';
import { setOidcContext, type OidcRequestContext } from '../http/request-context.js';
import { sanitizeReturnTo } from '../login/return-to.js';
import {
  AUTH_METHODS_KEY,
  CLAIM_CHECKS_KEY,
  IS_PUBLIC_KEY,
  NO_LOGIN_REDIRECT_KEY,
  OIDC_OPTIONS,
  ROLES_KEY,
  SCOPES_KEY,
} from '../oidc.constants.js';
import { OidcSessionService } from '../session/oidc-session.service.js';
import { OidcTokenService } from '../tokens/oidc-token.service.js';
import { sessionUser } from '../session/session-user.js';

const ALL_METHODS: readonly OidcCredentialSource[] = ['session', 'bearer'];

type ReflectorTargets = Parameters<Reflector['getAllAndOverride']>[1];

/** The guard's metadata of one route (handler + controller), read once with the Reflector. */
interface RouteMetadata {
  readonly targets: ReflectorTargets;
  readonly isPublic: boolean;
  readonly methods: readonly OidcCredentialSource[];
  readonly noRedirect: boolean;
  readonly scopes: readonly string[];
  readonly roles: readonly string[] | undefined;
  readonly check: ClaimCheck | undefined;
}

/**
 * Authenticates with the `Authorization` header (Bearer/DPoP) when there is one, otherwise with the
 * session cookie; then enforces `@Scopes()`, `@Roles()` and `@RequireClaims()`.
 *
 * - No or invalid credentials: 401 with `WWW-Authenticate` (RFC 6750 §3).
 * - A browser navigation (GET/HEAD, `Accept: text/html`, no `Authorization`, route not bearer-only)
 *   without a session: 302 to the login route with `returnTo`.
 * - Missing scope: 403 `insufficient_scope`; missing role or failed claim check: 403.
 *
 * Subclass it and override the protected hooks to change a decision.
 *
 * @example
 * ```ts
 * @UseGuards(OidcGuard) @Controller('profile') export class ProfileController { … }
 * ```
 */
@Injectable()
export class OidcGuard implements CanActivate {
  protected readonly logger = new Logger('OidcGuard');

  constructor(
    protected readonly reflector: Reflector,
    @Inject(OIDC_OPTIONS) protected readonly options: ResolvedOidcOptions,
    protected readonly sessions: OidcSessionService,
    protected readonly tokens: OidcTokenService,
    @Optional() protected readonly accessTokens?: AccessTokenVerifier,
  ) {}

  /**
   * Route metadata by handler, then controller class (a handler inherited by two controllers can carry
   * different class-level metadata). Decorator metadata is fixed once the app runs, so it is read once.
   */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteMetadata>>();

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<PlatformRequest>();
    const res = http.getResponse<PlatformResponse>();
    const route = this.route(context.getHandler(), context.getClass());
    const { isPublic, methods, targets } = route;

    try {
      const authenticated = await this.authenticate(req, res, methods);
      if (!authenticated) {
        if (isPublic) return true;
        if (!route.noRedirect && this.isBrowserNavigation(req, methods)) throw this.redirectToLogin(req, res);
        throw new OidcError('ERR_OIDC_UNAUTHENTICATED', 'Authentication is required.');
      }
      setOidcContext(req, authenticated);
      if (!isPublic) this.authorize(authenticated, targets);
      return true;
    } catch (err) {
      if (err instanceof HttpException) throw err;
      if (err instanceof OidcError) {
        if (isPublic && (err.code === 'ERR_OIDC_INVALID_TOKEN' || err.code === 'ERR_OIDC_INVALID_DPOP_PROOF' || err.code === 'ERR_OIDC_UNAUTHENTICATED')) return true;
        const scope = err.code === 'ERR_OIDC_INSUFFICIENT_SCOPE' ? this.requiredScopes(targets).join(' ') : undefined;
        throw toHttpException(err, res, this.realm(), { scope, challenges: this.bearerChallenges(req, err, methods, scope) });
      }
      throw err;
    }
  }

  /** Resolves the request's credentials to a user, or undefined when it carries none. */
  protected async authenticate(
    req: PlatformRequest,
    res: PlatformResponse,
    methods: readonly OidcCredentialSource[],
  ): Promise<OidcRequestContext | undefined> {
    const authorization = requestHeader(req, 'authorization');
    if (authorization !== undefined) {
      if (!methods.includes('bearer')) {
        throw new OidcError('ERR_OIDC_INVALID_TOKEN', 'This route does not accept an Authorization header; use the session.');
      }
      return this.authenticateBearer(req, res, authorization);
    }
    if (!methods.includes('session') || this.options.session.enabled === false) return undefined;
    const loaded = await this.sessions.get(req, res);
    if (!loaded) return undefined;
    let session = loaded;
    try {
      session = await this.tokens.ensureFresh(loaded);
    } catch (err) {
      // LF-26, LF-27 (c): a refused refresh ended the session; the request is anonymous from here on.
      if (err instanceof OidcError && err.code === 'ERR_OIDC_SESSION_ENDED') {
        this.sessions.clearCookie(res);
        return undefined;
      }
      throw err;
    }
    // SE-08: responses that carry a user's data must not be stored by shared caches.
    setResponseHeader(res, 'cache-control', 'no-store');
    return { user: sessionUser(session, this.options), accessToken: session.payload.accessToken };
  }

  /** Bearer/DPoP authentication; enabled with the `bearer` option. */
  protected async authenticateBearer(
    req: PlatformRequest,
    res: PlatformResponse,
    authorization: string,
  ): Promise<OidcRequestContext | undefined> {
    const bearer = this.options.bearer;
    if (!bearer || !this.accessTokens) {
      throw new OidcError('ERR_OIDC_INVALID_TOKEN', 'Bearer tokens are not accepted: the `bearer` option is not configured.');
    }
    const { scheme, token } = parseAuthorization(authorization);
    // RFC 6750 §2: one method per request — a second Authorization header or an `access_token` query
    // parameter next to the header is `invalid_request` (400). (No `?`, no query to parse.)
    if (requestHeaderAll(req, 'authorization').length > 1 || (requestPathAndQuery(req).includes('?') && requestQuery(req).has('access_token'))) {
      throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'Send the access token in exactly one place: one Authorization header.');
    }
    let claims: Readonly<AccessTokenClaims>;
    if (scheme === 'dpop') {
      if (bearer.dpop === 'disabled') throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'The DPoP scheme is not accepted here.');
      // RFC 9449 §4.3 check 1: exactly one DPoP header holding exactly one proof.
      const proofs = requestHeaderAll(req, 'dpop');
      if (proofs.length !== 1 || proofs[0]!.includes(',')) {
        throw new OidcError('ERR_OIDC_INVALID_DPOP_PROOF', 'Send exactly one DPoP proof in one DPoP header.');
      }
      // RFC 9449 §4.3 check 9 / RFC 9700 §4.13: the URL from the configured public origin, never from Host.
      const path = requestPathAndQuery(req);
      const url = `${this.options.baseUrl.origin}${path.startsWith('/') ? path : `/${path}`}`;
      claims = await this.accessTokens.verifyShared(token, { dpopProof: proofs[0]!.trim(), method: requestMethod(req), url, req });
    } else {
      // `req` reaches a `bearer.issuers` resolver (per-request tenants). The claims are the verifier's shared,
      // frozen ones: the user built from them is shared by this token's requests (bearerUser).
      claims = await this.accessTokens.verifyShared(token, { req });
    }
    // Responses that carry a user's data must not be stored by shared caches (as for sessions, SE-08).
    setResponseHeader(res, 'cache-control', 'no-store');
    return { user: bearerUser(claims, this.options, scheme), accessToken: token };
  }

  /** RFC 6750 §3 / RFC 9449 §7.1 challenges for a failure on a route that accepts access tokens. */
  protected bearerChallenges(
    req: PlatformRequest,
    err: OidcError,
    methods: readonly OidcCredentialSource[],
    scope: string | undefined,
  ): string[] | undefined {
    const bearer = this.options.bearer;
    if (!bearer || !methods.includes('bearer')) return undefined;
    const authorization = requestHeader(req, 'authorization');
    if (authorization === undefined && err.code !== 'ERR_OIDC_UNAUTHENTICATED') return undefined;
    return bearerChallenges({ err, realm: this.realm(), bearer, scheme: authorizationScheme(authorization), scope });
  }

  /** Enforces `@Scopes()` (all), `@Roles()` (any) and `@RequireClaims()`. */
  protected authorize(context: OidcRequestContext, targets: ReflectorTargets): void {
    const { user } = context;
    const { scopes, roles, check } = this.routeOf(targets);
    if (scopes.some((s) => !user.scopes.includes(s))) {
      throw new OidcError('ERR_OIDC_INSUFFICIENT_SCOPE', `This route needs the scope(s): ${scopes.join(' ')}.`);
    }
    if (roles?.length && !roles.some((r) => user.roles.includes(r))) {
      throw new OidcError('ERR_OIDC_FORBIDDEN', 'A required role is missing.');
    }
    if (check && !check(user.claims)) {
      throw new OidcError('ERR_OIDC_FORBIDDEN', 'A required claim is missing or has the wrong value.');
    }
  }

  /** API.md §3: GET/HEAD, `Accept` includes text/html, no Authorization header, route not bearer-only. */
  protected isBrowserNavigation(req: PlatformRequest, methods: readonly OidcCredentialSource[]): boolean {
    const method = requestMethod(req);
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (!methods.includes('session') || this.options.routePrefix === false) return false;
    if (requestHeader(req, 'authorization') !== undefined) return false;
    return (requestHeader(req, 'accept') ?? '').toLowerCase().includes('text/html');
  }

  /** Sets `Location` (the login route with `returnTo`) on `res`; returns the 302 to throw. */
  protected redirectToLogin(req: PlatformRequest, res: PlatformResponse): HttpException {
    const loginUrl = new URL(this.options.redirectUri.replace(/\/callback$/, '/login'));
    // SE-09: `GET //evil.example` on a catch-all must not become an open redirect.
    loginUrl.searchParams.set('returnTo', sanitizeReturnTo(requestPathAndQuery(req)));
    setResponseHeader(res, 'location', loginUrl.href);
    setResponseHeader(res, 'cache-control', 'no-store');
    return new HttpException({ statusCode: 302, message: 'Login required; redirecting.' }, 302);
  }

  private requiredScopes(targets: ReflectorTargets): readonly string[] {
    return this.routeOf(targets).scopes;
  }

  /** The metadata of the route `handler` of `controller`, read with the Reflector on first use. */
  private route(handler: object, controller: object): RouteMetadata {
    let byClass = this.routes.get(handler);
    if (!byClass) {
      byClass = new WeakMap();
      this.routes.set(handler, byClass);
    }
    let route = byClass.get(controller);
    if (!route) {
      route = this.readRoute(Object.freeze([handler, controller]) as unknown as ReflectorTargets);
      byClass.set(controller, route);
    }
    return route;
  }

  /** {@link route} for Reflector targets as handed to {@link authorize} (read afresh unless `[handler, class]`). */
  private routeOf(targets: ReflectorTargets): RouteMetadata {
    const [handler, controller] = targets;
    return targets.length === 2 && handler && controller ? this.route(handler, controller) : this.readRoute(targets);
  }

  private readRoute(targets: ReflectorTargets): RouteMetadata {
    const read = <T>(key: string | symbol): T | undefined => this.reflector.getAllAndOverride<T>(key, targets);
    return Object.freeze({
      targets,
      isPublic: read<boolean>(IS_PUBLIC_KEY) ?? false,
      methods: read<OidcCredentialSource[]>(AUTH_METHODS_KEY) ?? ALL_METHODS,
      noRedirect: read<boolean>(NO_LOGIN_REDIRECT_KEY) ?? false,
      scopes: read<string[]>(SCOPES_KEY) ?? [],
      roles: read<string[]>(ROLES_KEY),
      check: read<ClaimCheck>(CLAIM_CHECKS_KEY),
    });
  }

  protected realm(): string {
    return this.options.baseUrl.host;
  }
}

/**
 * Registered as `APP_GUARD` by the module: applies {@link OidcGuard} to every route when the
 * `globalGuard` option is on, and lets everything through otherwise.
 */
@Injectable()
export class OidcGlobalGuard implements CanActivate {
  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly guard: OidcGuard,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    return this.options.globalGuard ? this.guard.canActivate(context) : true;
  }
}
