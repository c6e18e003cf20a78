/**
 * Adversarial session cases (SECURITY-CASES.md SE-*) after logins through the hostile OP, over Express and
 * Fastify: cookie attributes, tokens kept server-side, fixation, tampering, expiry and replay, caching,
 * open redirects via returnTo, and transaction-cookie floods.
 */
import 'reflect-metadata';
import { decodeJwt } from 'jose';
import { PLATFORMS, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { useHostileOpAndCanary, type HostileOp } from './fixtures/hostile-op.fixture.js';
import {
  SESSION_COOKIE,
  TX_COOKIE_PREFIX,
  cookieCleared,
  cookieSet,
  flipChar,
  fullLogin,
  rawGet,
  recordTokens,
  startHostileApp,
  startLogin,
  finishLogin,
  tokenValues,
} from './fixtures/hostile-login.js';

const OTHER_SECRET = 'another-instance-secret-of-at-least-32-characters!';

/** SECURITY-CASES SE-09: returnTo values that must never lead off-site. */
const HOSTILE_RETURN_TO = [
  'https://evil.example',
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/%2F%2Fevil.example',
  '/%5Cevil.example',
  'https:evil.example',
  'javascript:alert(1)',
  '/\t/evil.example',
  'https://rp.local@evil.example',
  '/ok%0d%0aSet-Cookie:%20x=1',
];

let hop: HostileOp;
// SECURITY-CASES §0: any hit on the attacker's canary fails the test.
useHostileOpAndCanary((h) => (hop = h));

describe.each(PLATFORMS)('session security (hostile OP) over %s', (platform) => {
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

  async function me(b: Browser = browser) {
    return b.get(`${t.baseUrl}/auth/me`);
  }

  /** Logs `browser` in (as `sub`, via the OP's login_hint) and returns the session cookie value. */
  async function loginAs(sub = 'alice', b: Browser = browser, returnTo?: string): Promise<string> {
    const { callback } = await fullLogin(b, t.baseUrl, { returnTo, authorizeParams: sub === 'alice' ? {} : { login_hint: sub } });
    expect(callback.status).toBe(302);
    const value = b.cookie(t.baseUrl, SESSION_COOKIE);
    expect(value).toBeDefined();
    return value!;
  }

  /** A fresh browser holding only `value` as the session cookie. */
  function browserWithCookie(value: string): Browser {
    const b = new Browser();
    b.setCookie(t.baseUrl, SESSION_COOKIE, value, { httpOnly: true, sameSite: 'Lax' });
    return b;
  }

  // ---------------------------------------------------------------------------------------------
  it('SE-01: session cookie HttpOnly, SameSite=Lax, Path=/, no Domain, Max-Age ≤ absolute lifetime; the transaction cookie is deleted', async () => {
    const started = await startLogin(browser, t.baseUrl);
    const callback = await finishLogin(browser, started.callbackUrl);
    expect(callback.status).toBe(302);

    const session = cookieSet(callback, SESSION_COOKIE)!;
    expect(session).toBeDefined();
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite?.toLowerCase()).toBe('lax');
    expect(session.path).toBe('/');
    expect(session.domain).toBeUndefined();
    expect(session.maxAge).toBeGreaterThan(0);
    expect(session.maxAge).toBeLessThanOrEqual(7 * 86_400);
    expect(callback.setCookies.filter((c) => c.name === SESSION_COOKIE)).toHaveLength(1);

    expect(cookieCleared(callback, started.txCookie!.name)).toBeDefined();
    expect(browser.storedCookies().filter((c) => c.name.startsWith(TX_COOKIE_PREFIX))).toEqual([]);
  });

  // ---------------------------------------------------------------------------------------------
  it('SE-02: no token in the cookie, in /auth/me, in guarded responses or in any Location; callback sends Referrer-Policy: no-referrer', async () => {
    const issued = recordTokens(hop);
    const { login, callback, authorize } = await fullLogin(browser, t.baseUrl, { returnTo: '/profile' });
    expect(callback.status).toBe(302);
    const tokens = tokenValues(issued);
    expect(tokens).toHaveLength(3); // access, refresh and ID token

    const cookie = browser.cookie(t.baseUrl, SESSION_COOKIE)!;
    expect(() => decodeJwt(cookie)).toThrow();
    for (const part of cookie.split('.')) {
      const decoded = Buffer.from(part, 'base64url').toString('latin1');
      expect(decoded).not.toMatch(/"(sub|iss|aud|access_token|refresh_token|id_token)"|alice/);
    }
    for (const token of tokens) expect(cookie).not.toContain(token);

    const meRes = await me();
    expect(meRes.status).toBe(200);
    const user = JSON.parse(meRes.body) as Record<string, unknown>;
    expect(user.sub).toBe('alice');
    expect(meRes.body).not.toMatch(/access_token|refresh_token|"id_token"|accessToken"|refreshToken"/);
    for (const token of tokens) expect(meRes.body).not.toContain(token);

    for (const path of ['/profile', '/profile/raw', '/profile/email']) {
      const res = await browser.get(`${t.baseUrl}${path}`);
      expect(res.status).toBe(200);
      for (const token of tokens) expect(res.body).not.toContain(token);
    }

    for (const location of [login.location!, authorize.location!, callback.location!]) {
      for (const token of tokens) expect(location).not.toContain(token);
    }
    expect(callback.headers.get('referrer-policy')).toBe('no-referrer');
    expect(callback.body).toBe('');
  });

  // ---------------------------------------------------------------------------------------------
  describe('SE-03 session fixation', () => {
    it('SE-03: a planted arbitrary session cookie is replaced by a fresh one at login and stays anonymous', async () => {
      browser.setCookie(t.baseUrl, SESSION_COOKIE, 'attacker-value');
      const cookie = await loginAs('alice');
      expect(cookie).not.toBe('attacker-value');
      expect((await me(browserWithCookie('attacker-value'))).status).toBe(401);
    });

    it("SE-03: the attacker's own valid session planted in the victim's jar → new id at login, the planted one is gone (401)", async () => {
      const attacker = new Browser();
      const planted = await loginAs('mallory', attacker);
      browser.setCookie(t.baseUrl, SESSION_COOKIE, planted);
      expect(JSON.parse((await me()).body).sub).toBe('mallory');

      const cookie = await loginAs('alice');
      expect(cookie).not.toBe(planted);
      expect(JSON.parse((await me()).body).sub).toBe('alice');
      expect((await me(browserWithCookie(planted))).status).toBe(401);
    });
  });

  // ---------------------------------------------------------------------------------------------
  it("SE-04: a login as mallory over alice's session regenerates it; nothing of alice survives", async () => {
    const alice = await loginAs('alice', browser, '/alice-only');
    expect(JSON.parse((await me()).body).claims.email).toBe('alice@example.com');

    const { callback } = await fullLogin(browser, t.baseUrl, { authorizeParams: { login_hint: 'mallory' } });
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${t.baseUrl}/`); // not alice's returnTo
    const mallory = browser.cookie(t.baseUrl, SESSION_COOKIE)!;
    expect(mallory).not.toBe(alice);

    const user = JSON.parse((await me()).body);
    expect(user.sub).toBe('mallory');
    expect(user.claims.email).toBe('mallory@example.com');
    expect(JSON.stringify(user)).not.toContain('alice');
    expect((await me(browserWithCookie(alice))).status).toBe(401);
  });

  // ---------------------------------------------------------------------------------------------
  describe('SE-05 cookie tampering', () => {
    const tamperings: Array<[string, (v: string) => string]> = [
      ['a flipped character in the id', (v) => flipChar(v, 5)],
      ['a flipped character in the signature', (v) => flipChar(v, v.length - 5)],
      ['truncated', (v) => v.slice(0, -6)],
      ['the signature dropped', (v) => v.slice(0, v.lastIndexOf('.'))],
      ['an extra segment', (v) => `${v}.AAAA`],
      ['600 characters of garbage', () => 'x.'.repeat(300)],
    ];

    it.each(tamperings)(
      'SE-05: %s → /auth/me 401 with the cookie cleared; an HTML navigation → 302 to /auth/login',
      async (_name, tamper) => {
        const good = await loginAs('alice');
        const tampered = tamper(good);
        expect(tampered).not.toBe(good);

        const b = browserWithCookie(tampered);
        const res = await me(b);
        expect(res.status).toBe(401);
        expect(cookieCleared(res, SESSION_COOKIE)).toBeDefined();

        const nav = await browserWithCookie(tampered).get(`${t.baseUrl}/profile`, { navigation: true });
        expect(nav.status).toBe(302);
        const location = new URL(nav.location!);
        expect(`${location.origin}${location.pathname}`).toBe(`${t.baseUrl}/auth/login`);
        expect(location.searchParams.get('returnTo')).toBe('/profile');
        expect(cookieCleared(nav, SESSION_COOKIE)).toBeDefined();
      },
    );

    describe('a cookie minted by another instance with a different secret', () => {
      let foreign: TestApp;

      beforeAll(async () => {
        foreign = await startHostileApp(hop, platform, { session: { secret: OTHER_SECRET } });
      });

      afterAll(async () => {
        await foreign?.close();
      });

      it('SE-05: a valid session cookie of another instance (other secret) → 401 and cleared, never 500', async () => {
        const { callback } = await fullLogin(browser, foreign.baseUrl);
        expect(callback.status).toBe(302);
        const minted = browser.cookie(foreign.baseUrl, SESSION_COOKIE)!;
        expect((await browserWithCookie(minted).get(`${foreign.baseUrl}/auth/me`)).status).toBe(200);

        const res = await me(browserWithCookie(minted));
        expect(res.status).toBe(401);
        expect(cookieCleared(res, SESSION_COOKIE)).toBeDefined();
      });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('SE-07 expiry and replay', () => {
    it('SE-07: a captured cookie replayed after POST /auth/logout → 401', async () => {
      const issued = recordTokens(hop);
      const captured = await loginAs('alice');
      const logout = await browser.post(`${t.baseUrl}/auth/logout`);
      expect(logout.status).toBe(302);
      expect(cookieCleared(logout, SESSION_COOKIE)).toBeDefined();
      expect(logout.headers.get('cache-control') ?? '').toMatch(/no-store/);
      // RP-initiated logout may carry the ID token as id_token_hint, never the access or refresh token.
      const [tokens] = issued;
      expect(logout.location).not.toContain(tokens!.access_token!);
      expect(logout.location).not.toContain(tokens!.refresh_token!);

      expect((await me()).status).toBe(401);
      expect((await me(browserWithCookie(captured))).status).toBe(401);
    });

    it('SE-07: kept alive by activity, the session still ends at the absolute lifetime (7 d) → 401', async () => {
      const captured = await loginAs('alice');
      // Below the 1-day idle timeout each step, so only the absolute lifetime can end it.
      for (let step = 1; step <= 7; step++) {
        t.clock.advance(80_000);
        expect((await me()).status).toBe(200);
      }
      t.clock.advance(7 * 86_400 + 1 - 7 * 80_000);
      const res = await me();
      expect(res.status).toBe(401);
      expect(cookieCleared(res, SESSION_COOKIE)).toBeDefined();
      expect((await me(browserWithCookie(captured))).status).toBe(401);
    });

    it('SE-07: after the idle timeout (1 d without a request) → 401, also for a replayed copy', async () => {
      const captured = await loginAs('alice');
      t.clock.advance(86_400 + 1);
      const res = await me(browserWithCookie(captured));
      expect(res.status).toBe(401);
      expect(cookieCleared(res, SESSION_COOKIE)).toBeDefined();
      expect((await me()).status).toBe(401);
    });
  });

  // ---------------------------------------------------------------------------------------------
  it('SE-08: Cache-Control: no-store on the callback that sets the cookie, on /auth/me and on guarded user data', async () => {
    const { callback } = await fullLogin(browser, t.baseUrl);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('cache-control') ?? '').toMatch(/\bno-store\b/);
    for (const path of ['/auth/me', '/profile', '/profile/email', '/profile/raw']) {
      const res = await browser.get(`${t.baseUrl}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect({ path, cacheControl: res.headers.get('cache-control') ?? '' }).toEqual({
        path,
        cacheControl: expect.stringMatching(/\bno-store\b/),
      });
    }
  });

  // ---------------------------------------------------------------------------------------------
  describe('SE-09 open redirect via returnTo', () => {
    async function expectSameOriginLanding(opts: { returnTo?: string; rawQuery?: string }) {
      const { login, callback } = await fullLogin(browser, t.baseUrl, opts);
      expect(new URL(login.location!).origin).toBe(hop.issuer);
      expect(callback.status).toBe(302);
      const raw = callback.headers.get('location')!;
      expect(raw).not.toMatch(/[\r\n\t\\]/);
      expect(new URL(callback.location!).origin).toBe(t.baseUrl);
      expect(new URL(raw, 'http://unrelated.invalid').origin).toMatch(
        new RegExp(`^(${t.baseUrl.replace(/\./g, '\\.')}|http://unrelated\\.invalid)$`),
      );
      expect(browser.cookie(t.baseUrl, 'x')).toBeUndefined();
      expect(callback.setCookies.map((c) => c.name)).not.toContain('x');
      expect((await me()).status).toBe(200);
    }

    it.each(HOSTILE_RETURN_TO)('SE-09: returnTo %j (as a query value) → lands same-origin', async (value) => {
      await expectSameOriginLanding({ returnTo: value });
    });

    it.each(HOSTILE_RETURN_TO)('SE-09: returnTo=%j written verbatim into the URL → lands same-origin', async (value) => {
      await expectSameOriginLanding({ rawQuery: `returnTo=${value}` });
    });

    it('SE-09 (control): a same-origin path with a query survives', async () => {
      const { callback } = await fullLogin(browser, t.baseUrl, { returnTo: '/profile?tab=1' });
      expect(callback.location).toBe(`${t.baseUrl}/profile?tab=1`);
    });

    it('SE-09: an unauthenticated navigation to a guarded route carrying //evil.example → same-origin login redirect, same-origin landing', async () => {
      const nav = await browser.get(`${t.baseUrl}/profile?next=//evil.example`, { navigation: true });
      expect(nav.status).toBe(302);
      const loginUrl = new URL(nav.location!);
      expect(`${loginUrl.origin}${loginUrl.pathname}`).toBe(`${t.baseUrl}/auth/login`);
      const { callback } = await fullLogin(browser, t.baseUrl, { rawQuery: loginUrl.search.slice(1) });
      expect(callback.status).toBe(302);
      expect(new URL(callback.location!).origin).toBe(t.baseUrl);
      expect(callback.location).toBe(`${t.baseUrl}/profile?next=//evil.example`);
    });

    it.each(['//evil.example', '//evil.example/profile', '/\\evil.example', '//evil.example/auth/login'])(
      'SE-09: raw request-target %s (navigation, no session) → no 5xx and no off-site Location',
      async (target) => {
        const res = await rawGet(t.baseUrl, target, { accept: 'text/html' });
        expect(res.status).toBeLessThan(500);
        if (res.headers.location !== undefined) expect(new URL(res.headers.location, t.baseUrl).origin).toBe(t.baseUrl);
      },
    );
  });

  // ---------------------------------------------------------------------------------------------
  it('SE-11: 50 unfinished logins in one jar → ≤ 7 transaction cookies, Cookie header < 8 KB, a later login still succeeds', async () => {
    for (let i = 0; i < 50; i++) {
      const res = await browser.get(`${t.baseUrl}/auth/login`, { navigation: true });
      expect(res.status).toBe(302);
    }
    const txCookies = browser.storedCookies().filter((c) => c.name.startsWith(TX_COOKIE_PREFIX));
    expect(txCookies.length).toBeGreaterThanOrEqual(1);
    expect(txCookies.length).toBeLessThanOrEqual(7);
    const header = browser
      .cookies(`${t.baseUrl}/auth/callback`)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    expect(header.length).toBeLessThan(8 * 1024);

    const { callback } = await fullLogin(browser, t.baseUrl);
    expect(callback.status).toBe(302);
    expect((await me()).status).toBe(200);
  });
});
