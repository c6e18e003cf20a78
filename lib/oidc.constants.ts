/** Injection token of the resolved, frozen options ({@link ResolvedOidcOptions}). */
export const OIDC_OPTIONS = Symbol('nestjs-oidc:resolved-options');
/** Injection token of the synchronous extras (`isGlobal`, `routes`). */
export const OIDC_EXTRAS = Symbol('nestjs-oidc:extras');
/** Injection token of the clock (`{ now(): number }`, epoch ms); override it in tests to move time. */
export const OIDC_CLOCK = Symbol('nestjs-oidc:clock');

/** Metadata keys read with Reflector.getAllAndOverride (a method's decorator beats its class's). */
export const IS_PUBLIC_KEY = 'nestjs-oidc:public';
export const AUTH_METHODS_KEY = 'nestjs-oidc:auth-methods';
export const SCOPES_KEY = 'nestjs-oidc:scopes';
export const ROLES_KEY = 'nestjs-oidc:roles';
export const CLAIM_CHECKS_KEY = 'nestjs-oidc:claim-checks';
export const STEP_UP_KEY = 'nestjs-oidc:step-up';
/** Internal: a JSON route that answers 401 rather than redirecting browsers to the login. */
export const NO_LOGIN_REDIRECT_KEY = 'nestjs-oidc:no-login-redirect';

/** The clock the module reads time from. */
export interface OidcClock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: OidcClock = Object.freeze({ now: () => Date.now() });

/** Injection token of the session store in use (`session.store`, else the module's `MemorySessionStore`). */
export const OIDC_SESSION_STORE = Symbol('nestjs-oidc:session-store');

/** Injection token of the {@link ReplayCache} for logout-token and DPoP-proof `jti`s. */
export const OIDC_REPLAY_CACHE = Symbol('nestjs-oidc:replay-cache');
