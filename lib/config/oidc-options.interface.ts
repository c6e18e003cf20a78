import type { JWK } from 'jose';
import type { OidcSessionStore } from '../session/session-store.interface.js';

/** How the client authenticates at the token endpoint (RFC 6749 §2.3, OIDC Core §9). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** What the `afterCallback` hook receives. */
export interface AfterCallbackContext {
  /** The validated ID token claims. */
  idToken: Readonly<Record<string, unknown>>;
  /** The validated userinfo claims, when fetched. */
  userinfo?: Readonly<Record<string, unknown>>;
  /** Granted scopes. */
  scopes: readonly string[];
  /** The platform request (Express or Fastify). */
  req: unknown;
}

/**
 * The `afterCallback` hook: runs after a successful callback, before the session is saved.
 * Return extra claims to merge into `OidcUser.claims`, or throw to refuse the login (401; an
 * `HttpException` keeps its own status).
 */
export type AfterCallbackHook = (
  ctx: AfterCallbackContext,
) => void | Record<string, unknown> | Promise<void | Record<string, unknown>>;

/** Options of {@link OidcModule}. Validated once at bootstrap; an invalid value fails the app's start. */
export interface OidcModuleOptions {
  /** Issuer URL; metadata from `<issuer>/.well-known/openid-configuration`. `http:` only for loopback hosts unless `allowInsecureRequests`. */
  issuer: string;
  /** Client identifier registered at the OP. */
  clientId: string;
  /** Client secret, for confidential clients. */
  clientSecret?: string;
  /** @default 'client_secret_basic' with a secret, 'none' without */
  clientAuthMethod?: ClientAuthMethod;
  /** Private JWK for `private_key_jwt`. */
  clientPrivateKey?: JWK;
  /** The app's public URL; `redirect_uri` = baseUrl + route prefix + `/callback`. */
  baseUrl: string;
  /** @default 'openid profile email' */
  scope?: string;
  /** Extra authorization request parameters (`audience`, `resource`, `prompt`, `acr_values`, `max_age`, …). */
  authorizationParams?: Record<string, string>;
  /** Allowed clock skew in seconds for every time-based check. @default 60 */
  clockTolerance?: number;
  /** Fetch userinfo after login when the OP has the endpoint. @default true */
  fetchUserinfo?: boolean;
  /** Allow `http:` issuers on non-loopback hosts (development only). @default false */
  allowInsecureRequests?: boolean;
  /** Server-side sessions. */
  session?: OidcSessionOptions;
  /** Automatic token refresh. */
  refresh?: { auto?: boolean; leeway?: number };
  /** Use Pushed Authorization Requests (RFC 9126) when the OP supports them. @default false */
  pushedAuthorizationRequests?: boolean;
  /** Enables Bearer/DPoP access-token authentication. */
  bearer?: OidcBearerOptions;
  /** Logout behaviour. */
  logout?: OidcLogoutOptions;
  /** Where `@Roles()` reads roles: a dotted claim path (`'realm_access.roles'`) or a function. */
  roles?: { claim: string | ((claims: Record<string, unknown>) => string[]) };
  /** Register `OidcGuard` globally (`@Public()` opts out). @default false */
  globalGuard?: boolean;
  /** Hook after a successful callback, before the session is saved. */
  afterCallback?: AfterCallbackHook;
  /** Outbound HTTP to the OP. */
  http?: { timeout?: number };
}

export interface OidcSessionOptions {
  /** At least 32 characters. An array rotates keys: the first signs and seals, all verify and open. */
  secret: string | string[];
  /** @default 'oidc.session' */
  cookieName?: string;
  /** @default a bounded {@link MemorySessionStore} */
  store?: OidcSessionStore;
  /** Idle timeout in seconds. @default 86400 (1 day) */
  rollingDuration?: number;
  /** Absolute lifetime in seconds. @default 604800 (7 days) */
  absoluteDuration?: number;
  cookie?: { secure?: boolean; sameSite?: 'lax' | 'strict' | 'none'; domain?: string; path?: string };
}

export interface OidcBearerOptions {
  audience: string | string[];
  issuers?: string[];
  algorithms?: string[];
  requireJwtAccessTokenType?: boolean;
  introspection?: boolean;
  dpop?: 'disabled' | 'allowed' | 'required';
  cache?: { maxEntries?: number };
}

export interface OidcLogoutOptions {
  postLogoutRedirectUri?: string;
  idpLogout?: boolean;
  revokeTokens?: boolean;
  backchannel?: boolean;
  frontchannel?: boolean;
}

/** The synchronous extras of `forRoot`/`forRootAsync`. */
export interface OidcModuleExtras {
  /** @default true */
  isGlobal?: boolean;
  /** Prefix of the built-in routes, or `false` to mount none. @default { prefix: 'auth' } */
  routes?: { prefix?: string } | false;
}
