/**
 * Login-flow trust in the OP's metadata and keys (SECURITY-CASES LF-10, LF-20), over Express and Fastify,
 * against the hostile OP:
 *
 * - LF-10 (a): discovery that names another issuer is refused — `/auth/login` answers 503 and redirects
 *   nowhere, not even to the authorization endpoint the lying document names; (b) an `http:` issuer on a
 *   non-loopback host is a startup error unless the dev-only `allowInsecureRequests` is set.
 * - LF-20: the OP rotates its ID-token signing key (also right before signing); login #2 succeeds after at
 *   most one JWKS refetch once openid-client's unknown-`kid` refetch cooldown (60 s of JWKS age) is over;
 *   unusable keys in the JWKS (`kty: "AKP"` with bogus members, a made-up `kty`, even one reusing the new
 *   `kid`) are ignored.
 *
 * openid-client (oauth4webapi) measures the JWKS age with `Date.now()`, not with the module's OIDC_CLOCK,
 * so LF-20 moves the Date of this test file forward (Jest modern fake timers faking `Date` only — real
 * timers, sockets and I/O are untouched; the app, the OP and the cookie jar all run on that Date).
 */
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { PLATFORMS, startTestApp, type Registration, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import {
  DEFAULT_HOSTILE_CLIENT,
  useHostileOpAndCanary,
  type Canary,
  type HostileOp,
  type SigningKey,
} from './fixtures/hostile-op.fixture.js';
import {
  cookieSet,
  expectCallbackRejected,
  fullLogin,
  SESSION_COOKIE,
  startHostileApp,
  TX_COOKIE_PREFIX,
} from './fixtures/hostile-login.js';

const CLIENT_ID = DEFAULT_HOSTILE_CLIENT.clientId;
const CLIENT_SECRET = DEFAULT_HOSTILE_CLIENT.clientSecret;
const DISCOVERY = '/.well-known/openid-configuration';

/** Every fake-able API except Date: only the wall clock is moved. */
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

/** Moves `Date` (and `Date.now()`) forward by `seconds`; time keeps flowing from there. */
function moveDateForward(seconds: number): void {
  const target = Date.now() + seconds * 1000;
  jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: target, advanceTimers: true });
}

let hop: HostileOp;
let canary: Canary;
// SECURITY-CASES §0: any hit on the attacker's canary fails the test.
useHostileOpAndCanary((h, c) => ([hop, canary] = [h, c]));
afterEach(() => {
  jest.useRealTimers();
});

