/**
 * Adversarial login-flow cases (SECURITY-CASES.md LF-*, RS-04..06) against the hostile OP, over Express
 * and Fastify. Each test drives a real browser-like login (`/auth/login` → H-OP `/authorize` →
 * `/auth/callback`), lets the hostile OP or the attacker tamper with one step, and checks the app's answer
 * (CB-REJECT: status, no session, no-store, generic body, `/auth/me` 401) and that no request reached the
 * OP after the failing step.
 */
import 'reflect-metadata';
import { CompactEncrypt, CompactSign, exportSPKI, importJWK } from 'jose';
import { OidcDiscoveryService } from '../lib/index.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { DEFAULT_HOSTILE_CLIENT, useHostileOpAndCanary, type Canary, type HostileOp } from './fixtures/hostile-op.fixture.js';
import {
  TX_COOKIE_PREFIX,
  cookieSet,
  expectCallbackRejected,
  finishLogin,
  flipSignatureByte,
  fullLogin,
  rawGet,
  recordTokens,
  s256,
  SESSION_COOKIE,
  sleep,
  startHostileApp,
  startLogin,
  tokenValues,
  withParams,
  withRawQuery,
  type StartedLogin,
} from './fixtures/hostile-login.js';

const CLIENT_ID = DEFAULT_HOSTILE_CLIENT.clientId;
const CLIENT_SECRET = DEFAULT_HOSTILE_CLIENT.clientSecret;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const now = (): number => Math.floor(Date.now() / 1000);

let hop: HostileOp;
let canary: Canary;
// SECURITY-CASES §0: any hit on the attacker's canary fails the test.
useHostileOpAndCanary((h, c) => ([hop, canary] = [h, c]));

