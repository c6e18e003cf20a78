import type { JWK } from 'jose';
import { OidcError } from '../errors/oidc.error.js';
import { randomBytes } from 'node:crypto';
import { isLoopback } from '../http/loopback.js';
import type { ClaimPath } from '../user/oidc-user.js';
import type { OidcSessionStore } from '../session/session-store.interface.js';
import type {
  AfterCallbackHook,
  ClientAuthMethod,
  OidcIssuerResolver,
  OidcModuleExtras,
  OidcModuleOptions,
} from './oidc-options.interface.js';

/** Options with every default filled in, validated, frozen. The only form the rest of the module reads. */
export interface ResolvedOidcOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly clientAuthMethod: ClientAuthMethod;
  readonly clientPrivateKey?: JWK;
  readonly baseUrl: URL;
  readonly routePrefix: string | false;
  /** `<baseUrl><prefix>/callback`: the redirect URI registered at the OP. */
  readonly redirectUri: string;
  /** `<baseUrl><prefix>/login`: where a browser without a session is sent. */
  readonly loginUri: string;
  /** `<base path><prefix>`: the path the module's routes live under (its short-lived cookies are scoped to it). */
  readonly routesPath: string;
  readonly scope: string;
  /** Extra authorization request parameters; an array is sent as a repeated parameter (RFC 8707 §2 `resource`). */
  readonly authorizationParams: Readonly<Record<string, string | readonly string[]>>;
  readonly clockTolerance: number;
  /** The pinned ID token algorithm, when configured (else the OP's advertised asymmetric one). */
  readonly idTokenSigningAlg?: string;
  readonly fetchUserinfo: boolean;
  readonly allowInsecureRequests: boolean;
  readonly session: {
    /** false for a pure resource server (`routes: false` + `bearer`, no `session` option): no session is ever read. */
    readonly enabled?: boolean;
    readonly secrets: readonly string[];
    readonly cookieName: string;
    /** The application's own store; the module provides a `MemorySessionStore` when unset. */
    readonly store?: OidcSessionStore;
    readonly rollingDuration: number;
    readonly absoluteDuration: number;
    readonly cookie: {
      readonly secure: boolean;
      readonly sameSite: 'lax' | 'strict' | 'none';
      readonly domain?: string;
      readonly path: string;
    };
  };
  readonly refresh: { readonly auto: boolean; readonly leeway: number };
  readonly pushedAuthorizationRequests: boolean;
  readonly bearer?: {
    readonly audience: readonly string[];
    /** A static allow-list, or a resolver called per request (see {@link OidcIssuerResolver}). */
    readonly issuers: readonly string[] | OidcIssuerResolver;
    /**
     * `bearer.issuers` was not given: the issuer trusted is the string the OP publishes in discovery
     * (`issuers` holds the configured one until then).
     */
    readonly issuersFromDiscovery?: boolean;
    /** token `iss` (not a URL) → the trusted issuer URL whose keys verify it */
    readonly issuerAliases?: ReadonlyMap<string, string>;
    /** when set, `azp` (else `client_id`) must be one of these */
    readonly authorizedParties?: readonly string[];
    readonly algorithms: readonly string[];
    readonly requireJwtAccessTokenType: boolean;
    readonly introspection: boolean;
    /** issuer → claim name or dotted path of `OidcUser.identity` */
    readonly identityClaims: ReadonlyMap<string, ClaimPath>;
    readonly dpop: 'disabled' | 'allowed' | 'required';
    readonly cache: { readonly maxEntries: number; readonly introspectionTtl: number };
  };
  readonly logout: {
    readonly postLogoutRedirectUri: string;
    /** `postLogoutRedirectUri` is the module's own landing route (the default). */
    readonly toLanding?: boolean;
    readonly idpLogout: boolean;
    readonly revokeTokens: boolean;
    readonly backchannel: boolean;
    readonly frontchannel: boolean;
  };
  readonly roles?: { readonly claim: ClaimPath | ((claims: Record<string, unknown>) => string[]) };
  readonly globalGuard: boolean;
  /** `'fapi2'`: the FAPI 2.0 Security Profile is enforced (PAR, PKCE, private_key_jwt, DPoP, RFC 9207 `iss`). */
  readonly profile?: 'fapi2';
  /** Sender-constrained session tokens (RFC 9449 §5): the algorithm of each session's DPoP key, when on. */
  readonly dpop?: { readonly algorithm: 'ES256' | 'EdDSA' };
  readonly afterCallback?: AfterCallbackHook;
  readonly http: { readonly timeout: number };
  /** Transaction (login in progress) lifetime in seconds: RFC 9700 §2.1.1, kept short. */
  readonly transactionTtl: number;
}

