import { OidcError } from '../errors/oidc.error.js';
import type { OidcModuleExtras, OidcModuleOptions } from './oidc-options.interface.js';
import { resolveOidcOptions } from './resolve-oidc-options.js';

const SECRET = 'a'.repeat(32);

function base(overrides: Partial<OidcModuleOptions> = {}): OidcModuleOptions {
  return {
    issuer: 'https://op.example.com',
    clientId: 'client-1',
    baseUrl: 'https://app.example.com',
    session: { secret: SECRET },
    ...overrides,
  };
}

/** Runs the resolver and returns the OidcError it threw (fails the test when it does not throw one). */
function invalid(raw: unknown, extras?: OidcModuleExtras): OidcError {
  let thrown: unknown;
  try {
    resolveOidcOptions(raw as OidcModuleOptions, extras);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(OidcError);
  const err = thrown as OidcError;
  expect(err.code).toBe('ERR_OIDC_INVALID_OPTIONS');
  return err;
}

/** The message names the option with the resolver's `path` quoting. */
function expectPath(err: OidcError, path: string): void {
  expect(err.message).toContain(`\`${path}\``);
}

describe('resolveOidcOptions — defaults', () => {
  const resolved = resolveOidcOptions(base());

  it('fills scope "openid profile email"', () => {
    expect(resolved.scope).toBe('openid profile email');
  });

  it('names the session cookie "oidc.session" with SameSite=lax and path /', () => {
    expect(resolved.session.cookieName).toBe('oidc.session');
    expect(resolved.session.cookie.sameSite).toBe('lax');
    expect(resolved.session.cookie.path).toBe('/');
  });

  it('makes the cookie Secure for an https baseUrl', () => {
    expect(resolved.session.cookie.secure).toBe(true);
  });

  it('makes the cookie not Secure for an http loopback baseUrl', () => {
    const r = resolveOidcOptions(base({ baseUrl: 'http://localhost:3000' }));
    expect(r.session.cookie.secure).toBe(false);
    expect(r.redirectUri).toBe('http://localhost:3000/auth/callback');
  });

  it('uses a rolling duration of 86400 s and an absolute duration of 604800 s', () => {
    expect(resolved.session.rollingDuration).toBe(86_400);
    expect(resolved.session.absoluteDuration).toBe(604_800);
  });

  it('uses a clock tolerance of 60 s and an HTTP timeout of 5000', () => {
    expect(resolved.clockTolerance).toBe(60);
    expect(resolved.http.timeout).toBe(5000);
  });

  it('leaves session.store unset: the module provides its MemorySessionStore (see test/authenticator.e2e-spec.ts)', () => {
    expect(resolved.session.store).toBeUndefined();
    expect(resolved.logout).toMatchObject({ idpLogout: true, revokeTokens: true });
    expect(resolved.loginUri).toBe(resolved.redirectUri.replace(/\/callback$/, '/login'));
  });

  it('defaults clientAuthMethod to none without a secret and client_secret_basic with one', () => {
    expect(resolved.clientAuthMethod).toBe('none');
    expect(resolveOidcOptions(base({ clientSecret: 's3cret' })).clientAuthMethod).toBe('client_secret_basic');
  });

  it('derives redirectUri = baseUrl + /auth/callback', () => {
    expect(resolved.redirectUri).toBe('https://app.example.com/auth/callback');
    expect(resolved.routePrefix).toBe('auth');
  });

  it('derives redirectUri from a custom route prefix', () => {
    expect(resolveOidcOptions(base(), { routes: { prefix: 'sso' } }).redirectUri).toBe('https://app.example.com/sso/callback');
    expect(resolveOidcOptions(base(), { routes: { prefix: '/sso/' } }).redirectUri).toBe('https://app.example.com/sso/callback');
  });

  it('keeps the path of a baseUrl that has one', () => {
    expect(resolveOidcOptions(base({ baseUrl: 'https://app.example.com/api' })).redirectUri).toBe(
      'https://app.example.com/api/auth/callback',
    );
    expect(resolveOidcOptions(base({ baseUrl: 'https://app.example.com/api/' })).redirectUri).toBe(
      'https://app.example.com/api/auth/callback',
    );
  });

  it("defaults postLogoutRedirectUri to the module's landing route (Clear-Site-Data), or baseUrl as written without routes", () => {
    expect(resolved.logout.postLogoutRedirectUri).toBe('https://app.example.com/auth/logout/callback');
    expect(resolveOidcOptions(base({ baseUrl: 'https://app.example.com/api' })).logout.postLogoutRedirectUri).toBe(
      'https://app.example.com/api/auth/logout/callback',
    );
    expect(resolveOidcOptions(base(), { routes: { prefix: 'oidc' } }).logout.postLogoutRedirectUri).toBe(
      'https://app.example.com/oidc/logout/callback',
    );
    expect(resolveOidcOptions(base({ baseUrl: 'https://app.example.com/api' }), { routes: false }).logout.postLogoutRedirectUri).toBe(
      'https://app.example.com/api',
    );
  });

  it('keeps explicitly given values', () => {
    const r = resolveOidcOptions(
      base({
        scope: 'openid email',
        clockTolerance: 30,
        http: { timeout: 1234 },
        session: { secret: SECRET, cookieName: 'my_sess', rollingDuration: 600, absoluteDuration: 3600, cookie: { sameSite: 'strict' } },
      }),
    );
    expect(r.scope).toBe('openid email');
    expect(r.clockTolerance).toBe(30);
    expect(r.http.timeout).toBe(1234);
    expect(r.session.cookieName).toBe('my_sess');
    expect(r.session.rollingDuration).toBe(600);
    expect(r.session.absoluteDuration).toBe(3600);
    expect(r.session.cookie.sameSite).toBe('strict');
  });

  it('turns a single secret into a one-element secrets list', () => {
    expect(resolved.session.secrets).toEqual([SECRET]);
  });

  it('returns a frozen object, nested parts included', () => {
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.session)).toBe(true);
    expect(Object.isFrozen(resolved.session.cookie)).toBe(true);
    expect(Object.isFrozen(resolved.session.secrets)).toBe(true);
    expect(Object.isFrozen(resolved.authorizationParams)).toBe(true);
    expect(() => {
      (resolved as unknown as { scope: string }).scope = 'openid admin';
    }).toThrow(TypeError);
    expect(resolved.scope).toBe('openid profile email');
  });

  it("does not share the caller's authorizationParams object", () => {
    const params: Record<string, string> = { prompt: 'login' };
    const r = resolveOidcOptions(base({ authorizationParams: params }));
    params.prompt = 'none';
    expect(r.authorizationParams).toEqual({ prompt: 'login' });
  });
});