describe.each(PLATFORMS)('login security (hostile OP) over %s', (platform) => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startHostileApp(hop, platform);
  });

  afterAll(async () => {
    await t?.close();
  });

  beforeEach(() => {
    browser = new Browser();
  });

  afterEach(() => {
    t.clock.offsetMs = 0;
  });

  /** Starts a login in `browser`, lets `tamper` change the callback URL, requests it. */
  async function tamperedCallback(tamper: (params: URLSearchParams, started: StartedLogin) => void) {
    const started = await startLogin(browser, t.baseUrl);
    const res = await finishLogin(
      browser,
      withParams(started.callbackUrl, (p) => tamper(p, started)),
    );
    return { started, res };
  }

  /** A login whose only anomaly is in the ID token / token response / userinfo (the authorization response is genuine). */
  async function loginExpectingRejection(status: number) {
    const started = await startLogin(browser, t.baseUrl);
    const res = await finishLogin(browser, started.callbackUrl);
    await expectCallbackRejected(res, { status, browser, appBaseUrl: t.baseUrl, started });
    return { started, res };
  }

  async function expectLoggedIn(res: { status: number; location?: string }, sub = 'alice') {
    expect(res.status).toBe(302);
    expect(new URL(res.location!).origin).toBe(t.baseUrl);
    const me = await browser.get(`${t.baseUrl}/auth/me`);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).sub).toBe(sub);
  }

  // ---------------------------------------------------------------------------------------------
  describe('LF-01 authorization request hygiene', () => {
    it('LF-01: code flow, openid scope, exact redirect_uri, S256 PKCE, ≥128-bit state and nonce that differ per login, verifier never in a URL, tx cookie HttpOnly/Lax/≤600 s', async () => {
      const other = new Browser();
      const [a, b] = await Promise.all([startLogin(browser, t.baseUrl), startLogin(other, t.baseUrl)]);
      for (const s of [a, b]) {
        const p = s.params;
        expect(`${new URL(s.login.location!).origin}${new URL(s.login.location!).pathname}`).toBe(`${hop.issuer}/authorize`);
        expect(p.getAll('response_type')).toEqual(['code']);
        expect(p.get('scope')!.split(' ')).toContain('openid');
        expect(p.getAll('redirect_uri')).toEqual([`${t.baseUrl}/auth/callback`]);
        expect(p.get('client_id')).toBe(CLIENT_ID);
        expect(p.get('code_challenge_method')).toBe('S256');
        expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(p.get('state')).toMatch(BASE64URL);
        expect(p.get('state')!.length).toBeGreaterThanOrEqual(22);
        expect(p.get('nonce')).toMatch(BASE64URL);
        expect(p.get('nonce')!.length).toBeGreaterThanOrEqual(22);
        expect(p.has('code_verifier')).toBe(false);
        expect(s.login.headers.get('cache-control') ?? '').toMatch(/no-store/);

        const tx = s.txCookie!;
        expect(tx).toBeDefined();
        expect(tx.httpOnly).toBe(true);
        expect(tx.sameSite?.toLowerCase()).toBe('lax');
        expect(tx.maxAge).toBeGreaterThan(0);
        expect(tx.maxAge).toBeLessThanOrEqual(600);
      }
      expect(a.params.get('state')).not.toBe(b.params.get('state'));
      expect(a.params.get('nonce')).not.toBe(b.params.get('nonce'));
      expect(a.params.get('code_challenge')).not.toBe(b.params.get('code_challenge'));
      expect(a.params.get('state')).not.toBe(a.params.get('nonce'));

      // Finish one: the verifier sent to /token matches the challenge and never appeared in any URL.
      const res = await finishLogin(browser, a.callbackUrl);
      await expectLoggedIn(res);
      const tokenRequests = hop.requests.filter((r) => r.path === '/token');
      expect(tokenRequests).toHaveLength(1);
      const verifier = tokenRequests[0]!.form!.get('code_verifier')!;
      expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
      expect(s256(verifier)).toBe(a.params.get('code_challenge'));
      for (const url of [a.login.location!, a.authorizationUrl.href, a.callbackUrl, res.location!]) expect(url).not.toContain(verifier);
      expect(a.txCookie!.value).not.toContain(verifier);
    });

    it('LF-01: PKCE S256 is still sent when discovery omits code_challenge_methods_supported', async () => {
      hop.behaviour.discovery = (doc) => {
        const { code_challenge_methods_supported: _omitted, ...rest } = doc;
        return rest;
      };
      // Discovery is cached at boot, so this needs an app that discovers while the behaviour is set.
      const t2 = await startHostileApp(hop, platform);
      try {
        expect(hop.count('/.well-known/openid-configuration')).toBeGreaterThanOrEqual(1);
        expect((await t2.app.get(OidcDiscoveryService).getMetadata()).code_challenge_methods_supported).toBeUndefined();
        const s = await startLogin(browser, t2.baseUrl);
        expect(s.params.get('code_challenge_method')).toBe('S256');
        expect(s.params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const res = await finishLogin(browser, s.callbackUrl);
        expect(res.status).toBe(302);
      } finally {
        await t2.close();
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-02 / LF-03 callback without a matching transaction', () => {
    it("LF-02: a callback loaded in a fresh jar (login CSRF with the attacker's code) → 400, no /token, victim not logged in", async () => {
      const attacker = new Browser();
      const started = await startLogin(attacker, t.baseUrl, { authorizeParams: { login_hint: 'mallory' } });
      const res = await finishLogin(browser, started.callbackUrl);
      await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-03a: a random state with a live transaction → 400, no /token', async () => {
      const { res } = await tamperedCallback((p) => p.set('state', 'Zm9yZ2VkLXN0YXRlLXZhbHVlLXh4eHh4eHh4eHh4'));
      await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-03b: no state → 400, no /token', async () => {
      const { res } = await tamperedCallback((p) => p.delete('state'));
      await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-03c: duplicated state (valid + other) → 400, no /token', async () => {
      const started = await startLogin(browser, t.baseUrl);
      const q = new URL(started.callbackUrl).searchParams;
      for (const order of [
        `state=${q.get('state')}&state=other&code=${q.get('code')}&iss=${encodeURIComponent(q.get('iss')!)}`,
        `state=other&state=${q.get('state')}&code=${q.get('code')}&iss=${encodeURIComponent(q.get('iss')!)}`,
      ]) {
        const res = await finishLogin(browser, withRawQuery(started.callbackUrl, order));
        await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      }
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-03c: duplicated code → 400, no /token', async () => {
      const started = await startLogin(browser, t.baseUrl);
      const q = new URL(started.callbackUrl).searchParams;
      const res = await finishLogin(
        browser,
        withRawQuery(
          started.callbackUrl,
          `code=${q.get('code')}&code=forged-code&state=${q.get('state')}&iss=${encodeURIComponent(q.get('iss')!)}`,
        ),
      );
      await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-03d: a well-formed but altered state (one character changed) → 400, no /token', async () => {
      const { res } = await tamperedCallback((p) => {
        const s = p.get('state')!;
        p.set('state', `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`);
      });
      await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      expect(hop.count('/token')).toBe(0);
    });
  });

  // ---------------------------------------------------------------------------------------------
  it("LF-05: an injected code from another login (other PKCE verifier) with the victim's state → 401 invalid_grant, attacker never logged in", async () => {
    const attacker = new Browser();
    const attackerLogin = await startLogin(attacker, t.baseUrl, { authorizeParams: { login_hint: 'mallory' } });
    const attackerCode = new URL(attackerLogin.callbackUrl).searchParams.get('code')!;

    const { started, res } = await tamperedCallback((p) => p.set('code', attackerCode));
    await expectCallbackRejected(res, { status: 401, browser, appBaseUrl: t.baseUrl, started });
    const tokenRequests = hop.requests.filter((r) => r.path === '/token');
    expect(tokenRequests).toHaveLength(1);
    // The RP sent the victim's verifier (bound to the victim's challenge), so the OP refused the code.
    expect(s256(tokenRequests[0]!.form!.get('code_verifier')!)).toBe(started.params.get('code_challenge'));
    expect(hop.count('/userinfo')).toBe(0);
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-06 mix-up: the iss authorization response parameter', () => {
    it("LF-06a: iss = the attacker's URL → 401 before any /token", async () => {
      hop.behaviour.authorizeRedirect = (p) => p.set('iss', canary.url);
      await loginExpectingRejection(401);
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-06b: iss missing although the metadata says authorization_response_iss_parameter_supported → 401 before any /token', async () => {
      hop.behaviour.authorizeRedirect = (p) => p.delete('iss');
      await loginExpectingRejection(401);
      expect(hop.count('/token')).toBe(0);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-07 OP error response', () => {
    it('LF-07: error=access_denied with a <script> error_description → 401, description not reflected, no /token', async () => {
      hop.behaviour.authorizeRedirect = (p) => {
        p.delete('code');
        p.set('error', 'access_denied');
        p.set('error_description', '<script>alert(1)</script>');
      };
      const { res } = await loginExpectingRejection(401);
      expect(res.body).not.toContain('<script>');
      expect(res.body).not.toContain('alert(1)');
      expect(hop.count('/token')).toBe(0);
    });

    it('LF-07: error=login_required → 401, no redirect loop, no /token', async () => {
      hop.behaviour.authorizeRedirect = (p) => {
        p.delete('code');
        p.set('error', 'login_required');
      };
      await loginExpectingRejection(401);
      expect(hop.count('/token')).toBe(0);
    });
  });

  // ---------------------------------------------------------------------------------------------
  it('LF-08: a transaction older than 600 s → 400, no /token', async () => {
    const started = await startLogin(browser, t.baseUrl);
    t.clock.advance(601);
    const res = await finishLogin(browser, started.callbackUrl);
    await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl, started });
    expect(hop.count('/token')).toBe(0);
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-09 parallel transactions in one jar', () => {
    /** Each /token request carried the verifier of the login that produced its code. */
    function expectVerifiersPaired(logins: StartedLogin[]) {
      const challengeByCode = new Map(logins.map((l) => [new URL(l.callbackUrl).searchParams.get('code'), l.params.get('code_challenge')]));
      for (const r of hop.requests.filter((x) => x.path === '/token')) {
        expect(s256(r.form!.get('code_verifier')!)).toBe(challengeByCode.get(r.form!.get('code')));
      }
    }

    it.each([
      ['B then A', [1, 0]],
      ['A then B', [0, 1]],
    ])(
      'LF-09: start A and B, finish %s → each 302 (or 400 for the stale one), never 500, verifiers never swapped',
      async (_name, order) => {
        const logins = [await startLogin(browser, t.baseUrl, { returnTo: '/a' }), await startLogin(browser, t.baseUrl, { returnTo: '/b' })];
        const statuses: number[] = [];
        for (const i of order) {
          const res = await finishLogin(browser, logins[i]!.callbackUrl);
          statuses.push(res.status);
          expect([302, 400]).toContain(res.status);
          if (res.status === 302) expect(res.location).toBe(`${t.baseUrl}${i === 0 ? '/a' : '/b'}`);
        }
        // The first one finished is never "stale".
        expect(statuses[0]).toBe(302);
        expectVerifiersPaired(logins);
        const me = await browser.get(`${t.baseUrl}/auth/me`);
        expect(me.status).toBe(200);
      },
    );
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-11..LF-18, LF-21 ID token validation (→ 401, no /userinfo)', () => {
    afterEach(() => {
      // The token endpoint was the last OP request: the ID token was refused before userinfo.
      expect(hop.count('/userinfo')).toBe(0);
    });

    it.each<[string, (c: Record<string, unknown>) => Record<string, unknown>]>([
      ['LF-11: iss = the attacker', (c) => ({ ...c, iss: 'CANARY' })],
      ['LF-11: iss missing', ({ iss: _i, ...c }) => c],
      ['LF-12a: aud = another client', (c) => ({ ...c, aud: 'other-client' })],
      ['LF-12b: aud missing', ({ aud: _a, ...c }) => c],
      ['LF-12c: aud = [client_id, "untrusted"] without azp', (c) => ({ ...c, aud: [CLIENT_ID, 'untrusted'] })],
      ['LF-12d: azp ≠ client_id', (c) => ({ ...c, aud: [CLIENT_ID, 'other-client'], azp: 'other-client' })],
      ['LF-13: sub missing', ({ sub: _s, ...c }) => c],
      ['LF-13: sub = ""', (c) => ({ ...c, sub: '' })],
      ['LF-14a: iat missing', ({ iat: _i, ...c }) => c],
      ['LF-14b: exp missing', ({ exp: _e, ...c }) => c],
      ['LF-14c: exp = now − 10 min', (c) => ({ ...c, exp: now() - 600 })],
      ['LF-14d: nbf = now + 10 min', (c) => ({ ...c, nbf: now() + 600 })],
      ['LF-14e: iat = now − 7 d with a valid exp', (c) => ({ ...c, iat: now() - 7 * 86_400 })],
      ['LF-14f: iat = now + 10 min', (c) => ({ ...c, iat: now() + 600, exp: now() + 900 })],
      ['LF-15a: nonce differs', (c) => ({ ...c, nonce: 'bm90LXRoZS1ub25jZS10aGF0LXdhcy1zZW50' })],
      ['LF-15b: nonce missing', ({ nonce: _n, ...c }) => c],
    ])('%s → 401', async (_name, mutate) => {
      hop.behaviour.idTokenClaims = (c) => {
        const out = mutate(c);
        if (out.iss === 'CANARY') out.iss = canary.url;
        return out;
      };
      await loginExpectingRejection(401);
      expect(hop.count('/token')).toBe(1);
    });

    it('LF-15c: a genuine ID token replayed from an earlier login (valid signature, old nonce) → 401', async () => {
      const issued = recordTokens(hop);
      await expectLoggedIn(await (async () => (await fullLogin(browser, t.baseUrl)).callback)());
      const oldIdToken = issued[0]!.id_token!;
      hop.reset();
      hop.behaviour.idToken = () => oldIdToken;
      browser = new Browser();
      await loginExpectingRejection(401);
    });

    it('LF-16: alg "none" with an empty signature → 401', async () => {
      hop.behaviour.idToken = ({ claims }) => hop.raw({ alg: 'none', typ: 'JWT' }, claims, '');
      await loginExpectingRejection(401);
    });

    it('LF-16: alg "none" while discovery advertises ["none", "RS256"] (fresh app) → RS256 is pinned anyway, 401', async () => {
      hop.behaviour.discovery = (doc) => ({ ...doc, id_token_signing_alg_values_supported: ['none', 'RS256'] });
      const fresh = await startHostileApp(hop, platform);
      try {
        hop.behaviour.idToken = ({ claims }) => hop.raw({ alg: 'none' }, claims, '');
        const started = await startLogin(browser, fresh.baseUrl);
        const res = await finishLogin(browser, started.callbackUrl);
        await expectCallbackRejected(res, { status: 401, browser, appBaseUrl: fresh.baseUrl, started });
      } finally {
        await fresh.close();
      }
    });

    it.each([
      ['LF-17a: ES256 with a genuine JWKS key while RS256 is pinned', 'es256'],
      ['LF-17a: PS256 with a genuine JWKS key while RS256 is pinned', 'ps256'],
    ] as const)('%s → 401', async (_name, key) => {
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: hop.keys[key] });
      await loginExpectingRejection(401);
    });

    it('LF-17b: HS256 keyed with the client_secret → 401', async () => {
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { hmacSecret: CLIENT_SECRET, header: { kid: hop.keys.rs256.kid } });
      await loginExpectingRejection(401);
    });

    it('LF-17c: HS256 keyed with the OP\'s RSA public key (PEM, and JWK "n") → 401', async () => {
      const pem = await exportSPKI((await importJWK(hop.keys.rs256.publicJwk, 'RS256')) as CryptoKey);
      for (const secret of [pem, hop.keys.rs256.publicJwk.n!]) {
        hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { hmacSecret: secret, header: { kid: hop.keys.rs256.kid } });
        browser = new Browser();
        await loginExpectingRejection(401);
      }
    });

    it('LF-18: RS256 ID token with one signature byte flipped → 401', async () => {
      hop.behaviour.idToken = async ({ claims, sign }) => flipSignatureByte(await sign(claims));
      await loginExpectingRejection(401);
    });

    it('LF-18: signed by a key not in the JWKS but carrying the JWKS RS256 kid → 401', async () => {
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: hop.keys.other, header: { kid: hop.keys.rs256.kid } });
      await loginExpectingRejection(401);
    });

    it('LF-21: crit: ["exp"] header → 401', async () => {
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { header: { crit: ['exp'] } });
      await loginExpectingRejection(401);
    });

    it('LF-21: a 5-segment JWE ID token when no decryption is configured → 401', async () => {
      hop.behaviour.idToken = ({ claims }) =>
        new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
          .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
          .encrypt(new Uint8Array(32).fill(7));
      await loginExpectingRejection(401);
    });

    it('LF-21: a nested JWT (cty: "JWT", the payload is another JWT) → 401', async () => {
      hop.behaviour.idToken = async ({ claims, sign }) => {
        const inner = await sign(claims);
        return new CompactSign(new TextEncoder().encode(inner))
          .setProtectedHeader({ alg: 'RS256', kid: hop.keys.rs256.kid, cty: 'JWT' })
          .sign(hop.keys.rs256.privateKey);
      };
      await loginExpectingRejection(401);
    });

    // A malformed ID token inside a well-formed token response is a token failing validation (401), not a
    // broken OP (502).
    it.each<[string, (claims: Record<string, unknown>) => string]>([
      ['not a JWT at all', () => 'not-a-jwt'],
      ['a header that is not base64url JSON', (c) => hop.raw('not json', c, 'c2ln')],
      ['a payload that is not base64url JSON', () => hop.raw({ alg: 'RS256', kid: hop.keys.rs256.kid }, 'not json', 'c2ln')],
      ['a payload that is a JSON array', () => hop.raw({ alg: 'RS256', kid: hop.keys.rs256.kid }, [1, 2], 'c2ln')],
    ])('LF-21: a malformed id_token (%s) → 401, not 502', async (_name, make) => {
      hop.behaviour.idToken = ({ claims }) => make(claims);
      await loginExpectingRejection(401);
    });
  });

  it('LF-12e: aud = [client_id] (control) → success', async () => {
    hop.behaviour.idTokenClaims = (c) => ({ ...c, aud: [CLIENT_ID] });
    const { callback } = await fullLogin(browser, t.baseUrl);
    await expectLoggedIn(callback);
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-22 max_age / auth_time (app with authorizationParams.max_age = "0")', () => {
    let strict: TestApp;

    beforeAll(async () => {
      strict = await startHostileApp(hop, platform, { authorizationParams: { max_age: '0' } });
    });

    afterAll(async () => {
      await strict?.close();
    });

    it('LF-22 (control): max_age=0 is sent and a fresh auth_time succeeds', async () => {
      const { params, callback } = await fullLogin(browser, strict.baseUrl);
      expect(params.get('max_age')).toBe('0');
      expect(callback.status).toBe(302);
      expect((await browser.get(`${strict.baseUrl}/auth/me`)).status).toBe(200);
    });

    it.each<[string, (c: Record<string, unknown>) => Record<string, unknown>]>([
      ['auth_time = now − 1 h', (c) => ({ ...c, auth_time: now() - 3600 })],
      ['auth_time missing', ({ auth_time: _a, ...c }) => c],
    ])('LF-22: %s → 401, no /userinfo', async (_name, mutate) => {
      hop.behaviour.idTokenClaims = mutate;
      const started = await startLogin(browser, strict.baseUrl);
      const res = await finishLogin(browser, started.callbackUrl);
      await expectCallbackRejected(res, { status: 401, browser, appBaseUrl: strict.baseUrl, started });
      expect(hop.count('/userinfo')).toBe(0);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-24 token endpoint anomalies', () => {
    it('LF-24a: token_type "mac" → 401, no /userinfo', async () => {
      const issued = recordTokens(hop, (body) => ({ ...body, token_type: 'mac' }));
      const started = await startLogin(browser, t.baseUrl);
      const res = await finishLogin(browser, started.callbackUrl);
      await expectCallbackRejected(res, { status: 401, browser, appBaseUrl: t.baseUrl, started, secrets: tokenValues(issued) });
      expect(hop.count('/userinfo')).toBe(0);
    });

    it('LF-24b: token_type "bEARER" → success (case-insensitive)', async () => {
      recordTokens(hop, (body) => ({ ...body, token_type: 'bEARER' }));
      const { callback } = await fullLogin(browser, t.baseUrl);
      await expectLoggedIn(callback);
    });

    it('LF-24c: no id_token although openid was requested → 401, no /userinfo', async () => {
      const issued = recordTokens(hop, ({ id_token: _dropped, ...body }) => body);
      const started = await startLogin(browser, t.baseUrl);
      const res = await finishLogin(browser, started.callbackUrl);
      await expectCallbackRejected(res, { status: 401, browser, appBaseUrl: t.baseUrl, started, secrets: tokenValues(issued) });
      expect(hop.count('/userinfo')).toBe(0);
    });

    it('LF-24d: no expires_in → success, lifetime unknown', async () => {
      recordTokens(hop, ({ expires_in: _dropped, ...body }) => body);
      const { callback } = await fullLogin(browser, t.baseUrl);
      await expectLoggedIn(callback);
    });

    it.each([
      [
        'an HTML 200',
        { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html><title>Login</title><p>Welcome' },
      ],
      [
        'a JSON array',
        { status: 200, headers: { 'content-type': 'application/json' }, body: '[{"access_token":"x","token_type":"Bearer"}]' },
      ],
      ['a 500 (HTML)', { status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>Internal Server Error</h1>' }],
      ['a 500 (JSON error)', { status: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"server_error"}' }],
      ['valid token JSON labelled Content-Type text/plain', { status: 200, headers: { 'content-type': 'text/plain' }, body: 'JSON' }],
    ])('LF-24e: %s from the token endpoint → 502, no session, no /userinfo', async (_name, raw) => {
      const issued = recordTokens(hop, (body) => ({ ...raw, body: raw.body === 'JSON' ? JSON.stringify(body) : raw.body }));
      const started = await startLogin(browser, t.baseUrl);
      const res = await finishLogin(browser, started.callbackUrl);
      await expectCallbackRejected(res, { status: 502, browser, appBaseUrl: t.baseUrl, started, secrets: tokenValues(issued) });
      expect(hop.count('/token')).toBe(1);
      expect(hop.count('/userinfo')).toBe(0);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('LF-25 userinfo', () => {
    it('LF-25a: userinfo sub ≠ ID token sub → 401, mismatched claims never stored', async () => {
      hop.behaviour.userinfo = (c) => ({ ...c, sub: 'mallory', email: 'mallory@example.com' });
      await loginExpectingRejection(401);
      expect(hop.count('/userinfo')).toBe(1);
    });

    // SECURITY-CASES LF-25 expects CB-REJECT(401) whenever login fetches userinfo: the endpoint answered
    // well-formed JSON that simply is not a claims object — a response failing validation (API.md: 401),
    // not an unreachable or non-OAuth OP (502).
    it.each([
      ['a JSON array', () => [{ sub: 'alice' }]],
      ['a JSON string', () => 'alice'],
    ])('LF-25b: userinfo body is %s → 401 (response fails validation)', async (_name, userinfo) => {
      hop.behaviour.userinfo = userinfo;
      await loginExpectingRejection(401);
      expect(hop.count('/userinfo')).toBe(1);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('RS-04 OP stalls (app with http.timeout = 1000 ms)', () => {
    let slow: TestApp;

    beforeAll(async () => {
      slow = await startHostileApp(hop, platform, { http: { timeout: 1000 } });
    });

    afterAll(async () => {
      await slow?.close();
    });

    it.each(['/token', '/userinfo'])('RS-04: %s sleeps 60 s → 504 within ~2 s, and the app stays responsive meanwhile', async (path) => {
      const started = await startLogin(browser, slow.baseUrl);
      hop.behaviour.delay = { [path]: 60_000 };
      const t0 = Date.now();
      let settled = false;
      const pending = finishLogin(browser, started.callbackUrl).finally(() => (settled = true));
      await sleep(200);
      const health = await fetch(`${slow.baseUrl}/profile/health`);
      expect(health.status).toBe(200);
      // Answered while the callback was still waiting on the hung OP: nothing blocks the event loop.
      expect(settled).toBe(false);
      const res = await pending;
      const elapsed = Date.now() - t0;
      await expectCallbackRejected(res, { status: 504, browser, appBaseUrl: slow.baseUrl, started });
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(2000);
      expect(hop.count(path)).toBe(1);
    });

    it('RS-04: discovery sleeps 60 s at boot → /auth/login answers 503/504 within ~2 s, redirecting nowhere', async () => {
      hop.behaviour.delay = { '/.well-known/openid-configuration': 60_000 };
      const stalled = await startTestApp({
        platform,
        options: { issuer: hop.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, http: { timeout: 1000 } },
      });
      try {
        const t0 = Date.now();
        const res = await browser.get(`${stalled.baseUrl}/auth/login`, { navigation: true });
        expect(Date.now() - t0).toBeLessThan(2000);
        expect([503, 504]).toContain(res.status);
        expect(res.location).toBeUndefined();
        expect(res.headers.get('cache-control') ?? '').toMatch(/no-store/);
        expect(browser.storedCookies().filter((c) => c.name.startsWith(TX_COOKIE_PREFIX))).toEqual([]);
        const health = await fetch(`${stalled.baseUrl}/profile/health`);
        expect(health.status).toBe(200);
      } finally {
        await stalled.close();
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('RS-05 redirects on back-channel calls are not followed', () => {
    it('RS-05: /token answers 307 to the attacker → 502, the code and client credentials never leave', async () => {
      hop.behaviour.redirect = { '/token': { status: 307, location: `${canary.url}/token` } };
      const started = await startLogin(browser, t.baseUrl);
      const res = await finishLogin(browser, started.callbackUrl);
      await expectCallbackRejected(res, { status: 502, browser, appBaseUrl: t.baseUrl, started });
      expect(hop.count('/token')).toBe(1);
      expect(hop.count('/userinfo')).toBe(0);
      expect(canary.hits).toHaveLength(0);
    });

    it('RS-05: /jwks answers 302 to the attacker (fresh app, keys not cached) → 502, no hit on the attacker', async () => {
      const fresh = await startHostileApp(hop, platform);
      try {
        hop.behaviour.redirect = { '/jwks': { status: 302, location: `${canary.url}/jwks` } };
        const started = await startLogin(browser, fresh.baseUrl);
        const res = await finishLogin(browser, started.callbackUrl);
        await expectCallbackRejected(res, { status: 502, browser, appBaseUrl: fresh.baseUrl, started });
        expect(hop.count('/jwks')).toBe(1);
        expect(hop.count('/userinfo')).toBe(0);
        expect(canary.hits).toHaveLength(0);
      } finally {
        await fresh.close();
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('RS-06 oversized callback input', () => {
    it.each(['state', 'code'])('RS-06: an 8 KB %s → 400 at once, not reflected, no /token', async (name) => {
      const started = await startLogin(browser, t.baseUrl);
      const huge = 'A'.repeat(8192);
      const url = withParams(started.callbackUrl, (p) => p.set(name, huge));
      const t0 = Date.now();
      const res = await finishLogin(browser, url);
      // Bounded generously for loaded CI machines; the point is no OP round trip (no /token below).
      expect(Date.now() - t0).toBeLessThan(1000);
      await expectCallbackRejected(res, { status: 400, browser, appBaseUrl: t.baseUrl });
      expect(res.body).not.toContain('A'.repeat(64));
      expect(hop.count('/token')).toBe(0);
    });

    it('RS-06: a 64 KB Cookie header on the callback → 4xx (never 5xx), no session', async () => {
      const started = await startLogin(browser, t.baseUrl);
      const cookie = `${browser
        .cookies(`${t.baseUrl}/auth/callback`)
        .map((c) => `${c.name}=${c.value}`)
        .join('; ')}; junk=${'x'.repeat(64 * 1024)}`;
      const u = new URL(started.callbackUrl);
      const { status } = await rawGet(t.baseUrl, `${u.pathname}${u.search}`, { cookie });
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(browser.cookie(t.baseUrl, SESSION_COOKIE)).toBeUndefined();
    });
  });

  it('control: an untampered login against the hostile OP succeeds and sets a session', async () => {
    const { callback } = await fullLogin(browser, t.baseUrl);
    expect(cookieSet(callback, SESSION_COOKIE)).toBeDefined();
    await expectLoggedIn(callback);
    expect(hop.count('/token')).toBe(1);
    expect(hop.count('/userinfo')).toBe(1);
  });
});