/** OIDC Core §10.1: MAC algorithms keyed with the client secret, for ID tokens only and only when configured. */
export const CLIENT_SECRET_ALGORITHMS = Object.freeze(['HS256', 'HS384', 'HS512'] as const);

/** RFC 8725 §3.1: only asymmetric algorithms are ever accepted for tokens signed by the OP. */
export const ASYMMETRIC_ALGORITHMS = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const);

function fail(path: string, problem: string, fix: string): never {
  throw new OidcError('ERR_OIDC_INVALID_OPTIONS', `OidcModule option \`${path}\` ${problem}. ${fix}`);
}

/**
 * Every option name, per object. A name the module does not know is refused at bootstrap rather than
 * ignored: a misspelt option must not silently leave a default in place, and no option turns a check
 * off (SECURITY-CASES BR-18: other libraries' "validation off" switches such as `tokenValidation: 'NONE'`
 * or `verify: false` are errors here, not no-ops; RFC 8725 §3.1).
 */
const KNOWN_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  '': [
    'issuer',
    'clientId',
    'clientSecret',
    'clientAuthMethod',
    'clientPrivateKey',
    'baseUrl',
    'scope',
    'authorizationParams',
    'clockTolerance',
    'idTokenSigningAlg',
    'fetchUserinfo',
    'allowInsecureRequests',
    'session',
    'refresh',
    'pushedAuthorizationRequests',
    'bearer',
    'logout',
    'roles',
    'globalGuard',
    'afterCallback',
    'http',
    'dpop',
    'profile',
    // the module's synchronous extras, should they reach the options object
    'isGlobal',
    'routes',
  ],
  session: ['secret', 'cookieName', 'store', 'rollingDuration', 'absoluteDuration', 'cookie'],
  'session.cookie': ['secure', 'sameSite', 'domain', 'path'],
  refresh: ['auto', 'leeway'],
  bearer: [
    'audience',
    'issuers',
    'issuerAliases',
    'authorizedParties',
    'algorithms',
    'requireJwtAccessTokenType',
    'introspection',
    'identityClaims',
    'dpop',
    'cache',
  ],
  'bearer.cache': ['maxEntries', 'introspectionTtl'],
  logout: ['postLogoutRedirectUri', 'idpLogout', 'revokeTokens', 'backchannel', 'frontchannel'],
  roles: ['claim'],
  http: ['timeout'],
  dpop: ['algorithm'],
};

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known option a misspelt one most likely meant: same letters in another case, or at most 2 edits away. */
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 3));
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d <= bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function refuseUnknownOptions(raw: object, extras: OidcModuleExtras | undefined): void {
  // `routes` and `isGlobal` decide which controllers and providers exist before any factory runs: returned
  // from useFactory they would be silently ignored.
  if ((extras as { fromFactory?: boolean } | undefined)?.fromFactory) {
    for (const extra of ['routes', 'isGlobal'] as const) {
      if (Object.hasOwn(raw, extra)) {
        fail(
          extra,
          'is returned from useFactory, where it has no effect',
          `Pass it next to useFactory: OidcModule.forRootAsync({ useFactory, ${extra}: … }) — it is a synchronous extra.`,
        );
      }
    }
  }
  for (const [path, known] of Object.entries(KNOWN_OPTIONS)) {
    const value =
      path === '' ? raw : path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], raw);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const where = path ? `${path}.${key}` : key;
      const close = closest(key, known);
      fail(
        where,
        'is not an option of OidcModule',
        close ? `Did you mean \`${path ? `${path}.` : ''}${close}\`?` : `Remove it; the options are: ${known.join(', ')}.`,
      );
    }
  }
}

function requireString(value: unknown, path: string, fix: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(path, 'is missing or empty', fix);
  return value;
}

function optionalBoolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(path, `must be a boolean, got ${typeof value}`, 'Use true or false.');
  return value;
}

function optionalSeconds(value: unknown, path: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(path, `must be a finite number ≥ ${min}`, `Give a number of seconds, e.g. ${fallback}.`);
  }
  return value;
}

