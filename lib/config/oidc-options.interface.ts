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
export type AfterCallbackHook = (ctx: AfterCallbackContext) => void | Record<string, unknown> | Promise<void | Record<string, unknown>>;

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
  /**
   * The app's public URL; `redirect_uri` = baseUrl + route prefix + `/callback`. Required, except for a pure
   * resource server (`routes: false` with `bearer`), where it is only needed for DPoP (the proofs' `htu`).
   */
  baseUrl?: string;
  /** @default 'openid profile email' */
  scope?: string;
  /**
   * Extra authorization request parameters (`audience`, `resource`, `prompt`, `acr_values`, `max_age`, …). An array
   * is sent as a repeated parameter: `resource: [api1, api2]` makes one login's refresh token good for both APIs
   * (RFC 8707 §2; then `OidcTokenService.getAccessToken(req, { resource })`).
   */
  authorizationParams?: Record<string, string | string[]>;
  /**
   * The algorithm ID tokens (and logout tokens) must be signed with (OIDC Core §3.1.3.7 step 7). By default the
   * OP's advertised asymmetric algorithm, RS256 first. `HS256`/`HS384`/`HS512` — ID tokens signed with the
   * client secret (OIDC Core §10.1; LemonLDAP::NG's default) — only with a `clientSecret`; they are verified
   * with that secret and never with a key from the OP's JWKS.
   * @default the OP's advertised asymmetric algorithm
   */
  idTokenSigningAlg?: string;
  /** Allowed clock skew in seconds for every time-based check. @default 60 */
  clockTolerance?: number;
  /** Fetch userinfo after login when the OP has the endpoint. @default true */
  fetchUserinfo?: boolean;
  /** Allow `http:` issuers on non-loopback hosts (development only). @default false */
  allowInsecureRequests?: boolean;
  /** Server-side sessions. */
  session?: OidcSessionOptions;
  /** Automatic token refresh. */
  refresh?: {
    /** Refresh a session's tokens when a request finds them due. @default true */
    auto?: boolean;
    /** Seconds before the access token's expiry at which it is due. @default 60 */
    leeway?: number;
  };
  /** Use Pushed Authorization Requests (RFC 9126) when the OP supports them. @default false */
  pushedAuthorizationRequests?: boolean;
  /** Enables Bearer/DPoP access-token authentication. */
  bearer?: OidcBearerOptions;
  /** Logout behaviour. */
  logout?: OidcLogoutOptions;
  /**
   * Where `@Roles()` reads roles: a claim name, a dotted path (`'realm_access.roles'`), an array of names for
   * names that contain dots (`['resource_access', 'my.client', 'roles']`), or a function. A string that is
   * exactly a top-level claim's name is that claim (`'https://example.com/roles'`, Auth0).
   */
  roles?: { claim: string | readonly string[] | ((claims: Record<string, unknown>) => string[]) };
  /** Register `OidcGuard` globally (`@Public()` opts out). @default false */
  globalGuard?: boolean;
  /** Hook after a successful callback, before the session is saved. */
  afterCallback?: AfterCallbackHook;
  /**
   * Sender-constrained tokens for the session (RFC 9449 §5): each session gets its own DPoP key pair (kept sealed with
   * the session, never anywhere else); the code grant, refreshes and `OidcTokenService.fetch()` send proofs and honour
   * the OP's `DPoP-Nonce`. `true` is ES256.
   * @default false
   */
  dpop?: boolean | { algorithm?: 'ES256' | 'EdDSA' };
  /**
   * `'fapi2'`: the FAPI 2.0 Security Profile — PAR, PKCE S256, `private_key_jwt`, DPoP and the RFC 9207 `iss` of the
   * authorization response, all required; ID tokens PS256, ES256 or EdDSA. An option that weakens any of them fails
   * the bootstrap naming the option.
   * @default unset
   */
  profile?: 'fapi2';
  /** Outbound HTTP to the OP. */
  http?: {
    /** Milliseconds an OP call may take before it fails with `ERR_OIDC_OP_TIMEOUT` (504). @default 5000 */
    timeout?: number;
  };
}

/** Server-side sessions (the `session` option). */
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
  /** The session cookie's attributes (it is always `HttpOnly`). */
  cookie?: {
    /** @default true when `baseUrl` is https:, else false */
    secure?: boolean;
    /** @default 'lax' */
    sameSite?: 'lax' | 'strict' | 'none';
    /** Leave unset (host-only cookie) unless subdomains must share the session. @default unset */
    domain?: string;
    /** @default '/' */
    path?: string;
  };
}

/**
 * Returns the issuers trusted for one request (multi-tenant APIs): the access token's `iss` must be one of
 * them, compared exactly, before any discovery or key fetch happens. Receives the platform request
 * (Express or Fastify). Return only issuers you control or have vetted: each one returned may be
 * contacted (`<issuer>/.well-known/openid-configuration`, its `jwks_uri`) — never build an issuer from
 * request input without checking it against your own list of tenants.
 *
 * @example
 * ```ts
 * const tenants: Record<string, string> = { acme: 'https://acme.eu.auth0.com/', globex: 'https://login.globex.example' };
 * const issuers: OidcIssuerResolver = (req) => {
 *   const tenant = (req as { headers: Record<string, string | undefined> }).headers['x-tenant'];
 *   return tenant && Object.hasOwn(tenants, tenant) ? [tenants[tenant]!] : [];
 * };
 * ```
 */
