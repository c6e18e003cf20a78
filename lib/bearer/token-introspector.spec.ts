import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { OidcBearerOptions } from '../config/oidc-options.interface.js';
import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import type { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { OidcError } from '../errors/oidc.error.js';
import { INTROSPECTION_REFUSAL_TTL, TokenIntrospector } from './token-introspector.js';

const API = 'https://api.example.test';
const CLIENT_ID = 'client-1';
const CLIENT_SECRET = 'client-secret';
const nowSeconds = () => Math.floor(Date.now() / 1000);

class TestClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

interface Call {
  token: string | null;
  hint: string | null;
  authorization: string | undefined;
}

describe('TokenIntrospector (RFC 7662)', () => {
  let server: Server;
  let issuer: string;
  let calls: Call[] = [];
  /** what the fake endpoint answers for a token */
  let answer: (token: string) => { status?: number; body: unknown; delayMs?: number; headers?: Record<string, string> } = () => ({
    body: { active: false },
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        calls.push({ token: form.get('token'), hint: form.get('token_type_hint'), authorization: req.headers.authorization });
        const { status = 200, body, delayMs = 0, headers = {} } = answer(form.get('token') ?? '');
        setTimeout(() => {
          res.statusCode = status;
          for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  beforeEach(() => {
    calls = [];
  });

  function setup(bearer: Partial<OidcBearerOptions> = {}, endpoint?: string) {
    const options = resolveOidcOptions({
      issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      baseUrl: 'https://app.example.com',
      session: { secret: 'a-test-session-secret-of-at-least-32-characters' },
      bearer: { audience: API, introspection: true, ...bearer },
    });
    const config = new client.Configuration(
      { issuer, introspection_endpoint: endpoint ?? `${issuer}/introspect` },
      CLIENT_ID,
      CLIENT_SECRET,
      client.ClientSecretBasic(CLIENT_SECRET),
    );
    client.allowInsecureRequests(config);
    const discovery = { issuer: options.issuer, getConfiguration: async () => config } as unknown as OidcDiscoveryService;
    const clock = new TestClock();
    return { introspector: new TokenIntrospector(options, discovery, clock), clock, options };
  }

  const activeToken = (overrides: Record<string, unknown> = {}) => ({
    active: true,
    token_type: 'Bearer',
    iss: issuer,
    sub: 'alice',
    client_id: CLIENT_ID,
    aud: API,
    scope: 'api:read',
    iat: nowSeconds(),
    exp: nowSeconds() + 3600,
    ...overrides,
  });

  async function refused(promise: Promise<unknown>, code = 'ERR_OIDC_INVALID_TOKEN'): Promise<OidcError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OidcError);
    expect((err as OidcError).code).toBe(code);
    return err as OidcError;
  }

  it('returns the claims of an active token, asking with the client credentials and the access_token hint (§2.1)', async () => {
    const { introspector } = setup();
    answer = () => ({ body: activeToken({ username: 'alice@example.com' }) });
    const { claims, issuer: iss } = await introspector.introspect('opaque-1', [issuer]);
    expect(iss).toBe(issuer);
    expect(claims).toMatchObject({ iss: issuer, sub: 'alice', aud: API, scope: 'api:read', username: 'alice@example.com' });
    expect(claims).not.toHaveProperty('active');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ token: 'opaque-1', hint: 'access_token' });
    // RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded client id and secret
    const [id, secret] = Buffer.from(calls[0]!.authorization!.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':')
      .map(decodeURIComponent);
    expect([id, secret]).toEqual([CLIENT_ID, CLIENT_SECRET]);
  });

  it('fills iss with the configured issuer and sub with client_id when the OP omits them (RFC 9068 §2.2)', async () => {
    const { introspector } = setup();
    answer = () => ({ body: activeToken({ iss: undefined, sub: undefined, aud: undefined }) });
    const { claims } = await introspector.introspect('opaque-cc', [issuer]);
    expect(claims).toMatchObject({ iss: issuer, sub: CLIENT_ID });
    answer = () => ({ body: activeToken({ sub: undefined, client_id: undefined }) });
    await refused(introspector.introspect('opaque-nobody', [issuer]));
  });

  it('refuses active:false and caches the refusal for 30 s at most (one call per window)', async () => {
    const { introspector, clock } = setup();
    answer = () => ({ body: { active: false } });
    for (let i = 0; i < 5; i += 1) await refused(introspector.introspect('bad-token', [issuer]));
    expect(calls).toHaveLength(1);
    clock.offsetMs = (INTROSPECTION_REFUSAL_TTL + 1) * 1000;
    await refused(introspector.introspect('bad-token', [issuer]));
    expect(calls).toHaveLength(2);
  });

  it('a refusal never turns into an acceptance within the window, nor does an acceptance outlive introspectionTtl', async () => {
    const { introspector, clock } = setup({ cache: { introspectionTtl: 60 } });
    answer = () => ({ body: { active: false } });
    await refused(introspector.introspect('flip', [issuer]));
    answer = () => ({ body: activeToken() });
    await refused(introspector.introspect('flip', [issuer]));
    clock.offsetMs = (INTROSPECTION_REFUSAL_TTL + 1) * 1000;
    await expect(introspector.introspect('flip', [issuer])).resolves.toBeDefined();
    // revoked at the OP: still accepted from the cache until introspectionTtl, then refused
    answer = () => ({ body: { active: false } });
    clock.offsetMs += 30_000;
    await expect(introspector.introspect('flip', [issuer])).resolves.toBeDefined();
    clock.offsetMs += 31_000;
    await refused(introspector.introspect('flip', [issuer]));
  });

  it('never caches past exp, and refuses an expired cached token without asking', async () => {
    const { introspector, clock, options } = setup({ cache: { introspectionTtl: 3600 } });
    answer = () => ({ body: activeToken({ exp: nowSeconds() + 10 }) });
    await introspector.introspect('short', [issuer]);
    await introspector.introspect('short', [issuer]);
    expect(calls).toHaveLength(1);
    clock.offsetMs = (10 + options.clockTolerance + 1) * 1000;
    answer = () => ({ body: activeToken({ exp: nowSeconds() + 10 }) });
    // the OP (on real time) still says active; the exp is past on this server's clock
    await refused(introspector.introspect('short', [issuer]));
  });

  it('introspectionTtl 0 asks every time', async () => {
    const { introspector } = setup({ cache: { introspectionTtl: 0 } });
    answer = () => ({ body: activeToken() });
    await introspector.introspect('t', [issuer]);
    await introspector.introspect('t', [issuer]);
    expect(calls).toHaveLength(2);
  });

  it('sends one request for concurrent uses of one token (single flight)', async () => {
    const { introspector } = setup();
    answer = () => ({ body: activeToken(), delayMs: 50 });
    const results = await Promise.all(Array.from({ length: 10 }, () => introspector.introspect('hot', [issuer])));
    expect(results.every((r) => r.claims.sub === 'alice')).toBe(true);
    expect(calls).toHaveLength(1);
    answer = () => ({ body: { active: false }, delayMs: 50 });
    const failures = await Promise.all(
      Array.from({ length: 10 }, () => introspector.introspect('cold', [issuer]).catch((e: unknown) => e)),
    );
    expect(failures.every((e) => e instanceof OidcError && e.code === 'ERR_OIDC_INVALID_TOKEN')).toBe(true);
    expect(calls).toHaveLength(2);
  });

  describe('RFC 7662 §2.2 members', () => {
    it.each([
      ['aud naming another API', { aud: 'https://other.example' }],
      ['aud an empty array', { aud: [] }],
      ['aud with a number', { aud: [API, 7] }],
      ['iss of an untrusted issuer', { iss: 'https://evil.example' }],
      ['iss not a string', { iss: 42 }],
      ['exp in the past', { exp: nowSeconds() - 3600 }],
      ['exp as a string', { exp: String(nowSeconds() + 60) }],
      ['exp beyond year 9999', { exp: 1e300 }],
      ['nbf in the future', { nbf: nowSeconds() + 3600 }],
      ['iat in the future', { iat: nowSeconds() + 3600 }],
      ['sub empty', { sub: '' }],
      ['scope as an array', { scope: ['api:read'] }],
      ['client_id as a number', { client_id: 1 }],
      ['cnf as a string', { cnf: 'x' }],
      ['active as the string "true"', { active: 'true' }],
    ])('refuses %s', async (_name, overrides) => {
      const { introspector } = setup();
      answer = () => ({ body: activeToken(overrides) });
      await refused(
        introspector.introspect(`t-${_name}`, [issuer]),
        _name === 'active as the string "true"' ? 'ERR_OIDC_INTROSPECTION_UNAVAILABLE' : 'ERR_OIDC_INVALID_TOKEN',
      );
    });

    it('accepts aud as an array containing the API', async () => {
      const { introspector } = setup();
      answer = () => ({ body: activeToken({ aud: ['other', API] }) });
      await expect(introspector.introspect('aud-array', [issuer])).resolves.toBeDefined();
    });
  });

  describe('RFC 8725 §2.8 token confusion: only access tokens', () => {
    it.each([
      ['no type member and no aud (oidc-provider, MITREid refresh tokens)', { token_type: undefined, aud: undefined }],
      ['token_type refresh_token', { token_type: 'refresh_token' }],
      ['token_type N_A', { token_type: 'N_A' }],
      ['token_use refresh_token (Ory Hydra)', { token_use: 'refresh_token' }],
      ['typ Refresh (Keycloak)', { token_type: undefined, typ: 'Refresh' }],
      ['typ ID (Keycloak)', { token_type: undefined, typ: 'ID' }],
      ['a DPoP token_type without cnf.jkt (RFC 9449 §6.2)', { token_type: 'DPoP' }],
    ])('refuses %s', async (name, overrides) => {
      const { introspector } = setup();
      answer = () => ({ body: activeToken(overrides) });
      await refused(introspector.introspect(`kind-${name}`, [issuer]));
    });

    it.each([
      ['no type member, aud naming this API (RFC 7662 §2.2: token_type is optional)', { token_type: undefined }],
      ['token_type bearer', { token_type: 'bearer' }],
      ['token_use access_token', { token_type: undefined, token_use: 'access_token' }],
      ['typ Bearer (Keycloak)', { token_type: undefined, typ: 'Bearer' }],
      ['token_type DPoP with cnf.jkt', { token_type: 'DPoP', cnf: { jkt: 'abc' } }],
    ])('accepts %s', async (name, overrides) => {
      const { introspector } = setup();
      answer = () => ({ body: activeToken(overrides) });
      await expect(introspector.introspect(`ok-${name}`, [issuer])).resolves.toBeDefined();
    });
  });

  describe('issuer trust per request', () => {
    it('asks nothing when the configured issuer is not trusted for the request', async () => {
      const { introspector } = setup();
      answer = () => ({ body: activeToken() });
      await refused(introspector.introspect('tenant', ['https://other-tenant.example']));
      expect(calls).toHaveLength(0);
    });

    it('refuses a cached token on a request that does not trust its iss', async () => {
      const { introspector } = setup({ issuers: () => [] });
      const partner = 'https://partner.example';
      answer = () => ({ body: activeToken({ iss: partner }) });
      await expect(introspector.introspect('partner', [issuer, partner])).resolves.toMatchObject({ issuer: partner });
      await refused(introspector.introspect('partner', [issuer]));
      expect(calls).toHaveLength(1);
    });
  });

  describe('OP unavailable: 503, never cached', () => {
    it('maps a 5xx to ERR_OIDC_INTROSPECTION_UNAVAILABLE and asks again next time', async () => {
      const { introspector } = setup();
      answer = () => ({ status: 500, body: { error: 'server_error' } });
      await refused(introspector.introspect('x', [issuer]), 'ERR_OIDC_INTROSPECTION_UNAVAILABLE');
      answer = () => ({ body: activeToken() });
      await expect(introspector.introspect('x', [issuer])).resolves.toBeDefined();
      expect(calls).toHaveLength(2);
    });

    it.each([
      ['with a WWW-Authenticate challenge', { 'www-authenticate': 'Basic realm="op"' }],
      ['without a challenge', {}],
    ])(
      "a refused client (401 invalid_client %s) is the OP's refusal, not an outage: 401, not remembered (RFC 6749 §5.2)",
      async (_name, headers) => {
        const { introspector } = setup();
        answer = () => ({ status: 401, body: { error: 'invalid_client' }, headers });
        const err = await introspector.introspect('x', [issuer]).then(
          () => undefined,
          (e: unknown) => e as OidcError,
        );
        expect(err?.code).toBe('ERR_OIDC_INVALID_TOKEN');
        expect((err?.cause as Error).message).toContain('invalid_client');
        answer = () => ({ body: activeToken() });
        await expect(introspector.introspect('x', [issuer])).resolves.toBeDefined();
        expect(calls).toHaveLength(2);
      },
    );

    it('maps a refused connection to 503', async () => {
      const { introspector } = setup({}, 'http://127.0.0.1:1/introspect');
      await refused(introspector.introspect('x', [issuer]), 'ERR_OIDC_INTROSPECTION_UNAVAILABLE');
    });

    it('maps an OP without an introspection endpoint to 503', async () => {
      const options = resolveOidcOptions({
        issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        baseUrl: 'https://app.example.com',
        session: { secret: 'a-test-session-secret-of-at-least-32-characters' },
        bearer: { audience: API, introspection: true },
      });
      const config = new client.Configuration({ issuer }, CLIENT_ID, CLIENT_SECRET);
      const discovery = { issuer: options.issuer, getConfiguration: async () => config } as unknown as OidcDiscoveryService;
      const introspector = new TokenIntrospector(options, discovery, new TestClock());
      await refused(introspector.introspect('x', [issuer]), 'ERR_OIDC_INTROSPECTION_UNAVAILABLE');
    });
  });

  it('keeps both caches bounded by bearer.cache.maxEntries', async () => {
    const { introspector } = setup({ cache: { maxEntries: 2 } });
    answer = (token) => ({ body: token.startsWith('good') ? activeToken() : { active: false } });
    for (const token of ['good-1', 'good-2', 'good-3', 'bad-1', 'bad-2', 'bad-3']) {
      await introspector.introspect(token, [issuer]).catch(() => undefined);
    }
    const sizes = introspector as unknown as { active: { size: number }; refused: { size: number } };
    expect(sizes.active.size).toBe(2);
    expect(sizes.refused.size).toBe(2);
    // the oldest were dropped: asked again
    await introspector.introspect('good-1', [issuer]);
    expect(calls).toHaveLength(7);
  });
});