function parseUrl(value: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(path, `is not an absolute URL ("${value}")`, 'Use a full URL such as "https://example.com".');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(path, 'must use https:', 'Use an https:// URL.');
  if (url.hash || url.search) fail(path, 'must not carry a query or fragment', 'Remove everything after the path.');
  return url;
}

function toList(value: unknown, path: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v === '')) {
    fail(path, 'must be a non-empty string or array of non-empty strings', 'Set it to e.g. "https://api.example.com".');
  }
  return list as string[];
}

/**
 * `bearer.issuers`: the configured issuer by default, a resolver function, or a list of issuer URLs
 * (RFC 8414 §2 / OIDC Discovery §3: https, no query or fragment; http only on loopback unless
 * `allowInsecureRequests`).
 */
function bearerIssuers(value: unknown, issuer: string, allowInsecureRequests: boolean): readonly string[] | OidcIssuerResolver {
  if (value === undefined) return Object.freeze([issuer]);
  if (typeof value === 'function') return value as OidcIssuerResolver;
  const fix = 'Use an array of issuer URLs, e.g. ["https://login.example.com"], or a function (req) => string[] choosing them per request.';
  if (!Array.isArray(value) || value.length === 0) fail('bearer.issuers', 'must be a non-empty array of issuer URLs or a function', fix);
  value.forEach((entry: unknown, i) => {
    const path = `bearer.issuers[${i}]`;
    const url = parseUrl(requireString(entry, path, fix), path);
    if (url.protocol === 'http:' && !isLoopback(url) && !allowInsecureRequests) {
      fail(path, `uses http: on a non-loopback host (${url.host})`, 'Use the https:// issuer URL.');
    }
  });
  return Object.freeze([...(value as string[])]);
}

/** `bearer.identityClaims`: issuer → claim name or dotted path, held in a Map (no prototype lookups). */
/** A claim name, dotted path, or array of names (for names with dots); frozen. */
function claimPathOf(value: unknown, path: string, example: string): ClaimPath {
  // A string has no empty segment and no white space (a typo such as `a..b`); any name goes in the array form.
  if (typeof value === 'string' && /^[^.\s]+(\.[^.\s]+)*$/.test(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.length <= 16 && value.every((k) => typeof k === 'string' && k !== '')) {
    return Object.freeze([...(value as string[])]);
  }
  return fail(path, 'must be a claim name, a dotted claim path, or an array of claim names', `Use e.g. ${example}.`);
}

function identityClaimsOf(value: unknown, issuers: readonly string[] | OidcIssuerResolver): ReadonlyMap<string, ClaimPath> {
  const map = new Map<string, ClaimPath>();
  if (value === undefined) return map;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(
      'bearer.identityClaims',
      'must be an object mapping an issuer to a claim name',
      'Use e.g. { "https://accounts.google.com": "email" }.',
    );
  }
  for (const [iss, claim] of Object.entries(value)) {
    const path = `bearer.identityClaims[${JSON.stringify(iss)}]`;
    const claimPath = claimPathOf(claim, path, '"email", "federated_claims.user_id" or ["federated_claims", "user_id"]');
    // Issuers compare exactly (RFC 9068 §4): a key that matches no trusted issuer is a typo that would never apply.
    if (Array.isArray(issuers) && !issuers.includes(iss)) {
      fail(
        path,
        'names an issuer that is not in `bearer.issuers`',
        'Use the exact issuer string of bearer.issuers (trailing slash included).',
      );
    }
    map.set(iss, claimPath);
  }
  return map;
}

/**
 * `bearer.issuerAliases`: non-URL `iss` values (Google's `accounts.google.com`) → a trusted issuer URL. RFC 9068
 * §4 compares `iss` exactly; an alias is that exact comparison with a second spelling the operator vouches for.
 */
function issuerAliasesOf(value: unknown, issuers: readonly string[] | OidcIssuerResolver, issuer: string): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  if (value === undefined) return map;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(
      'bearer.issuerAliases',
      'must be an object mapping a token iss to a trusted issuer URL',
      'Use e.g. { "accounts.google.com": "https://accounts.google.com" }.',
    );
  }
  const trusted = Array.isArray(issuers) ? issuers : undefined;
  for (const [alias, target] of Object.entries(value)) {
    const path = `bearer.issuerAliases[${JSON.stringify(alias)}]`;
    if (alias === '' || typeof target !== 'string')
      fail(
        path,
        'must map a non-empty iss value to an issuer URL string',
        'Use e.g. { "accounts.google.com": "https://accounts.google.com" }.',
      );
    if (trusted ? !trusted.includes(target) : target !== issuer && typeof issuers !== 'function') {
      fail(
        path,
        `points at "${target}", which is not in \`bearer.issuers\``,
        'Add the issuer URL to bearer.issuers, or point the alias at one of them.',
      );
    }
    if (trusted?.includes(alias) || alias === issuer)
      fail(path, 'is itself a trusted issuer', 'Remove the alias: that iss is trusted as it is.');
    map.set(alias, target);
  }
  return map;
}