export type OidcIssuerResolver = (req: unknown) => readonly string[] | Promise<readonly string[]>;

/** Options of Bearer/DPoP access-token authentication (the `bearer` option). */
export interface OidcBearerOptions {
  /** This API's identifier(s): a token's `aud` must contain one of them (RFC 9068 §4, RFC 7662 §2.2 `aud`). */
  audience: string | string[];
  /**
   * Issuers whose access tokens are accepted, compared exactly with the token's `iss`: a static list, or
   * an {@link OidcIssuerResolver} that picks the list for each request (tenants). Keys are only ever
   * fetched for an issuer on the list of the request at hand.
   * @default [issuer]
   */
  issuers?: string[] | OidcIssuerResolver;
  /**
   * Token `iss` values that are not URLs, mapped to the trusted issuer URL whose keys verify them — Google
   * signs some tokens with `iss: "accounts.google.com"` (no scheme). The value must be one of `bearer.issuers`
   * (or, by default, the configured issuer); `OidcUser.issuer` is then that URL.
   * @example { 'accounts.google.com': 'https://accounts.google.com' }
   * @default {}
   */
  issuerAliases?: Record<string, string>;
  /**
   * The clients whose tokens this API accepts: the token's `azp`, else its `client_id`, must be one of them
   * (OIDC Core §2, RFC 9068 §2.2). Needed where `aud` is shared by every client of a realm — Keycloak's
   * default `aud: "account"` — or an API would accept tokens issued to any other client.
   * @default no check
   */
  authorizedParties?: string[];
  /** Accepted signature algorithms; asymmetric ones only (RFC 8725 §3.1). @default every asymmetric algorithm */
  algorithms?: string[];
  /** Require `typ: at+jwt` (RFC 9068 §4). @default false */
  requireJwtAccessTokenType?: boolean;
  /**
   * Accept opaque access tokens (anything that is not a compact JWS) by asking the configured issuer's
   * introspection endpoint (RFC 7662) with the client's credentials. Needs a client secret or key.
   * Results are cached (see `cache.introspectionTtl`); a token the OP reports inactive is refused for 30 s
   * without asking again; while the endpoint cannot be reached, opaque tokens get 503.
   * @default false
   */
  introspection?: boolean;
  /**
   * Where `OidcUser.identity` comes from, per issuer: a claim name or dotted path, e.g.
   * `{ 'https://accounts.google.com': 'email', 'https://token.actions.githubusercontent.com': 'sub' }`.
   * `identity` is that claim's value when it is a non-empty string. When the token also carries Dex's
   * `federated_claims.connector_id`, the connector is prefixed — `identity` = `"<connector_id>:<value>"`
   * (e.g. `"github:alice@example.com"`) — so the same value asserted by two upstream identity providers
   * never names one identity; a connector id that is not a plain token (`[A-Za-z0-9._~-]+`) yields no
   * identity. Tokens of issuers not listed here have no `identity`.
   * @default {}
   */
  identityClaims?: Record<string, string | readonly string[]>;
  /** @default 'allowed' */
  dpop?: 'disabled' | 'allowed' | 'required';
  cache?: {
    /** Most verified (and, with introspection, introspected) tokens kept; 0 disables the caches. @default 10000 */
    maxEntries?: number;
    /**
     * Seconds an introspection result is reused, never past the token's `exp`: the longest a token
     * revoked at the OP keeps working here. 0 asks the OP on every request.
     * @default 60
     */
    introspectionTtl?: number;
  };
}

/** Logout behaviour (the `logout` option): RP-initiated, back-channel and front-channel logout. */
export interface OidcLogoutOptions {
  /**
   * Where the OP sends the browser after RP-initiated logout (`post_logout_redirect_uri`, OIDC RP-Initiated
   * Logout 1.0 §2); register it at the OP exactly. The default, the module's landing route, checks the logout's
   * `state`, then redirects to the `returnTo` given at `/auth/logout` with `Clear-Site-Data: "cache"`.
   * @default '<baseUrl><prefix>/logout/callback' (`baseUrl` when `routes: false`)
   */
  postLogoutRedirectUri?: string;
  /**
   * End the session at the OP too: `/auth/logout` redirects to the OP's `end_session_endpoint` with the
   * `id_token_hint` (RP-Initiated Logout §2). Off, or without that endpoint, only the local session ends.
   * @default true
   */
  idpLogout?: boolean;
  /**
   * Revoke the session's refresh and access tokens at logout (RFC 7009), when the OP has a
   * `revocation_endpoint`. Best effort: a failure is logged and never blocks the logout.
   * @default true
   */
  revokeTokens?: boolean;
  /**
   * Mount `POST /auth/backchannel-logout` (OIDC Back-Channel Logout 1.0): the OP ends sessions by `sid` or `sub`
   * with a signed logout token. Off: the route answers 404.
   * @default true
   */
  backchannel?: boolean;
  /**
   * Mount `GET /auth/frontchannel-logout?iss=…&sid=…` (OIDC Front-Channel Logout 1.0), loaded by the OP in an
   * iframe. Off: the route answers 404.
   * @default false
   */
  frontchannel?: boolean;
}

/** The synchronous extras of `forRoot`/`forRootAsync`. */
export interface OidcModuleExtras {
  /** @default true */
  isGlobal?: boolean;
  /** Prefix of the built-in routes, or `false` to mount none. @default { prefix: 'auth' } */
  routes?: { prefix?: string } | false;
}
