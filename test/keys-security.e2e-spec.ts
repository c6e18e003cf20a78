/**
 * Resource-server signing keys over Express and Fastify (SECURITY-CASES BR-17, BR-18, RS-02), against the
 * hostile issuer: a key the OP removes stops working once the JWKS is refreshed (after the cache's maximum age), an
 * unknown-`kid` flood does not keep a rotated key out for longer than one cooldown plus one request,
 * and there is no configuration that turns signature validation off. Time is moved with the app's
 * injectable clock (OIDC_CLOCK → MutableClock), which the JWKS cache reads; tokens are minted on that clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { PLATFORMS, startTestApp, type Registration, type TestApp } from './fixtures/app.fixture.js';
import { startHostileApp } from './fixtures/hostile-login.js';
import { DEFAULT_JWKS_CACHE_SETTINGS, JwksCache } from '../lib/keys/jwks.cache.js';
import { DEFAULT_HOSTILE_CLIENT, useHostileOpAndCanary, type HostileOp, type SigningKey } from './fixtures/hostile-op.fixture.js';

const API = 'https://api.keys.test';
/** JwksCache defaults (600 s and 5 s today), from the module itself so the cases follow them. */
const { cooldown: COOLDOWN, maxAge: MAX_AGE } = DEFAULT_JWKS_CACHE_SETTINGS;

let hop: HostileOp;
// SECURITY-CASES §0: any hit on the attacker's canary fails the test.
useHostileOpAndCanary((h) => (hop = h));