/** FAPI 2.0 Security Profile §5.3.2.2 / §5.4: the ID token algorithms a FAPI 2.0 client accepts. */
export const FAPI2_ALGORITHMS = Object.freeze(['PS256', 'ES256', 'EdDSA', 'Ed25519'] as const);

/**
 * FAPI 2.0 Security Profile (API.md §7.3): every option that would weaken it fails the bootstrap, naming the option.
 * §5.3.3.4 PAR and §5.3.2.2 PKCE S256 (always on here), §5.3.3.3 private_key_jwt or mTLS (mTLS is not offered),
 * §5.3.3.2 sender-constrained tokens (DPoP), §5.3.2.2 RFC 9207 `iss` (checked at the callback), TLS only.
 */
function checkFapi2(raw: OidcModuleOptions, clientAuthMethod: ClientAuthMethod): void {
  const why = 'the FAPI 2.0 Security Profile (profile: "fapi2") requires';
  if (clientAuthMethod !== 'private_key_jwt') {
    fail(
      'clientAuthMethod',
      `is "${clientAuthMethod}", but ${why} private_key_jwt (§5.3.3.3)`,
      'Set clientAuthMethod: "private_key_jwt" and clientPrivateKey.',
    );
  }
  if (raw.clientSecret !== undefined)
    fail('clientSecret', `is set, but ${why} private_key_jwt, not a shared secret`, 'Remove clientSecret.');
  if (raw.pushedAuthorizationRequests === false)
    fail('pushedAuthorizationRequests', `is false, but ${why} PAR (§5.3.3.4)`, 'Remove it (PAR is on).');
  if (raw.dpop === false) fail('dpop', `is false, but ${why} sender-constrained tokens (§5.3.3.2)`, 'Remove it (DPoP is on).');
  if (raw.allowInsecureRequests === true)
    fail('allowInsecureRequests', `is true, but ${why} TLS`, 'Remove it (loopback http stays allowed for development).');
  const alg = raw.idTokenSigningAlg;
  if (alg !== undefined && !(FAPI2_ALGORITHMS as readonly string[]).includes(alg)) {
    fail('idTokenSigningAlg', `is "${alg}", but ${why} PS256, ES256 or EdDSA (§5.4)`, 'Use one of PS256, ES256, EdDSA.');
  }
  if (raw.authorizationParams?.response_mode !== undefined) {
    fail('authorizationParams.response_mode', `is set, but ${why} the plain query response of the code flow`, 'Remove it.');
  }
}

/** The top-level `dpop` option (API.md §7.3): off, on with ES256, or on with the algorithm named. */
function clientDpopOf(value: unknown): ResolvedOidcOptions['dpop'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return Object.freeze({ algorithm: 'ES256' });
  if (typeof value !== 'object' || value === null)
    fail('dpop', 'must be true, false or { algorithm }', 'Use dpop: true, or dpop: { algorithm: "EdDSA" }.');
  const algorithm = (value as { algorithm?: unknown }).algorithm ?? 'ES256';
  if (algorithm !== 'ES256' && algorithm !== 'EdDSA')
    fail('dpop.algorithm', `is not supported ("${String(algorithm)}")`, 'Use "ES256" or "EdDSA".');
  return Object.freeze({ algorithm });
}

/** The synchronous extras with their defaults: what decides the module's providers and controllers. */
export interface ResolvedOidcExtras {
  readonly isGlobal: boolean;
  /** The routes' prefix without slashes (`''` for the root), or false for `routes: false`. */
  readonly routePrefix: string | false;
}

/** Resolves the extras (`isGlobal`, `routes`) — the one place their defaults live. */
export function resolveOidcExtras(extras: OidcModuleExtras | undefined): ResolvedOidcExtras {
  return Object.freeze({ isGlobal: extras?.isGlobal ?? true, routePrefix: normalizePrefix(extras) });
}