/** A fresh RS256 key with a new kid, as an OP publishes when it rotates. */
async function newKey(label: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = `${label}-${randomBytes(4).toString('hex')}`;
  return { kid, alg: 'RS256', privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** RFC 7517 §5: keys a client cannot use must be ignored, not make the whole set fail. */
function unusableKeys(kidToShadow?: string): JWK[] {
  return [
    // ML-DSA (draft-ietf-cose-dilithium) with a bogus parameter set: wrong alg, garbage pub, stray members.
    { kty: 'AKP', alg: 'ML-DSA-87', kid: 'akp-bogus', use: 'sig', pub: 'not-a-key!!', priv: 'AAAA', crv: 'P-256', n: 'AQAB' } as JWK,
    { kty: 'AKP', kid: kidToShadow ?? 'akp-shadow', use: 'sig', pub: 'AAAA' } as JWK,
    // A made-up key type.
    { kty: 'QUANTUM-FOAM', kid: 'made-up', use: 'sig', alg: 'QF256', x: 'AAAA' } as JWK,
  ];
}

describe.each(PLATFORMS)('login trust in discovery and keys (hostile OP) over %s', (platform) => {
  let browser: Browser;

  beforeEach(() => {
    browser = new Browser();
  });

  async function expectLoggedIn(
    t: TestApp,
    res: { status: number; location?: string; setCookies: unknown[] },
    sub = 'alice',
  ): Promise<void> {
    expect(res.status).toBe(302);
    expect(new URL(res.location!).origin).toBe(t.baseUrl);
    const me = await browser.get(`${t.baseUrl}/auth/me`);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).sub).toBe(sub);
  }

  // -------------------------------------------------------------------------------------------
  describe('LF-10 trusting discovery', () => {
    it.each<[string, (doc: Record<string, unknown>) => Record<string, unknown>]>([
      [
        'the attacker as issuer, and its authorization endpoint',
        (doc) => ({ ...doc, issuer: canary.url, authorization_endpoint: `${canary.url}/authorize` }),
      ],
      ['another tenant path on the same host', (doc) => ({ ...doc, issuer: `${String(doc.issuer)}/tenant-b` })],
      ['the same port under the name localhost', (doc) => ({ ...doc, issuer: String(doc.issuer).replace('127.0.0.1', 'localhost') })],
      ['an https: variant of the issuer', (doc) => ({ ...doc, issuer: String(doc.issuer).replace('http:', 'https:') })],
      ['no issuer at all', (doc) => ({ ...doc, issuer: undefined })],
    ])(
      'LF-10 (a): discovery names %s → the metadata is refused: /auth/login answers 503, redirects nowhere, no transaction',
      async (_, lie) => {
        hop.behaviour.discovery = lie;
        const t = await startTestApp({
          platform,
          options: { issuer: hop.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, http: { timeout: 1000 } },
        });
        try {
          for (let i = 0; i < 2; i++) {
            const res = await browser.get(`${t.baseUrl}/auth/login?returnTo=%2Fprofile`, { navigation: true });
            expect(res.status).toBe(503);
            expect(res.location).toBeUndefined();
            expect(res.headers.get('cache-control') ?? '').toMatch(/\bno-store\b/);
            expect(res.body).not.toContain(canary.url);
            expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/);
          }
          expect(browser.storedCookies().filter((c) => c.name.startsWith(TX_COOKIE_PREFIX) || c.name === SESSION_COOKIE)).toEqual([]);
          // The lying document was fetched, and nothing it names was ever contacted.
          expect(hop.count(DISCOVERY)).toBeGreaterThanOrEqual(1);
          expect(hop.requests.filter((r) => r.path !== DISCOVERY).map((r) => r.path)).toEqual([]);
        } finally {
          await t.close();
        }
      },
    );

    it('LF-10 (a) (control): the untampered document from the same OP → /auth/login redirects to its authorization endpoint', async () => {
      const t = await startTestApp({
        platform,
        options: { issuer: hop.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, http: { timeout: 1000 } },
      });
      try {
        const res = await browser.get(`${t.baseUrl}/auth/login`, { navigation: true });
        expect(res.status).toBe(302);
        expect(res.location!.startsWith(`${hop.issuer}/authorize?`)).toBe(true);
      } finally {
        await t.close();
      }
    });

    it.each<[Registration, string]>([
      ['forRoot', 'http://op.example.com'],
      ['forRootAsync', 'http://op.example.com/realms/main'],
      ['forRoot', 'http://10.0.0.5:8080'],
      ['forRootAsync', 'http://127.evil.example'],
    ])('LF-10 (b): %s with the http: issuer %s (not loopback) → startup error naming `issuer`', async (registration, issuer) => {
      const start = startTestApp({ platform, registration, options: { issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
      await expect(start).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_OPTIONS',
        message: expect.stringMatching(/`issuer` uses http: on a non-loopback host/),
      });
    });

    it('LF-10 (b) (control): the same http: issuer with the dev-only allowInsecureRequests flag boots', async () => {
      const t = await startTestApp({
        platform,
        options: {
          issuer: 'http://op.invalid',
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          allowInsecureRequests: true,
          http: { timeout: 500 },
        },
      });
      try {
        expect((await fetch(`${t.baseUrl}/profile/health`)).status).toBe(200);
      } finally {
        await t.close();
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('LF-20 signing key rotation', () => {
    let t: TestApp;

    beforeEach(async () => {
      // A fresh app per test: openid-client's JWKS cache starts empty.
      hop.jwks = { keys: [...hop.jwks.keys, ...unusableKeys()] };
      t = await startHostileApp(hop, platform);
      hop.clearRequests();
    });
    afterEach(async () => {
      await t?.close();
    });

    /** Login #1: the original key, with unusable keys in the JWKS → success, one JWKS fetch. */
    async function firstLogin(): Promise<void> {
      const { callback } = await fullLogin(browser, t.baseUrl);
      expect(cookieSet(callback, SESSION_COOKIE)).toBeDefined();
      await expectLoggedIn(t, callback);
      expect(hop.count('/jwks')).toBe(1);
      browser = new Browser();
      hop.clearRequests();
    }

    it('LF-20: the OP publishes a new kid (old key gone, unusable keys — one reusing the new kid — alongside) and signs login #2 with it → success after one refetch, once the 60 s cooldown is over', async () => {
      await firstLogin();
      const rotated = await newKey('rotated');
      hop.jwks = { keys: [rotated.publicJwk, ...unusableKeys(rotated.kid)] };
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: rotated });

      moveDateForward(61);
      const { callback } = await fullLogin(browser, t.baseUrl);
      await expectLoggedIn(t, callback);
      expect(hop.count('/jwks')).toBe(1);
      expect(hop.count('/userinfo')).toBe(1);

      // Login #3 with the same new key: served from the refreshed cache.
      browser = new Browser();
      hop.clearRequests();
      const third = await fullLogin(browser, t.baseUrl);
      await expectLoggedIn(t, third.callback);
      expect(hop.count('/jwks')).toBe(0);
    });

    it('LF-20: rotation just before signing (the JWKS switches inside the token request) → login #2 succeeds after one refetch', async () => {
      await firstLogin();
      const rotated = await newKey('just-before');
      hop.behaviour.idToken = ({ claims, sign }) => {
        hop.jwks = { keys: [rotated.publicJwk, ...unusableKeys()] };
        return sign(claims, { key: rotated });
      };

      moveDateForward(61);
      const { callback } = await fullLogin(browser, t.baseUrl);
      await expectLoggedIn(t, callback);
      expect(hop.count('/jwks')).toBe(1);
    });

    it('LF-20: within the cooldown an unknown kid is refused (401, no JWKS refetch); the same rotation succeeds once it is over', async () => {
      await firstLogin();
      const rotated = await newKey('early');
      hop.jwks = { keys: [rotated.publicJwk, ...unusableKeys(rotated.kid)] };
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: rotated });

      const early = await fullLogin(browser, t.baseUrl);
      await expectCallbackRejected(early.callback, { status: 401, browser, appBaseUrl: t.baseUrl, started: early });
      expect(hop.count('/jwks')).toBe(0);
      expect(hop.count('/userinfo')).toBe(0);

      moveDateForward(61);
      browser = new Browser();
      hop.clearRequests();
      const later = await fullLogin(browser, t.baseUrl);
      await expectLoggedIn(t, later.callback);
      expect(hop.count('/jwks')).toBe(1);
    });

    it('LF-20 (control): an ID token signed by a key the OP never published still fails after the refetch', async () => {
      await firstLogin();
      const unpublished = await newKey('unpublished');
      hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: unpublished });
      moveDateForward(61);
      const res = await fullLogin(browser, t.baseUrl);
      await expectCallbackRejected(res.callback, { status: 401, browser, appBaseUrl: t.baseUrl, started: res });
      expect(hop.count('/jwks')).toBe(1);
      expect(hop.count('/userinfo')).toBe(0);
    });
  });
});