describe('resolveOidcOptions — invalid options fail with ERR_OIDC_INVALID_OPTIONS naming the option', () => {
  it('refuses a non-object', () => {
    invalid(undefined);
  });

  it('refuses a missing issuer', () => {
    const { issuer: _omit, ...rest } = base();
    expectPath(invalid(rest), 'issuer');
  });

  it('refuses a missing clientId', () => {
    const { clientId: _omit, ...rest } = base();
    expectPath(invalid(rest), 'clientId');
  });

  it('refuses a missing baseUrl', () => {
    const { baseUrl: _omit, ...rest } = base();
    expectPath(invalid(rest), 'baseUrl');
  });

  it('refuses a missing session', () => {
    const { session: _omit, ...rest } = base();
    expectPath(invalid(rest), 'session');
  });

  it('refuses a session.secret shorter than 32 characters', () => {
    expectPath(invalid(base({ session: { secret: 'x'.repeat(31) } })), 'session.secret');
  });

  it('names the offending element of a session.secret array', () => {
    expectPath(invalid(base({ session: { secret: ['y'.repeat(32), 'short'] } })), 'session.secret[1]');
  });

  it('refuses an empty session.secret array', () => {
    expectPath(invalid(base({ session: { secret: [] } })), 'session.secret');
  });

  it('refuses an http issuer on a non-loopback host (RFC 9700 §2.6)', () => {
    expectPath(invalid(base({ issuer: 'http://op.example.com' })), 'issuer');
  });

  it('allows an http issuer on a non-loopback host with allowInsecureRequests', () => {
    const r = resolveOidcOptions(base({ issuer: 'http://op.example.com', allowInsecureRequests: true }));
    expect(r.issuer).toBe('http://op.example.com');
    expect(r.allowInsecureRequests).toBe(true);
  });

  it('allows an http issuer on 127.0.0.1 and on localhost', () => {
    expect(resolveOidcOptions(base({ issuer: 'http://127.0.0.1:8080/realms/x' })).issuer).toBe('http://127.0.0.1:8080/realms/x');
    expect(resolveOidcOptions(base({ issuer: 'http://localhost:8080' })).issuer).toBe('http://localhost:8080');
  });

  it('does not treat a DNS name that merely starts with "127." as loopback', () => {
    // `127.evil.example` is an ordinary domain name (the URL parser keeps it as a host name, not an IPv4 address).
    expectPath(invalid(base({ issuer: 'http://127.evil.example' })), 'issuer');
  });

  it('refuses an http baseUrl on a non-loopback host', () => {
    expectPath(invalid(base({ baseUrl: 'http://app.example.com' })), 'baseUrl');
  });

  it('refuses bearer.algorithms ["HS256"] (RFC 8725 §3.1)', () => {
    const err = invalid(base({ bearer: { audience: 'api', algorithms: ['HS256'] } }));
    expectPath(err, 'bearer.algorithms');
    expect(err.message).toContain('HS256');
  });

  it('refuses bearer.algorithms ["none"] (RFC 8725 §3.1)', () => {
    const err = invalid(base({ bearer: { audience: 'api', algorithms: ['none'] } }));
    expectPath(err, 'bearer.algorithms');
    expect(err.message).toContain('"none"');
  });

  it('refuses an empty bearer.algorithms', () => {
    expectPath(invalid(base({ bearer: { audience: 'api', algorithms: [] } })), 'bearer.algorithms');
  });

  it('accepts asymmetric bearer.algorithms and defaults bearer.issuers to the issuer', () => {
    const r = resolveOidcOptions(base({ bearer: { audience: 'api', algorithms: ['RS256', 'ES256'] } }));
    expect(r.bearer?.algorithms).toEqual(['RS256', 'ES256']);
    expect(r.bearer?.audience).toEqual(['api']);
    expect(r.bearer?.issuers).toEqual(['https://op.example.com']);
  });

  describe('bearer: resource server options', () => {
    const bearer = (b: Record<string, unknown>) => base({ clientSecret: 's', bearer: { audience: 'api', ...b } as never });

    it('accepts a resolver for bearer.issuers and keeps the function', () => {
      const resolver = () => ['https://tenant-a.example.com'];
      expect(resolveOidcOptions(bearer({ issuers: resolver })).bearer?.issuers).toBe(resolver);
    });

    it.each([
      ['an empty array', []],
      ['a string', 'https://op.example.com'],
      ['an array with a relative URL', ['op.example.com']],
      ['an array with an empty string', ['']],
      ['an issuer with a query', ['https://op.example.com/?tenant=a']],
    ])('refuses bearer.issuers as %s, naming the path', (_name, issuers) => {
      const err = invalid(bearer({ issuers }));
      expect(err.message).toMatch(/`bearer\.issuers(\[0\])?`/);
    });

    it('refuses an http: issuer on a non-loopback host (RFC 9700 §2.6)', () => {
      expectPath(invalid(bearer({ issuers: ['https://op.example.com', 'http://op.example.com'] })), 'bearer.issuers[1]');
      expect(resolveOidcOptions(bearer({ issuers: ['http://127.0.0.1:4000'] })).bearer?.issuers).toEqual(['http://127.0.0.1:4000']);
    });

    it('defaults identityClaims to none, keeps configured ones in a Map and the introspection TTL at 60 s', () => {
      expect(resolveOidcOptions(bearer({})).bearer?.identityClaims.size).toBe(0);
      const r = resolveOidcOptions(
        bearer({
          issuers: ['https://op.example.com', 'https://accounts.google.com'],
          identityClaims: { 'https://accounts.google.com': 'email' },
        }),
      );
      expect([...r.bearer!.identityClaims]).toEqual([['https://accounts.google.com', 'email']]);
      expect(r.bearer?.identityClaims.get('constructor')).toBeUndefined();
      expect(r.bearer?.cache).toEqual({ maxEntries: 10_000, introspectionTtl: 60 });
    });

    it.each([
      ['an array', [['https://op.example.com', 'email']], 'bearer.identityClaims'],
      ['a claim that is not a string', { 'https://op.example.com': 1 }, 'bearer.identityClaims["https://op.example.com"]'],
      [
        'an empty path segment',
        { 'https://op.example.com': 'federated_claims..user_id' },
        'bearer.identityClaims["https://op.example.com"]',
      ],
      ['an issuer not in bearer.issuers', { 'https://op.example.com/': 'email' }, 'bearer.identityClaims["https://op.example.com/"]'],
    ])('refuses identityClaims as %s', (_name, identityClaims, path) => {
      expectPath(invalid(bearer({ identityClaims })), path);
    });

    it('allows identityClaims for any issuer with a resolver (the tenants are not known up front)', () => {
      const r = resolveOidcOptions(bearer({ issuers: () => [], identityClaims: { 'https://tenant.example': 'sub' } }));
      expect(r.bearer?.identityClaims.get('https://tenant.example')).toBe('sub');
    });

    it('refuses introspection for a public client (RFC 7662 §2.1) and a negative introspectionTtl', () => {
      expectPath(invalid(base({ bearer: { audience: 'api', introspection: true } })), 'bearer.introspection');
      expectPath(invalid(bearer({ cache: { introspectionTtl: -1 } })), 'bearer.cache.introspectionTtl');
      expect(resolveOidcOptions(bearer({ introspection: true, cache: { introspectionTtl: 0 } })).bearer).toMatchObject({
        introspection: true,
        cache: { introspectionTtl: 0 },
      });
    });
  });

  it('refuses an authorizationParams.state override', () => {
    expectPath(invalid(base({ authorizationParams: { state: 'fixed' } })), 'authorizationParams.state');
  });

  it.each(['nonce', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'client_id', 'scope'])(
    'refuses an authorizationParams.%s override',
    (param) => {
      expectPath(invalid(base({ authorizationParams: { [param]: 'x' } })), `authorizationParams.${param}`);
    },
  );

  it('refuses a scope without openid', () => {
    expectPath(invalid(base({ scope: 'profile email' })), 'scope');
  });

  it('refuses a scope that only contains openid as a substring', () => {
    expectPath(invalid(base({ scope: 'openidx profile' })), 'scope');
  });

  it('requires clientSecret for client_secret_post', () => {
    const err = invalid(base({ clientAuthMethod: 'client_secret_post' }));
    expectPath(err, 'clientSecret');
    expect(err.message).toContain('client_secret_post');
  });

  it('requires clientPrivateKey for private_key_jwt', () => {
    expectPath(invalid(base({ clientAuthMethod: 'private_key_jwt' })), 'clientPrivateKey');
  });

  it('refuses a clockTolerance above 300 s', () => {
    expectPath(invalid(base({ clockTolerance: 301 })), 'clockTolerance');
    expect(resolveOidcOptions(base({ clockTolerance: 300 })).clockTolerance).toBe(300);
  });

  it('refuses a negative clockTolerance', () => {
    expectPath(invalid(base({ clockTolerance: -1 })), 'clockTolerance');
  });

  it('refuses sameSite none without a secure cookie', () => {
    expectPath(invalid(base({ session: { secret: SECRET, cookie: { sameSite: 'none', secure: false } } })), 'session.cookie.sameSite');
    // The http-loopback default is not Secure, so "none" is refused there too.
    expectPath(
      invalid(base({ baseUrl: 'http://localhost:3000', session: { secret: SECRET, cookie: { sameSite: 'none' } } })),
      'session.cookie.sameSite',
    );
  });

  it('accepts sameSite none with a secure cookie', () => {
    const r = resolveOidcOptions(base({ session: { secret: SECRET, cookie: { sameSite: 'none' } } }));
    expect(r.session.cookie).toMatchObject({ sameSite: 'none', secure: true });
  });

  it('refuses an invalid session.cookieName', () => {
    expectPath(invalid(base({ session: { secret: SECRET, cookieName: 'bad name;' } })), 'session.cookieName');
  });

  it('refuses a session.store missing destroyBy()', () => {
    const store = { get: async () => undefined, set: async () => {}, destroy: async () => {} };
    expectPath(invalid(base({ session: { secret: SECRET, store: store as never } })), 'session.store');
  });

  it('refuses a route prefix with characters not allowed in a path', () => {
    expectPath(invalid(base(), { routes: { prefix: 'a b?' } }), 'routes.prefix');
  });
});