function normalizePrefix(extras: OidcModuleExtras | undefined): string | false {
  const routes = extras?.routes;
  if (routes === false) return false;
  const raw = routes?.prefix ?? 'auth';
  if (typeof raw !== 'string') fail('routes.prefix', 'must be a string', 'Use e.g. "auth".');
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9._~\-/]*$/.test(trimmed))
    fail('routes.prefix', `contains characters not allowed in a path ("${raw}")`, 'Use letters, digits, "-", "_" and "/".');
  return trimmed;
}

/**
 * Validates raw options once and fills in defaults. Both `forRoot` and `forRootAsync` go through here,
 * so an invalid option fails the application's bootstrap with the option's path and a fix.
 */
export function resolveOidcOptions(raw: OidcModuleOptions, extras?: OidcModuleExtras): ResolvedOidcOptions {
  if (typeof raw !== 'object' || raw === null) {
    fail('(root)', 'must be an object', 'Pass the options object to OidcModule.forRoot() or return it from useFactory.');
  }
  refuseUnknownOptions(raw, extras);
  const allowInsecureRequests = optionalBoolean(raw.allowInsecureRequests, 'allowInsecureRequests', false);

  const issuerUrl = parseUrl(
    requireString(raw.issuer, 'issuer', 'Set it to your OpenID Provider URL, e.g. "https://login.example.com/realms/main".'),
    'issuer',
  );
  // RFC 9700 §2.6 / OIDC Discovery §4.3: metadata and tokens must come over TLS, except on loopback.
  if (issuerUrl.protocol === 'http:' && !isLoopback(issuerUrl) && !allowInsecureRequests) {
    fail(
      'issuer',
      `uses http: on a non-loopback host (${issuerUrl.host})`,
      'Use https:, or set `allowInsecureRequests: true` for development only.',
    );
  }
  const issuer = raw.issuer;

  const clientId = requireString(raw.clientId, 'clientId', 'Set it to the client_id registered at the OP.');
  if (raw.clientSecret !== undefined && (typeof raw.clientSecret !== 'string' || raw.clientSecret === '')) {
    fail('clientSecret', 'must be a non-empty string when given', 'Remove it for a public client, or set the secret.');
  }
  const profile = raw.profile;
  if (profile !== undefined && profile !== 'fapi2')
    fail('profile', `is not a known profile ("${String(profile)}")`, 'Use "fapi2" or leave it unset.');
  const fapi2 = profile === 'fapi2';
  const clientAuthMethod: ClientAuthMethod =
    raw.clientAuthMethod ?? (fapi2 ? 'private_key_jwt' : raw.clientSecret ? 'client_secret_basic' : 'none');
  if (fapi2) checkFapi2(raw, clientAuthMethod);
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'].includes(clientAuthMethod)) {
    fail(
      'clientAuthMethod',
      `is not supported ("${String(clientAuthMethod)}")`,
      'Use client_secret_basic, client_secret_post, private_key_jwt or none.',
    );
  }
  if (clientAuthMethod.startsWith('client_secret') && !raw.clientSecret) {
    fail('clientSecret', `is required with clientAuthMethod "${clientAuthMethod}"`, 'Set the client secret.');
  }
  if (clientAuthMethod === 'private_key_jwt' && (typeof raw.clientPrivateKey !== 'object' || raw.clientPrivateKey === null)) {
    fail('clientPrivateKey', 'is required with clientAuthMethod "private_key_jwt"', "Set it to the client's private JWK.");
  }

  // A pure resource server (`routes: false` + `bearer`) signs nobody in: it needs neither `baseUrl` nor `session`.
  const routesOff = extras?.routes === false;
  const resourceServerOnly = routesOff && raw.bearer !== undefined;
  const baseUrlGiven = raw.baseUrl !== undefined || !resourceServerOnly;
  const baseUrl = baseUrlGiven
    ? parseUrl(requireString(raw.baseUrl, 'baseUrl', 'Set it to the public URL of this app, e.g. "https://app.example.com".'), 'baseUrl')
    : new URL('http://localhost');
  if (baseUrl.protocol === 'http:' && !isLoopback(baseUrl) && !allowInsecureRequests) {
    fail(
      'baseUrl',
      `uses http: on a non-loopback host (${baseUrl.host})`,
      'Serve the app over https:, or set `allowInsecureRequests: true` for development only.',
    );
  }
  const basePath = baseUrl.pathname.replace(/\/+$/, '');
  const routePrefix = normalizePrefix(extras);
  const routesPath = `${basePath}${routePrefix ? `/${routePrefix}` : ''}`;
  const redirectUri = `${baseUrl.origin}${routesPath}/callback`;
  const loginUri = `${baseUrl.origin}${routesPath}/login`;

  const scope = raw.scope ?? 'openid profile email';
  if (typeof scope !== 'string' || !scope.split(' ').includes('openid')) {
    fail('scope', 'must be a space-separated string that includes "openid"', 'Use e.g. "openid profile email".');
  }
  const authorizationParams: Record<string, string | readonly string[]> = { ...(raw.authorizationParams ?? {}) };
  for (const [k, v] of Object.entries(authorizationParams)) {
    if (Array.isArray(v)) {
      // API.md §7.2: repeated parameters, e.g. `resource: [api1, api2]` (RFC 8707 §2).
      if (v.length === 0 || v.length > 20 || !v.every((item) => typeof item === 'string')) {
        fail(
          `authorizationParams.${k}`,
          'must be a string or a non-empty array of at most 20 strings',
          'Use e.g. ["https://api1", "https://api2"].',
        );
      }
      authorizationParams[k] = Object.freeze([...v]);
    } else if (typeof v !== 'string') {
      fail(`authorizationParams.${k}`, 'must be a string or an array of strings', 'Pass every parameter as a string.');
    }
  }
  // The module owns these: letting options override them would turn off PKCE, state or nonce.
  for (const reserved of [
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'redirect_uri',
    'response_type',
    'client_id',
    'scope',
  ]) {
    if (reserved in authorizationParams) {
      fail(
        `authorizationParams.${reserved}`,
        'is set by the module and cannot be overridden',
        reserved === 'scope' ? 'Use the `scope` option.' : 'Remove it.',
      );
    }
  }

  const sessionless = resourceServerOnly && raw.session === undefined;
  // Sessionless: a throwaway key that seals nothing any request can present; the guard never reads sessions.
  const session = sessionless ? { secret: randomBytes(32).toString('base64url') } : raw.session;
  if (!session || typeof session !== 'object') {
    fail('session', 'is missing', 'Set `session: { secret: <at least 32 random characters> }`.');
  }
  const secrets = Array.isArray(session.secret) ? session.secret : [session.secret];
  if (secrets.length === 0) fail('session.secret', 'is an empty array', 'Give at least one secret of 32+ characters.');
  secrets.forEach((s, i) => {
    const path = Array.isArray(session.secret) ? `session.secret[${i}]` : 'session.secret';
    if (typeof s !== 'string' || s.length < 32) {
      fail(path, 'must be a string of at least 32 characters', 'Generate one with `openssl rand -base64 48`.');
    }
  });
  const cookieName = session.cookieName ?? 'oidc.session';
  if (typeof cookieName !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    fail('session.cookieName', 'is not a valid cookie name', 'Use letters, digits, "." or "_".');
  }
  const secureDefault = baseUrl.protocol === 'https:';
  const cookieOpts = session.cookie ?? {};
  const sameSite = cookieOpts.sameSite ?? 'lax';
  if (!['lax', 'strict', 'none'].includes(sameSite))
    fail('session.cookie.sameSite', `is invalid ("${sameSite}")`, 'Use "lax", "strict" or "none".');
  const secure = optionalBoolean(cookieOpts.secure, 'session.cookie.secure', secureDefault);
  // RFC 6265 §4.1.1: attribute values must not smuggle in further attributes.
  if (cookieOpts.domain !== undefined && (typeof cookieOpts.domain !== 'string' || !/^[A-Za-z0-9.-]+$/.test(cookieOpts.domain))) {
    fail('session.cookie.domain', 'is not a valid domain', 'Use a host name such as "example.com", or leave it unset (recommended).');
  }
  if (cookieOpts.path !== undefined && (typeof cookieOpts.path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(cookieOpts.path))) {
    fail('session.cookie.path', 'is not a valid cookie path', 'Use a path starting with "/", without ";" or spaces.');
  }
  if (sameSite === 'none' && !secure)
    fail(
      'session.cookie.sameSite',
      'is "none" without a secure cookie',
      'Browsers drop SameSite=None cookies that are not Secure: serve over https.',
    );
  const rollingDuration = optionalSeconds(session.rollingDuration, 'session.rollingDuration', 86_400, 1);
  const absoluteDuration = optionalSeconds(session.absoluteDuration, 'session.absoluteDuration', 604_800, 1);
  const store = session.store;
  for (const m of ['get', 'set', 'destroy', 'destroyBy'] as const) {
    if (store !== undefined && typeof (store as unknown as Record<string, unknown>)[m] !== 'function') {
      fail('session.store', `does not implement ${m}()`, 'Pass an OidcSessionStore such as MemorySessionStore or RedisSessionStore.');
    }
  }

  const refreshAuto = optionalBoolean(raw.refresh?.auto, 'refresh.auto', true);
  const refreshLeeway = optionalSeconds(raw.refresh?.leeway, 'refresh.leeway', 60);

  let bearer: ResolvedOidcOptions['bearer'];
  if (raw.bearer !== undefined) {
    const b = raw.bearer;
    const audience = toList(b.audience, 'bearer.audience');
    const issuers = bearerIssuers(b.issuers, issuer, allowInsecureRequests);
    const algorithms = b.algorithms ?? [...ASYMMETRIC_ALGORITHMS];
    // RFC 8725 §3.1 / BR-18: no "validation off" mode; symmetric and `none` are never allowed.
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      fail('bearer.algorithms', 'is empty', 'Leave it unset (all asymmetric algorithms) or list e.g. ["RS256", "ES256"].');
    }
    for (const alg of algorithms) {
      if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
        fail(
          'bearer.algorithms',
          `contains "${alg}", which is not an asymmetric signature algorithm`,
          `Use only ${ASYMMETRIC_ALGORITHMS.join(', ')}.`,
        );
      }
    }
    // RFC 9449 §4.3 check 9: `htu` is compared with the public URL, which only `baseUrl` gives (never `Host`).
    const dpop = b.dpop ?? (baseUrlGiven ? 'allowed' : 'disabled');
    if (!baseUrlGiven && dpop !== 'disabled') {
      fail(
        'bearer.dpop',
        `is "${dpop}" without a \`baseUrl\``,
        "Set `baseUrl` to this API's public URL: DPoP proofs are checked against it (RFC 9449 §4.3).",
      );
    }
    if (!['disabled', 'allowed', 'required'].includes(dpop))
      fail('bearer.dpop', `is invalid ("${dpop}")`, 'Use "disabled", "allowed" or "required".');
    const maxEntries = optionalSeconds(b.cache?.maxEntries, 'bearer.cache.maxEntries', 10_000, 0);
    const introspectionTtl = optionalSeconds(b.cache?.introspectionTtl, 'bearer.cache.introspectionTtl', 60, 0);
    const introspection = optionalBoolean(b.introspection, 'bearer.introspection', false);
    // RFC 7662 §2.1: the protected resource must authenticate at the introspection endpoint.
    if (introspection && clientAuthMethod === 'none') {
      fail(
        'bearer.introspection',
        'needs client credentials (RFC 7662 §2.1), but the client is public',
        'Set `clientSecret` (or `clientPrivateKey` with private_key_jwt), or turn introspection off.',
      );
    }
    bearer = {
      audience: Object.freeze([...audience]),
      issuers,
      issuersFromDiscovery: b.issuers === undefined,
      issuerAliases: issuerAliasesOf(b.issuerAliases, issuers, issuer),
      authorizedParties:
        b.authorizedParties === undefined ? undefined : Object.freeze(toList(b.authorizedParties, 'bearer.authorizedParties')),
      algorithms: Object.freeze([...algorithms]),
      requireJwtAccessTokenType: optionalBoolean(b.requireJwtAccessTokenType, 'bearer.requireJwtAccessTokenType', false),
      introspection,
      identityClaims: identityClaimsOf(b.identityClaims, issuers),
      dpop,
      cache: Object.freeze({ maxEntries, introspectionTtl }),
    };
  }

  // The default is the module's own landing route, `<baseUrl><prefix>/logout/callback`: it checks the logout's
  // `state`, sends `Clear-Site-Data: "cache"` (so Back cannot show a private page from the back/forward cache)
  // and lands on a clean same-origin URL. Without mounted routes: `baseUrl` as written.
  const landingUri = routePrefix === false ? undefined : `${baseUrl.origin}${routesPath}/logout/callback`;
  const postLogoutRedirectUri = raw.logout?.postLogoutRedirectUri ?? landingUri ?? raw.baseUrl ?? baseUrl.origin;
  parseUrl(postLogoutRedirectUri, 'logout.postLogoutRedirectUri');

  let roles: ResolvedOidcOptions['roles'];
  if (raw.roles !== undefined) {
    const claim = raw.roles.claim;
    roles = {
      claim:
        typeof claim === 'function'
          ? claim
          : claimPathOf(
              claim,
              'roles.claim',
              '"realm_access.roles", "https://example.com/roles" or ["resource_access", "my.client", "roles"]',
            ),
    };
  }
  if (raw.afterCallback !== undefined && typeof raw.afterCallback !== 'function') {
    fail('afterCallback', 'must be a function', 'Pass (ctx) => { … }.');
  }
  const idTokenSigningAlg = raw.idTokenSigningAlg;
  if (idTokenSigningAlg !== undefined) {
    const known: readonly string[] = [...ASYMMETRIC_ALGORITHMS, ...CLIENT_SECRET_ALGORITHMS];
    if (typeof idTokenSigningAlg !== 'string' || !known.includes(idTokenSigningAlg)) {
      fail(
        'idTokenSigningAlg',
        `is not a supported signature algorithm ("${String(idTokenSigningAlg)}")`,
        `Use one of ${known.join(', ')}; "none" is never accepted (RFC 8725 §3.1).`,
      );
    }
    // OIDC Core §10.1: an HMAC-signed ID token is keyed with the client secret, so there must be one.
    if ((CLIENT_SECRET_ALGORITHMS as readonly string[]).includes(idTokenSigningAlg) && !raw.clientSecret) {
      fail(
        'idTokenSigningAlg',
        `is "${idTokenSigningAlg}", which needs a client secret (OIDC Core §10.1)`,
        "Set `clientSecret` (a confidential client), or use the OP's asymmetric algorithm such as RS256.",
      );
    }
  }
  const clockTolerance = optionalSeconds(raw.clockTolerance, 'clockTolerance', 60);
  if (clockTolerance > 300) fail('clockTolerance', 'is more than 300 seconds', 'RFC 9068 §4: keep the leeway to a few minutes at most.');

  const resolved: ResolvedOidcOptions = {
    issuer,
    clientId,
    clientSecret: raw.clientSecret,
    clientAuthMethod,
    clientPrivateKey: raw.clientPrivateKey,
    baseUrl,
    routePrefix,
    redirectUri,
    loginUri,
    routesPath: routesPath || '/',
    scope,
    authorizationParams: Object.freeze(authorizationParams),
    clockTolerance,
    idTokenSigningAlg,
    fetchUserinfo: optionalBoolean(raw.fetchUserinfo, 'fetchUserinfo', true),
    allowInsecureRequests,
    session: Object.freeze({
      enabled: !sessionless,
      secrets: Object.freeze([...secrets]),
      cookieName,
      store,
      rollingDuration,
      absoluteDuration,
      cookie: Object.freeze({ secure, sameSite, domain: cookieOpts.domain, path: cookieOpts.path ?? '/' }),
    }),
    refresh: Object.freeze({ auto: refreshAuto, leeway: refreshLeeway }),
    pushedAuthorizationRequests: optionalBoolean(raw.pushedAuthorizationRequests, 'pushedAuthorizationRequests', fapi2),
    bearer: bearer && Object.freeze(bearer),
    logout: Object.freeze({
      postLogoutRedirectUri,
      toLanding: landingUri !== undefined && postLogoutRedirectUri === landingUri,
      idpLogout: optionalBoolean(raw.logout?.idpLogout, 'logout.idpLogout', true),
      revokeTokens: optionalBoolean(raw.logout?.revokeTokens, 'logout.revokeTokens', true),
      backchannel: optionalBoolean(raw.logout?.backchannel, 'logout.backchannel', true),
      frontchannel: optionalBoolean(raw.logout?.frontchannel, 'logout.frontchannel', false),
    }),
    roles,
    globalGuard: optionalBoolean(raw.globalGuard, 'globalGuard', false),
    dpop: clientDpopOf(raw.dpop ?? (fapi2 ? true : undefined)),
    ...(fapi2 ? { profile: 'fapi2' as const } : {}),
    afterCallback: raw.afterCallback,
    http: Object.freeze({ timeout: optionalSeconds(raw.http?.timeout, 'http.timeout', 5000, 1) }),
    transactionTtl: 600,
  };
  return Object.freeze(resolved);
}
