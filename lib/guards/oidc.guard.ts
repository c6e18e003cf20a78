import { type CanActivate, type ExecutionContext, HttpException, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { OidcAuthenticator } from '../auth/oidc-authenticator.js';
import { OidcSocketAuth } from '../auth/oidc-socket-auth.js';
import { ALL_CREDENTIAL_SOURCES, type OidcCredentialSource } from '../decorators/auth-methods.decorator.js';
import type { ClaimCheck } from '../decorators/roles.decorator.js';
import type { StepUpRequirement } from '../decorators/step-up.decorator.js';
import { OIDC_ERROR_STATUS, OidcError } from '../errors/oidc.error.js';
import { graphqlError, loginRedirectException, protectedRouteException } from '../http/error-response.js';
import { transportRequestOf, type TransportRequest } from '../http/execution-context.js';
import type { PlatformRequest, PlatformResponse } from '../http/platform.js';
import { setOidcContext, type OidcRequestContext } from '../http/request-context.js';
import {
  AUTH_METHODS_KEY,
  CLAIM_CHECKS_KEY,
  IS_PUBLIC_KEY,
  NO_LOGIN_REDIRECT_KEY,
  ROLES_KEY,
  SCOPES_KEY,
  STEP_UP_KEY,
} from '../oidc.constants.js';

/** GraphQL: each HTTP request's authentication, by accepted credential sources (see `authenticateOnce`). */
const graphqlAuthentications = new WeakMap<PlatformRequest, Map<string, Promise<OidcRequestContext | undefined>>>();
/** `@nestjs/websockets`, present wherever a gateway runs (a variable, so no bundler makes it a dependency). */
const WEBSOCKETS = '@nestjs/websockets';
/** A GraphQL context without an HTTP response (a subscription, a test): headers set on it go nowhere. */
const NO_RESPONSE: PlatformResponse = Object.freeze({ setHeader() {}, getHeader() {} });

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
  readonly stepUp: StepUpRequirement | undefined;
}

/**
 * Authenticates with {@link OidcAuthenticator} — the `Authorization` header (Bearer/DPoP) when there is one,
 * otherwise the session cookie — then enforces `@Scopes()`, `@Roles()` and `@RequireClaims()`.
 *
 * - No or invalid credentials: 401 with `WWW-Authenticate` (RFC 6750 §3).
 * - A browser navigation (GET/HEAD, `Accept: text/html`, no `Authorization`, route not bearer-only)
 *   without a session: 302 to the login route with `returnTo`.
 * - Missing scope: 403 `insufficient_scope`; missing role or failed claim check: 403.
 *
 * Subclass it and override the protected hooks to change a decision.
 *
 * @see RFC 6750 §3 (challenges), RFC 9449 §7.1
 * @example
 * ```ts
 * @UseGuards(OidcGuard) @Controller('profile') export class ProfileController { … }
 * ```
 */