describe('resolveOidcOptions — unknown options are refused (BR-18: no switch turns a check off)', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a "validation off" switch at the top', { tokenValidation: 'NONE' }, 'tokenValidation'],
    ['verify: false in bearer', { bearer: { audience: 'api', verify: false } }, 'bearer.verify'],
    ['verifySignature: false in bearer', { bearer: { audience: 'api', verifySignature: false } }, 'bearer.verifySignature'],
    ['a misspelt option', { clockTolerence: 5 }, 'clockTolerence'],
    ['an unknown session.cookie member', { session: { secret: 'a'.repeat(32), cookie: { httpOnly: false } } }, 'session.cookie.httpOnly'],
    ['an unknown bearer.cache member', { bearer: { audience: 'api', cache: { ttl: 0 } } }, 'bearer.cache.ttl'],
  ])('%s → ERR_OIDC_INVALID_OPTIONS naming it', (_name, extra, path) => {
    expectPath(invalid({ ...base(), ...extra }), path);
  });

  it('suggests the right spelling when only the case differs', () => {
    expect(invalid({ ...base(), clientID: 'x' }).message).toContain('Did you mean `clientId`?');
  });
});

describe('resolveOidcOptions — idTokenSigningAlg (OIDC Core §10.1)', () => {
  it('takes HS256/384/512 with a client secret, and asymmetric algorithms', () => {
    expect(resolveOidcOptions(base({ clientSecret: 's', idTokenSigningAlg: 'HS512' })).idTokenSigningAlg).toBe('HS512');
    expect(resolveOidcOptions(base({ idTokenSigningAlg: 'ES256' })).idTokenSigningAlg).toBe('ES256');
    expect(resolveOidcOptions(base()).idTokenSigningAlg).toBeUndefined();
  });

  it('refuses HS256 for a public client: there is no secret to key it with', () => {
    const err = invalid(base({ idTokenSigningAlg: 'HS256' }));
    expectPath(err, 'idTokenSigningAlg');
    expect(err.message).toContain('clientSecret');
  });

  it.each(['none', 'RS1', 'hs256', ''])('refuses "%s"', (alg) => {
    expectPath(invalid(base({ clientSecret: 's', idTokenSigningAlg: alg })), 'idTokenSigningAlg');
  });
});