/** A fresh RS256 signing key with a new kid (what an OP publishes when it rotates). */
async function newKey(label: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = `${label}-${randomBytes(4).toString('hex')}`;
  return { kid, alg: 'RS256', privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** Waits until the app's background JWKS refresh has landed, then checks that the hostile OP served `n` JWKS requests. */
async function refreshLanded(t: TestApp, n: number): Promise<void> {
  await t.app.get(JwksCache).idle(hop.issuer);
  expect(hop.count('/jwks')).toBe(n);
}

describe.each(PLATFORMS)('resource-server signing keys (hostile issuer) over %s', (platform) => {
  let t: TestApp;

  beforeEach(async () => {
    // A fresh app per test: its own JWKS cache, verified-token cache and clock.
    t = await startHostileApp(hop, platform, { bearer: { audience: API, algorithms: ['RS256', 'ES256'] } });
    hop.clearRequests();
  });
  afterEach(async () => {
    await t?.close();
  });

  /** Seconds on the app's clock (MutableClock), which tokens must follow once it is moved. */
  const appNow = () => Math.floor(t.clock.now() / 1000);

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      iss: hop.issuer,
      sub: 'alice',
      aud: API,
      client_id: DEFAULT_HOSTILE_CLIENT.clientId,
      jti: randomUUID(),
      iat: appNow(),
      exp: appNow() + 3600,
      scope: 'orders:read',
      ...overrides,
    };
  }

  const mint = (key: SigningKey, header: Record<string, unknown> = {}) => hop.sign(claims(), { key, header: { typ: 'at+jwt', ...header } });

  async function call(token: string): Promise<Response> {
    return fetch(`${t.baseUrl}/profile/api-only`, { headers: { authorization: `Bearer ${token}` } });
  }

  async function expectRejected(token: string): Promise<void> {
    const res = await call(token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
    expect(await res.text()).not.toContain(token);
  }

  // -------------------------------------------------------------------------------------------
  describe('BR-17 removed key', () => {
    it(`BR-17: after the JWKS maximum age (${MAX_AGE} s) and its refresh, tokens of the removed key get 401 (also the verified-and-cached one); current keys keep 200; one refetch`, async () => {
      const removed = hop.keys.es256;
      const kept = hop.keys.rs256;
      const oldRemoved = await mint(removed);
      const oldKept = await mint(kept);
      expect((await call(oldRemoved)).status).toBe(200);
      expect((await call(oldKept)).status).toBe(200);
      expect(hop.count('/jwks')).toBe(1);

      // The OP removes the key.
      hop.jwks = { keys: hop.jwks.keys.filter((k) => k.kid !== removed.kid) };
      expect(hop.jwks.keys.map((k) => k.kid)).toContain(kept.kid);

      // Within the maximum age the keys are not fetched again (the cache is in use).
      t.clock.advance(MAX_AGE / 2);
      expect((await call(oldKept)).status).toBe(200);
      expect(hop.count('/jwks')).toBe(1);

      // Past the maximum age, the next request starts the refresh.
      t.clock.advance(MAX_AGE / 2 + 1);
      expect((await call(oldKept)).status).toBe(200);
      await refreshLanded(t, 2);

      // After the refresh: the removed key's tokens are refused — the one verified (and cached) before, and a new one.
      await expectRejected(oldRemoved);
      await expectRejected(await mint(removed));
      // Tokens of the keys still published keep working, old and new.
      expect((await call(oldKept)).status).toBe(200);
      expect((await call(await mint(kept))).status).toBe(200);
      // The refused kid (now unknown) fetches nothing within the cooldown: one refetch in all.
      expect(hop.count('/jwks')).toBe(2);
    });

    it('BR-17 (control): without the OP removing it, the same key still works after the refresh', async () => {
      const es = await mint(hop.keys.es256);
      expect((await call(es)).status).toBe(200);
      t.clock.advance(MAX_AGE + 1);
      expect((await call(es)).status).toBe(200);
      await refreshLanded(t, 2);
      expect((await call(es)).status).toBe(200);
      expect((await call(await mint(hop.keys.es256))).status).toBe(200);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('RS-02 a flood must not block rotation', () => {
    /** Tokens signed by an attacker's key, each naming a random well-formed kid (RS-01). */
    const flood = (n: number) =>
      Promise.all(Array.from({ length: n }, async () => (await call(await mint(hop.keys.other, { kid: randomUUID() }))).status));

    it(`RS-02: right after an unknown-kid flood the OP rotates to a new kid; it is accepted no later than one cooldown (${COOLDOWN} s) plus one request, with one refetch`, async () => {
      expect((await call(await mint(hop.keys.rs256))).status).toBe(200);
      expect(hop.count('/jwks')).toBe(1);

      // RS-01 flood once the cooldown since the first fetch has passed: it may use up the one refetch of this window.
      t.clock.advance(COOLDOWN + 1);
      const first = await flood(100);
      expect(first.every((s) => s === 401)).toBe(true);
      expect(hop.count('/jwks')).toBe(2);

      // The OP starts signing with a new, legitimately published key.
      const rotated = await newKey('rotated');
      hop.jwks = { keys: [...hop.jwks.keys, rotated.publicJwk] };
      const fresh = await mint(rotated);

      // Still inside the window opened by the flood: the flood keeps going, the OP is not hammered.
      const during = await Promise.all([flood(50), call(fresh).then((r) => r.status)]);
      expect(during[0].every((s) => s === 401)).toBe(true);
      expect(during[1]).toBe(401);
      expect(hop.count('/jwks')).toBe(2);

      // One cooldown later, one request: the new kid is accepted (the refetch was not used up by the flood).
      t.clock.advance(COOLDOWN);
      const started = Date.now();
      expect((await call(fresh)).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(hop.count('/jwks')).toBe(3);
      // The flood goes on; new tokens of the rotated key keep working without further fetches.
      const [after, again] = await Promise.all([flood(50), call(await mint(rotated)).then((r) => r.status)]);
      expect(after.every((s) => s === 401)).toBe(true);
      expect(again).toBe(200);
      expect(hop.count('/jwks')).toBe(3);
      // Good cached keys were never evicted.
      expect((await call(await mint(hop.keys.rs256))).status).toBe(200);
      expect(hop.count('/jwks')).toBe(3);
    });

    it('RS-02: when a flood request is the first after the cooldown, its refetch already brings the new kid', async () => {
      expect((await call(await mint(hop.keys.rs256))).status).toBe(200);
      const rotated = await newKey('rotated');
      hop.jwks = { keys: [...hop.jwks.keys, rotated.publicJwk] };
      t.clock.advance(COOLDOWN + 1);
      // Flood first (it triggers the one refetch of this window) …
      expect((await flood(1))[0]).toBe(401);
      expect(hop.count('/jwks')).toBe(2);
      // … then the new kid is accepted at once, from the keys that refetch brought.
      expect((await call(await mint(rotated))).status).toBe(200);
      expect((await flood(50)).every((s) => s === 401)).toBe(true);
      expect(hop.count('/jwks')).toBe(2);
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe.each(PLATFORMS)('BR-18 no "validation off" mode (%s)', (platform) => {
  const base = () => ({ issuer: hop.issuer, clientId: DEFAULT_HOSTILE_CLIENT.clientId, clientSecret: DEFAULT_HOSTILE_CLIENT.clientSecret });

  it.each<[Registration, string, unknown]>([
    ['forRoot', 'an empty algorithm list', []],
    ['forRootAsync', 'an empty algorithm list', []],
    ['forRoot', 'HS256', ['HS256']],
    ['forRootAsync', 'HS384 next to RS256', ['RS256', 'HS384']],
    ['forRoot', 'HS512', ['HS512']],
    ['forRoot', '"none"', ['none']],
    ['forRootAsync', '"none" next to ES256', ['ES256', 'none']],
    ['forRoot', 'a lower-case "rs256" (not an algorithm name)', ['rs256']],
    ['forRoot', 'a string instead of a list', 'RS256'],
  ])(
    'BR-18: %s with bearer.algorithms = %s → startup error naming bearer.algorithms, no request reaches the OP',
    async (registration, _, algorithms) => {
      const start = startTestApp({ platform, registration, options: { ...base(), bearer: { audience: API, algorithms } } as never });
      await expect(start).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_OPTIONS',
        message: expect.stringContaining('`bearer.algorithms`'),
      });
      expect(hop.requests).toHaveLength(0);
    },
  );

  it.each<[Registration, string, Record<string, unknown>, string]>([
    ['forRoot', 'tokenValidation: "NONE" (nest-keycloak-connect style)', { tokenValidation: 'NONE' }, 'tokenValidation'],
    ['forRootAsync', 'bearer.verify: false', { bearer: { audience: API, verify: false } }, 'bearer.verify'],
    ['forRoot', 'bearer.verifySignature: false', { bearer: { audience: API, verifySignature: false } }, 'bearer.verifySignature'],
    ['forRootAsync', 'bearer.validate: false', { bearer: { audience: API, validate: false } }, 'bearer.validate'],
  ])(
    'BR-18: %s with a "validation off" switch, %s → startup error naming it, no request reaches the OP',
    async (registration, _, extra, path) => {
      const start = startTestApp({ platform, registration, options: { ...base(), bearer: { audience: API }, ...extra } as never });
      await expect(start).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_OPTIONS', message: expect.stringContaining(`\`${path}\``) });
      expect(hop.requests).toHaveLength(0);
    },
  );

  it('BR-18 (control): with the real options, unsigned, alg-none and badly signed tokens get 401 and a signed one 200', async () => {
    const t = await startHostileApp(hop, platform, { bearer: { audience: API } });
    try {
      const now = Math.floor(Date.now() / 1000);
      const payload = { iss: hop.issuer, sub: 'alice', aud: API, client_id: 'c', jti: randomUUID(), iat: now, exp: now + 300 };
      const good = await hop.sign(payload, { header: { typ: 'at+jwt' } });
      const [h, p] = good.split('.') as [string, string];
      const call = (token: string) => fetch(`${t.baseUrl}/profile/api-only`, { headers: { authorization: `Bearer ${token}` } });
      for (const token of [
        hop.raw({ alg: 'none', typ: 'at+jwt' }, payload, ''),
        `${hop.raw({ alg: 'none', typ: 'at+jwt' }, payload, '')}c2ln`,
        `${h}.${p}.`,
        `${h}.${p}.${'A'.repeat(342)}`,
        await hop.sign(payload, { hmacSecret: 'any', header: { typ: 'at+jwt', kid: hop.keys.rs256.kid } }),
      ]) {
        const res = await call(token);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
      }
      expect((await call(good)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