@Injectable()
export class OidcGuard implements CanActivate {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly authenticator: OidcAuthenticator,
    @Optional() protected readonly sockets?: OidcSocketAuth,
  ) {}

  /**
   * Route metadata by handler, then controller class (a handler inherited by two controllers can carry
   * different class-level metadata). Decorator metadata is fixed once the app runs, so it is read once.
   */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteMetadata>>();

  /**
   * Decides the request: `true`, or throws the refusal (401/403 with its challenge, or the login redirect). A request
   * decided without I/O (a cached bearer token) gets a boolean, any other a promise; a subclass awaits either.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // HTTP routes, GraphQL resolvers and WebSocket messages (API.md §7.4); other transports (RPC) are not this guard's.
    const request = transportRequestOf(context);
    if (!request) return true;
    const route = this.route(context.getHandler(), context.getClass());
    if (request.transport === 'ws') return this.canActivateSocket(request.req, route);
    const res = request.res ?? NO_RESPONSE;
    if (request.transport === 'http' && this.authenticate === BASE_AUTHENTICATE) {
      // A request the authenticator settles without I/O (a cached bearer token; no Authorization header where sessions
      // are not used) is decided here, with no promise in between. An `authenticate` hook of a subclass — or any
      // replacement of this class's own, such as a spy or instrumentation — is always called (below).
      let outcome: OidcRequestContext | undefined | Promise<OidcRequestContext | undefined>;
      try {
        outcome = this.authenticator.resolve(request.req, res, route.methods);
        if (!(outcome instanceof Promise)) return this.decide(request, res, route, outcome);
      } catch (err) {
        return this.refuse(err, request, res, route);
      }
      return this.settle(request, res, route, outcome);
    }
    return this.settle(request, res, route, undefined);
  }

  /** {@link canActivate} once authentication needs a promise: the session, a bearer token not cached yet, GraphQL. */
  private async settle(
    request: TransportRequest,
    res: PlatformResponse,
    route: RouteMetadata,
    pending: Promise<OidcRequestContext | undefined> | undefined,
  ): Promise<boolean> {
    const { req, transport } = request;
    try {
      const authenticated = await (pending ??
        (transport === 'graphql' ? this.authenticateOnce(req, res, route.methods) : this.authenticate(req, res, route.methods)));
      return this.decide(request, res, route, authenticated);
    } catch (err) {
      return this.refuse(err, request, res, route);
    }
  }

  /** Admits the request (`true`), or throws why not: no credential on a protected route, a step-up, a missing scope or role. */
  private decide(
    request: TransportRequest,
    res: PlatformResponse,
    route: RouteMetadata,
    authenticated: OidcRequestContext | undefined,
  ): true {
    const { req } = request;
    const graphql = request.transport === 'graphql';
    const { isPublic } = route;
    if (!authenticated) {
      if (isPublic) return true;
      if (!graphql && !route.noRedirect && this.isBrowserNavigation(req, route.methods)) throw this.redirectToLogin(req, res);
      throw new OidcError('ERR_OIDC_UNAUTHENTICATED', 'Authentication is required.');
    }
    setOidcContext(req, authenticated);
    if (!isPublic && route.stepUp) this.checkStepUp(req, res, authenticated, route, graphql);
    if (!isPublic) this.authorize(authenticated, route.targets);
    return true;
  }

  /**
   * A refused request: a public route goes on anonymously after an authentication failure; otherwise the refusal is
   * thrown as the HTTP (RFC 6750 §3 challenges) or GraphQL error.
   */
  private refuse(err: unknown, request: TransportRequest, res: PlatformResponse, route: RouteMetadata): true {
    if (err instanceof HttpException) throw err;
    if (!(err instanceof OidcError)) throw err;
    const { isPublic, methods, targets } = route;
    if (
      isPublic &&
      (err.code === 'ERR_OIDC_INVALID_TOKEN' || err.code === 'ERR_OIDC_INVALID_DPOP_PROOF' || err.code === 'ERR_OIDC_UNAUTHENTICATED')
    )
      return true;
    const scope = err.code === 'ERR_OIDC_INSUFFICIENT_SCOPE' ? this.requiredScopes(targets).join(' ') : undefined;
    const stepUp = err.code === 'ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION' ? route.stepUp : undefined;
    const failure = {
      realm: this.authenticator.realm,
      scope,
      stepUp,
      challenges: this.authenticator.challengesFor(request.req, err, methods, scope, stepUp),
    };
    if (request.transport === 'graphql') throw graphqlError(err, request.res, failure);
    throw protectedRouteException(err, res, failure);
  }

  /**
   * WebSocket messages (API.md §7.4): the socket's handshake authenticated once, its credential re-checked for each
   * message; a refusal is a `WsException('Unauthorized')` (or `'Forbidden'`) and an unauthenticated socket is disconnected.
   */
  private async canActivateSocket(client: object, route: RouteMetadata): Promise<boolean> {
    try {
      if (!this.sockets)
        throw new OidcError(
          'ERR_OIDC_UNAUTHENTICATED',
          "WebSocket authentication is not available: import OidcModule in the gateway's module.",
        );
      const context = await this.sockets.contextFor(client);
      if (!route.isPublic) {
        if (route.stepUp && this.authenticator.stepUpShortfall(context.user, route.stepUp) !== undefined) {
          throw new OidcError('ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION', 'A stronger or more recent authentication is required.');
        }
        this.authorize(context, route.targets);
      }
      return true;
    } catch (err) {
      if (!(err instanceof OidcError)) throw err;
      if (route.isPublic) return true;
      const { WsException } = (await import(WEBSOCKETS)) as { WsException: new (error: string) => Error };
      throw new WsException(OIDC_ERROR_STATUS[err.code] === 403 ? 'Forbidden' : 'Unauthorized');
    }
  }

  /**
   * GraphQL: a query with several guarded fields (or a batch) runs the guard once per field, often concurrently; the
   * HTTP request is authenticated once and every field shares the result.
   */
  private authenticateOnce(
    req: PlatformRequest,
    res: PlatformResponse,
    methods: readonly OidcCredentialSource[],
  ): Promise<OidcRequestContext | undefined> {
    let perRequest = graphqlAuthentications.get(req);
    if (!perRequest) graphqlAuthentications.set(req, (perRequest = new Map()));
    const key = methods.join(' ');
    let result = perRequest.get(key);
    if (!result) perRequest.set(key, (result = this.authenticate(req, res, methods)));
    return result;
  }

  /** Resolves the request's credentials to a user, or undefined when it carries none ({@link OidcAuthenticator}). */
  protected async authenticate(
    req: PlatformRequest,
    res: PlatformResponse,
    methods: readonly OidcCredentialSource[],
  ): Promise<OidcRequestContext | undefined> {
    return this.authenticator.resolve(req, res, methods);
  }

  /**
   * Enforces `@StepUp()` (RFC 9470): a session's browser navigation goes through the login again with the
   * `acr_values`/`max_age` to ask for; anything else gets 401 `insufficient_user_authentication`.
   */
  protected checkStepUp(
    req: PlatformRequest,
    res: PlatformResponse,
    context: OidcRequestContext,
    route: RouteMetadata,
    graphql = false,
  ): void {
    const requirement = route.stepUp!;
    const shortfall = this.authenticator.stepUpShortfall(context.user, requirement);
    if (shortfall === undefined) return;
    if (!graphql && context.user.authMethod === 'session' && !route.noRedirect && this.isBrowserNavigation(req, route.methods)) {
      throw loginRedirectException(res, this.authenticator.loginUrlFor(req, requirement));
    }
    throw new OidcError('ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION', shortfall);
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
    return this.authenticator.isBrowserNavigation(req, methods);
  }

  /** The 302 to the login route (with `returnTo`) to throw; its `Location` is set on `res`. */
  protected redirectToLogin(req: PlatformRequest, res: PlatformResponse): HttpException {
    return loginRedirectException(res, this.authenticator.loginUrlFor(req));
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
      methods: read<OidcCredentialSource[]>(AUTH_METHODS_KEY) ?? ALL_CREDENTIAL_SOURCES,
      noRedirect: read<boolean>(NO_LOGIN_REDIRECT_KEY) ?? false,
      scopes: read<string[]>(SCOPES_KEY) ?? [],
      roles: read<string[]>(ROLES_KEY),
      check: read<ClaimCheck>(CLAIM_CHECKS_KEY),
      stepUp: read<StepUpRequirement>(STEP_UP_KEY),
    });
  }
}

/** The guard's own `authenticate` hook as defined, for telling an overridden or replaced one apart. */
const BASE_AUTHENTICATE = OidcGuard.prototype['authenticate'];