describe('resolveOidcOptions — a pure resource server (routes: false + bearer)', () => {
  const api = {
    issuer: 'https://op.example.com',
    clientId: 'orders-api',
    bearer: { audience: 'https://api.example.com' },
  } as OidcModuleOptions;

  it('needs neither session nor baseUrl; sessions are off and DPoP defaults to disabled', () => {
    const r = resolveOidcOptions(api, { routes: false });
    expect(r.session.enabled).toBe(false);
    expect(r.bearer?.dpop).toBe('disabled');
  });

  it('keeps DPoP allowed when baseUrl is given (htu is checked against it)', () => {
    expect(resolveOidcOptions({ ...api, baseUrl: 'https://api.example.com' }, { routes: false }).bearer?.dpop).toBe('allowed');
  });

  it('refuses DPoP without baseUrl, naming the option (RFC 9449 §4.3)', () => {
    const err = invalid({ ...api, bearer: { audience: 'x', dpop: 'allowed' } }, { routes: false });
    expectPath(err, 'bearer.dpop');
    expect(err.message).toContain('baseUrl');
  });

  it('still needs session and baseUrl when the login routes are mounted', () => {
    expectPath(invalid(api), 'baseUrl');
    expectPath(invalid({ ...api, baseUrl: 'https://app.example.com' }), 'session');
  });
});

