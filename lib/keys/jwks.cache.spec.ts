import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { MemoryReplayCache } from '../cache/replay-cache.js';
import type { OidcBearerOptions } from '../config/oidc-options.interface.js';
import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import type { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { OidcError } from '../errors/oidc.error.js';
import { AccessTokenVerifier } from '../bearer/access-token.verifier.js';
import { DpopVerifier } from '../bearer/dpop.verifier.js';
import { JwksCache, type JwksCacheSettings } from './jwks.cache.js';
import { closeServer, listenLocal } from '../../test/fixtures/ports.js';

const API = 'https://api.example.test';

interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

class TestClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

type JwksMode = 'ok' | 'http-500' | 'not-json' | 'html' | 'empty' | 'redirect' | 'huge' | 'reset';

/**
 * A tiny OP: discovery + JWKS on node:http, counting requests; the JWKS answer is switchable. A canary
 * counts anything that reaches it (redirect targets).
 */
describe('JwksCache (through AccessTokenVerifier)', () => {
  let server: Server;
  let canary: Server;
  let issuer: string;
  let canaryUrl: string;
  let published: JWK[] = [];
  let mode: JwksMode = 'ok';
  let discoveryIssuer: string | undefined;
  let jwksDelayMs = 0;
  const hits = { jwks: 0, discovery: 0, canary: 0 };
  /** Numbers the tests; each one's JWKS URL carries it (see the server). */
  let testNumber = 0;
  const jwksUri = () => `${issuer}/jwks?test=${testNumber}`;
  let k1: TestKey;
  let k2: TestKey;

  beforeAll(async () => {
    Logger.overrideLogger(false); // the cache warns about every failed fetch; expected here
    k1 = await makeKey('k1');
    k2 = await makeKey('k2');
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', issuer);
      if (url.pathname === '/.well-known/openid-configuration') {
        hits.discovery += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: discoveryIssuer ?? issuer, jwks_uri: jwksUri() }));
        return;
      }
      if (url.pathname !== '/jwks') {
        res.statusCode = 404;
        res.end();
        return;
      }
      // Only this test's fetches count: fetch may retry an earlier test's reset request (idempotent) at any time.
      if (url.searchParams.get('test') === String(testNumber)) hits.jwks += 1;
      setTimeout(() => {
        switch (mode) {
          case 'http-500':
            res.statusCode = 500;
            res.end('{"keys":[]}');
            return;
          case 'not-json':
            res.end('{"keys": [');
            return;
          case 'html':
            res.setHeader('content-type', 'text/html');
            res.end('<html>maintenance</html>');
            return;
          case 'empty':
            res.end('{"keys":[]}');
            return;
          case 'redirect':
            res.statusCode = 302;
            res.setHeader('location', `${canaryUrl}/jwks`);
            res.end();
            return;
          case 'huge':
            res.end(JSON.stringify({ keys: published, padding: 'x'.repeat(600 * 1024) }));
            return;
          case 'reset':
            res.socket?.destroy();
            return;
          default:
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ keys: published }));
        }
      }, jwksDelayMs);
    });
    canary = createServer((_req, res) => {
      hits.canary += 1;
      res.end(JSON.stringify({ keys: published }));
    });
    issuer = await listenLocal(server);
    canaryUrl = await listenLocal(canary);
  });

  afterAll(async () => {
    await closeServer(server);
    await closeServer(canary);
  });

  beforeEach(() => {
    testNumber += 1;
    published = [k1.publicJwk];
    mode = 'ok';
    discoveryIssuer = undefined;
    jwksDelayMs = 0;
    hits.jwks = 0;
    hits.discovery = 0;
    hits.canary = 0;
  });

  /** The module's options for a cache of `issuers` (configured issuer: the local OP unless given). */
  function optionsFor(bearer: Partial<OidcBearerOptions>, configuredIssuer = issuer) {
    return resolveOidcOptions({
      issuer: configuredIssuer,
      clientId: 'client-1',
      clientSecret: 'client-secret',
      baseUrl: 'https://app.example.com',
      session: { secret: 'a-test-session-secret-of-at-least-32-characters' },
      bearer: { audience: API, ...bearer },
      http: { timeout: 2000 },
    });
  }

  /**
   * `viaDiscovery`: the local OP is a second trusted issuer, so the cache reads its discovery document
   * itself; otherwise it is the configured issuer and its metadata comes from OidcDiscoveryService.
   */
  function setup(opts: { viaDiscovery?: boolean; bearer?: Partial<OidcBearerOptions>; settings?: Partial<JwksCacheSettings> } = {}) {
    const configuredIssuer = opts.viaDiscovery ? 'https://login.example.com' : issuer;
    const options = optionsFor({ issuers: opts.viaDiscovery ? [configuredIssuer, issuer] : [issuer], ...opts.bearer }, configuredIssuer);
    const clock = new TestClock();
    const discovery = { getMetadata: async () => ({ issuer, jwks_uri: jwksUri() }) } as unknown as OidcDiscoveryService;
    const jwks = new JwksCache(options, discovery, clock, opts.settings);
    const verifier = new AccessTokenVerifier(options, jwks, new DpopVerifier(options, clock, new MemoryReplayCache()), clock);
    const mint = (key: TestKey, header: Record<string, unknown> = {}) => {
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT({ iss: issuer, aud: API, sub: 'alice', client_id: 'c', jti: randomUUID(), iat: now, exp: now + 300 })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt', ...header })
        .sign(key.privateKey);
    };
    return { verifier, jwks, clock, mint };
  }

  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof OidcError ? e.code : String(e)),
    );

  it('loopback check drift: a jwks_uri on http://127.evil.example is a remote plain-HTTP URL — refused, never fetched', async () => {
    const options = optionsFor({ issuers: [issuer] });
    let fetched = false;
    const discovery = {
      getMetadata: async () => {
        fetched = true;
        return { issuer, jwks_uri: 'http://127.evil.example/jwks' };
      },
    } as unknown as OidcDiscoveryService;
    const clock = new TestClock();
    const jwks = new JwksCache(options, discovery, clock);
    const err = await jwks.keysFor(issuer, 'ES256', k1.kid).then(
      () => undefined,
      (e: unknown) => e as OidcError,
    );
    expect(fetched).toBe(true);
    expect(err?.code).toBe('ERR_OIDC_KEYS_UNAVAILABLE');
    expect((err?.cause as OidcError).message).toContain('non-https');
    expect(hits.canary + hits.jwks).toBe(0);
  });

  it('loopback check drift: a trusted issuer at http://127.evil.example (bearer.issuers chosen per request) is refused as plain HTTP, its discovery never fetched', async () => {
    const evil = 'http://127.evil.example';
    // A resolver is not checked at configuration time: the cache's own check is what stands (the verifier
    // passes the issuers the resolver chose for the request as `trusted`).
    const options = optionsFor({ issuers: () => [issuer, evil] });
    expect(options.allowInsecureRequests).toBe(false);
    const discovery = { getMetadata: async () => ({ issuer, jwks_uri: jwksUri() }) } as unknown as OidcDiscoveryService;
    const jwks = new JwksCache(options, discovery, new TestClock());
    const fetched: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      fetched.push(String(input instanceof Request ? input.url : input));
      return realFetch(input, init);
    }) as typeof fetch;
    try {
      const err = await jwks.keysFor(evil, 'ES256', k1.kid, [issuer, evil]).then(
        () => undefined,
        (e: unknown) => e as OidcError,
      );
      expect(err).toBeInstanceOf(OidcError);
      expect(`${err?.message} ${(err?.cause as Error | undefined)?.message ?? ''}`).toContain('non-https');
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(fetched).toEqual([]);
  });

  it('cold herd: 200 concurrent verifications cause exactly one discovery and one JWKS fetch', async () => {
    const { verifier, mint } = setup({ viaDiscovery: true });
    jwksDelayMs = 100;
    const tokens = await Promise.all(Array.from({ length: 200 }, () => mint(k1)));
    const results = await Promise.all(tokens.map((t) => code(verifier.verify(t))));
    expect(results.every((r) => r === 'ok')).toBe(true);
    expect(hits.discovery).toBe(1);
    expect(hits.jwks).toBe(1);
  });

  it('RS-01: a flood of random kids causes at most one JWKS fetch per cooldown; valid kids are served from the cache', async () => {
    const { verifier, mint, clock } = setup();
    const attacker = await makeKey('x');
    await verifier.verify(await mint(k1));
    expect(hits.jwks).toBe(1);

    const flood = async (n: number) => {
      const tokens = await Promise.all(Array.from({ length: n }, () => mint({ ...attacker, kid: randomUUID() })));
      return Promise.all(tokens.map((t) => code(verifier.verify(t))));
    };
    // within the first window: the cold fetch just happened, nothing is refetched
    expect((await flood(500)).every((r) => r === 'ERR_OIDC_INVALID_TOKEN')).toBe(true);
    expect(hits.jwks).toBe(1);

    // a valid kid needs no fetch, whatever the flood did (no waiting on a refetch)
    await expect(verifier.verify(await mint(k1))).resolves.toBeDefined();
    expect(hits.jwks).toBe(1);

    clock.advance(31);
    expect((await flood(500)).every((r) => r === 'ERR_OIDC_INVALID_TOKEN')).toBe(true);
    expect(hits.jwks).toBe(2);
    // good cached keys are not evicted by the flood
    await expect(verifier.verify(await mint(k1))).resolves.toBeDefined();
    expect(hits.jwks).toBe(2);
  });

  it('RS-02: the flood does not block a rotated key beyond the next cooldown window', async () => {
    const { verifier, mint, clock } = setup();
    const attacker = await makeKey('x');
    await verifier.verify(await mint(k1));
    clock.advance(31);
    await code(verifier.verify(await mint({ ...attacker, kid: 'random-1' }))); // spends this window's refetch
    expect(hits.jwks).toBe(2);

    published = [k1.publicJwk, k2.publicJwk]; // the OP rotates
    expect(await code(verifier.verify(await mint(k2)))).toBe('ERR_OIDC_INVALID_TOKEN'); // still in the cooldown
    expect(hits.jwks).toBe(2);

    clock.advance(30);
    await expect(verifier.verify(await mint(k2))).resolves.toMatchObject({ sub: 'alice' });
    expect(hits.jwks).toBe(3);
  });

  it.each<JwksMode>(['http-500', 'not-json', 'html', 'empty', 'reset'])(
    'keeps serving the last good keys when the JWKS endpoint answers %s',
    async (broken) => {
      const { verifier, jwks, mint, clock } = setup({ settings: { cooldown: 30, maxAge: 600 } });
      await verifier.verify(await mint(k1));
      mode = broken;
      clock.advance(601); // past maxAge: a background refresh starts, and fails
      await expect(verifier.verify(await mint(k1))).resolves.toBeDefined();
      await jwks.idle(issuer);
      // (a reset connection may be retried once by fetch, so that case counts at least)
      const expectHits = (n: number) => (broken === 'reset' ? expect(hits.jwks).toBeGreaterThanOrEqual(n) : expect(hits.jwks).toBe(n));
      expectHits(2);
      // an unknown kid tries again after the cooldown, fails, and the good key still works
      clock.advance(31);
      expect(await code(verifier.verify(await mint(k2)))).toBe('ERR_OIDC_INVALID_TOKEN');
      expectHits(3);
      await expect(verifier.verify(await mint(k1))).resolves.toBeDefined();
    },
  );

  it('BR-17: after maxAge a key the OP removed stops working, also for tokens verified before', async () => {
    const { verifier, jwks, mint, clock } = setup({ settings: { maxAge: 600 } });
    published = [k1.publicJwk, k2.publicJwk];
    const t1 = await mint(k1);
    await verifier.verify(t1);
    published = [k2.publicJwk];
    clock.advance(601);
    await verifier.verify(await mint(k2)); // triggers the background refresh
    await jwks.idle(issuer);
    expect(hits.jwks).toBe(2);
    expect(await code(verifier.verify(t1))).toBe('ERR_OIDC_INVALID_TOKEN');
    expect(await code(verifier.verify(await mint(k1)))).toBe('ERR_OIDC_INVALID_TOKEN');
    await expect(verifier.verify(await mint(k2))).resolves.toBeDefined();
  });

  it('answers 503 while the keys could never be fetched, retries with backoff, then recovers', async () => {
    const { verifier, mint, clock } = setup();
    mode = 'http-500';
    const token = await mint(k1);
    expect(await code(verifier.verify(token))).toBe('ERR_OIDC_KEYS_UNAVAILABLE');
    expect(await code(verifier.verify(token))).toBe('ERR_OIDC_KEYS_UNAVAILABLE');
    expect(hits.jwks).toBe(1); // backoff: no second fetch straight away
    mode = 'ok';
    clock.advance(1);
    await expect(verifier.verify(token)).resolves.toBeDefined();
    expect(hits.jwks).toBe(2);
  });

  it('RS-05: never follows a redirect from the JWKS endpoint', async () => {
    const { verifier, mint } = setup();
    mode = 'redirect';
    expect(await code(verifier.verify(await mint(k1)))).toBe('ERR_OIDC_KEYS_UNAVAILABLE');
    expect(hits.canary).toBe(0);
  });

  it('refuses an oversized JWKS answer', async () => {
    const { verifier, mint } = setup();
    mode = 'huge';
    expect(await code(verifier.verify(await mint(k1)))).toBe('ERR_OIDC_KEYS_UNAVAILABLE');
  });

  it('OIDC Discovery §4.3: refuses the metadata of a trusted issuer that names another issuer', async () => {
    const { verifier, mint } = setup({ viaDiscovery: true });
    discoveryIssuer = 'https://evil.example';
    expect(await code(verifier.verify(await mint(k1)))).toBe('ERR_OIDC_KEYS_UNAVAILABLE');
    expect(hits.jwks).toBe(0);
  });

  it('ignores unusable keys (symmetric, enc, key_ops without verify, private) in the JWKS', async () => {
    const { jwks } = setup();
    published = [
      { kty: 'oct', k: 'c2VjcmV0', kid: 'k1', alg: 'HS256' },
      { ...k1.publicJwk, use: 'enc' },
      { ...k1.publicJwk, use: undefined, key_ops: ['encrypt'] },
      { ...k1.publicJwk, d: 'private' },
      { kty: 'XYZ', kid: 'k1' },
      'not-a-key' as unknown as JWK,
      { ...k2.publicJwk },
    ];
    expect(await jwks.keysFor(issuer, 'ES256', 'k1')).toEqual([]);
    expect((await jwks.keysFor(issuer, 'ES256', 'k2')).map((k) => k.jwk.kid)).toEqual(['k2']);
    expect(await jwks.keysFor(issuer, 'HS256', 'k1')).toEqual([]);
  });

  it('without a kid, tries each key that fits the algorithm', async () => {
    const { verifier, mint } = setup();
    published = [k1.publicJwk, k2.publicJwk];
    await expect(verifier.verify(await mint(k2, { kid: undefined }))).resolves.toBeDefined();
  });

  it('refuses to fetch keys for an issuer that is not trusted', async () => {
    const { jwks } = setup();
    await expect(jwks.keysFor(canaryUrl, 'ES256', 'k1')).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
    expect(hits.canary).toBe(0);
  });

  it('with a resolver, fetches only for an issuer in the list the caller checked (defence in depth)', async () => {
    const { jwks } = setup({ viaDiscovery: true, bearer: { issuers: () => [issuer] } });
    // no list passed: a resolver has no static list to fall back on, so nothing is trusted
    await expect(jwks.keysFor(issuer, 'ES256', 'k1')).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
    await expect(jwks.keysFor(canaryUrl, 'ES256', 'k1', [issuer])).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
    expect(hits.canary).toBe(0);
    expect(hits.jwks).toBe(0);
    expect((await jwks.keysFor(issuer, 'ES256', 'k1', [issuer])).map((k) => k.jwk.kid)).toEqual(['k1']);
    expect(hits.discovery).toBe(1);
  });
});