describe('resolveOidcOptions — issuerAliases and authorizedParties', () => {
  const b = (bearer: Record<string, unknown>) =>
    base({ bearer: { audience: 'https://api', issuers: ['https://accounts.google.com'], ...bearer } as never });

  it('maps a non-URL iss to a trusted issuer URL', () => {
    const r = resolveOidcOptions(b({ issuerAliases: { 'accounts.google.com': 'https://accounts.google.com' } }));
    expect(r.bearer?.issuerAliases?.get('accounts.google.com')).toBe('https://accounts.google.com');
  });

  it.each([
    ['an alias to an untrusted issuer', { 'accounts.google.com': 'https://evil.example' }],
    ['an alias that is itself trusted', { 'https://accounts.google.com': 'https://accounts.google.com' }],
    ['a non-string target', { 'accounts.google.com': 1 }],
  ])('refuses %s', (_name, issuerAliases) => {
    expect(invalid(b({ issuerAliases })).message).toContain('bearer.issuerAliases');
  });

  it('takes authorizedParties as a non-empty list', () => {
    expect(resolveOidcOptions(b({ authorizedParties: ['web'] })).bearer?.authorizedParties).toEqual(['web']);
    expectPath(invalid(b({ authorizedParties: [] })), 'bearer.authorizedParties');
  });
});

describe('resolveOidcOptions — options given in the wrong place, and misspellings', () => {
  it.each(['routes', 'isGlobal'])('refuses %s returned from useFactory, saying where it goes', (extra) => {
    const err = invalid({ ...base(), [extra]: extra === 'routes' ? false : true }, { fromFactory: true } as OidcModuleExtras);
    expectPath(err, extra);
    expect(err.message).toContain('forRootAsync({ useFactory');
  });

  it('takes routes and isGlobal in forRoot options (they are extras there)', () => {
    expect(() => resolveOidcOptions({ ...base(), routes: { prefix: 'auth' }, isGlobal: true } as OidcModuleOptions)).not.toThrow();
  });

  it.each([
    ['sesion', 'session'],
    ['clockTolerence', 'clockTolerance'],
    ['clientID', 'clientId'],
    ['bearer.audiance', 'bearer.audience'],
  ])('"%s" → did you mean `%s`?', (misspelt, meant) => {
    const [head, tail] = misspelt.split('.');
    const raw = tail ? { ...base(), [head!]: { audience: 'x', [tail]: 'y' } } : { ...base(), [head!]: 1 };
    expect(invalid(raw).message).toContain(`Did you mean \`${meant}\`?`);
  });
});
