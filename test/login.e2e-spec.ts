import { Controller, Get } from '@nestjs/common';
import { Browser } from './fixtures/browser.js';
import { MATRIX, PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { authorizeAtOp, confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';
import { Public } from '../lib/index.js';

const clientOptions = (op: TestOp) => ({ issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET });

describe.each(MATRIX)('browser login against oidc-provider (%s, %s)', (platform, registration) => {
  let op: TestOp;
  let t: TestApp;

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)] });
    t = await startTestApp({ platform, registration, port, options: clientOptions(op) });
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });
  afterEach(() => {
    t.clock.offsetMs = 0;
  });

  it('logs in and hands the typed claims to @CurrentUser, @IdToken and @UserInfo', async () => {
    const browser = new Browser();
    const callback = await loginThroughApp(browser, t.baseUrl, 'alice', { returnTo: '/profile' });
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${t.baseUrl}/profile`);
    expect(callback.headers.get('cache-control')).toBe('no-store');

    const profile = await browser.get(`${t.baseUrl}/profile`);
    expect(profile.status).toBe(200);
    const body = JSON.parse(profile.body);
    expect(body.sub).toBe('alice');
    expect(body.authMethod).toBe('session');
    expect(body.claims.email).toBe('alice@example.com');
    expect(body.claims.iss).toBe(op.issuer);
    expect(body.scopes).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));

    const email = await browser.get(`${t.baseUrl}/profile/email`);
    expect(JSON.parse(email.body)).toEqual({ email: 'alice@example.com' });

    const raw = JSON.parse((await browser.get(`${t.baseUrl}/profile/raw`)).body);
    expect(raw.idTokenIsClass).toBe(true);
    expect(raw.userinfoIsClass).toBe(true);
    expect(raw.idToken.aud).toBe(TEST_CLIENT_ID);
    expect(raw.userinfo.sub).toBe('alice');
    expect(raw.hasAccessToken).toBe(true);

    const me = await browser.get(`${t.baseUrl}/auth/me`);
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    const user = JSON.parse(me.body);
    expect(user.sub).toBe('alice');
    expect(me.body).not.toMatch(/refresh_token|access_token|eyJ/);
  });

  it('answers 401 with a Bearer challenge to API calls and 302 to browser navigations (API.md §3)', async () => {
    const browser = new Browser();
    const api = await browser.get(`${t.baseUrl}/profile?tab=1`);
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toMatch(/^Bearer realm="/);

    const nav = await browser.get(`${t.baseUrl}/profile?tab=1`, { navigation: true });
    expect(nav.status).toBe(302);
    const location = new URL(nav.location!);
    expect(location.origin).toBe(t.baseUrl);
    expect(location.pathname).toBe('/auth/login');
    expect(location.searchParams.get('returnTo')).toBe('/profile?tab=1');

    const head = await browser.request('HEAD', `${t.baseUrl}/profile`, { navigation: true });
    expect(head.status).toBe(302);

    const post = await browser.post(`${t.baseUrl}/profile/action`, { navigation: true, form: {} });
    expect(post.status).toBe(401);

    const bearerOnly = await browser.get(`${t.baseUrl}/profile/api-only`, { navigation: true });
    expect(bearerOnly.status).toBe(401);

    const withHeader = await browser.get(`${t.baseUrl}/profile`, { navigation: true, headers: { authorization: 'Bearer abc' } });
    expect(withHeader.status).toBe(401);
    expect(withHeader.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);

    const me = await browser.get(`${t.baseUrl}/auth/me`, { navigation: true });
    expect(me.status).toBe(401);

    const health = await browser.get(`${t.baseUrl}/profile/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true, user: null });
  });

  it('@Public routes still see the user when a session is present', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'carol');
    const health = await browser.get(`${t.baseUrl}/profile/health`);
    expect(JSON.parse(health.body)).toEqual({ ok: true, user: 'carol' });
  });

  it('issues a fresh session id at login and refuses the planted one (SE-03 session fixation)', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'alice');
    const aliceCookie = browser.cookie(t.baseUrl, 'oidc.session')!;
    expect(aliceCookie).toBeDefined();

    const victim = new Browser();
    victim.setCookie(t.baseUrl, 'oidc.session', aliceCookie);
    const callback = await loginThroughApp(victim, t.baseUrl, 'bob');
    expect(callback.status).toBe(302);
    const bobCookie = victim.cookie(t.baseUrl, 'oidc.session');
    expect(bobCookie).toBeDefined();
    expect(bobCookie).not.toBe(aliceCookie);
    expect(JSON.parse((await victim.get(`${t.baseUrl}/auth/me`)).body).sub).toBe('bob');

    // SE-04: the session the browser presented at login ended with it.
    const replay = new Browser();
    replay.setCookie(t.baseUrl, 'oidc.session', aliceCookie);
    expect((await replay.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });

  it.each([
    ['/profile?x=1#frag', '/profile?x=1#frag'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['/%2F%2Fevil.example', '/'],
  ])('returnTo %s lands on %s, same origin (SE-09)', async (returnTo, expected) => {
    const browser = new Browser();
    const callback = await loginThroughApp(browser, t.baseUrl, 'dave', { returnTo });
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${t.baseUrl}${expected}`);
  });

  it('refuses a callback with a missing, unknown or replayed state with 400, before any token request (LF-02, LF-03)', async () => {
    const browser = new Browser();
    const start = await browser.get(`${t.baseUrl}/auth/login`, { navigation: true });
    const callbackUrl = new URL(await authorizeAtOp(browser, start.location!, 'erin'));

    op.clearRequests();
    const noState = new URL(callbackUrl);
    noState.searchParams.delete('state');
    const r1 = await browser.get(noState.href);
    expect(r1.status).toBe(400);
    expect(r1.headers.get('cache-control')).toBe('no-store');

    const otherState = new URL(callbackUrl);
    otherState.searchParams.set('state', 'x'.repeat(43));
    expect((await browser.get(otherState.href)).status).toBe(400);

    const stranger = new Browser();
    expect((await stranger.get(callbackUrl.href)).status).toBe(400);
    expect(op.count('/token')).toBe(0);

    const ok = await browser.get(callbackUrl.href);
    expect(ok.status).toBe(302);
    const replay = await browser.get(callbackUrl.href);
    expect(replay.status).toBe(400);
    expect(op.count('/token')).toBe(1);
    expect(replay.setCookies.find((c) => c.name === 'oidc.session' && c.value !== '')).toBeUndefined();
  });

  it('answers an OP error response with 401 and never reflects its description (LF-07)', async () => {
    const browser = new Browser();
    const start = await browser.get(`${t.baseUrl}/auth/login`, { navigation: true });
    const state = new URL(start.location!).searchParams.get('state')!;
    const url = new URL(`${t.baseUrl}/auth/callback`);
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('error_description', '<script>alert(1)</script>');
    url.searchParams.set('state', state);
    url.searchParams.set('iss', op.issuer);
    op.clearRequests();
    const res = await browser.get(url.href, { navigation: true });
    expect(res.status).toBe(401);
    expect(res.body).not.toContain('<script>alert(1)</script>');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.setCookies.find((c) => c.name === 'oidc.session' && c.value !== '')).toBeUndefined();
    expect(op.count('/token')).toBe(0);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });

  it('refuses a login that took longer than 10 minutes with 400 (LF-08)', async () => {
    const browser = new Browser();
    const start = await browser.get(`${t.baseUrl}/auth/login`, { navigation: true });
    const callbackUrl = await authorizeAtOp(browser, start.location!, 'frank');
    t.clock.advance(601);
    op.clearRequests();
    const res = await browser.get(callbackUrl);
    expect(res.status).toBe(400);
    expect(op.count('/token')).toBe(0);
  });

  it('finishes two logins started in two tabs, in either order (LF-09)', async () => {
    const browser = new Browser();
    const a = await browser.get(`${t.baseUrl}/auth/login?returnTo=/a`, { navigation: true });
    const b = await browser.get(`${t.baseUrl}/auth/login?returnTo=/b`, { navigation: true });
    const callbackA = await authorizeAtOp(browser, a.location!, 'gina');
    const callbackB = await authorizeAtOp(browser, b.location!, 'gina');
    const resB = await browser.get(callbackB);
    const resA = await browser.get(callbackA);
    expect(resB.status).toBe(302);
    expect(resB.location).toBe(`${t.baseUrl}/b`);
    expect(resA.status).toBe(302);
    expect(resA.location).toBe(`${t.baseUrl}/a`);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
  });

  it('logs out: local session gone first, then the OP end_session with id_token_hint (LO-16)', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'hank');
    const cookie = browser.cookie(t.baseUrl, 'oidc.session')!;
    const res = await browser.post(`${t.baseUrl}/auth/logout`, { navigation: true });
    expect(res.status).toBe(302);
    const endSession = new URL(res.location!);
    expect(endSession.origin + endSession.pathname).toBe(`${op.issuer}/session/end`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(endSession.searchParams.get('client_id')).toBe(TEST_CLIENT_ID);
    // The default post_logout_redirect_uri is the module's landing route (it flushes the browser's cache).
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${t.baseUrl}/auth/logout/callback`);
    expect(endSession.searchParams.get('state')).toBeTruthy();
    expect(res.location).not.toMatch(/access_token|refresh_token/);
    expect(res.setCookies.find((c) => c.name === 'oidc.session')?.maxAge).toBe(0);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);

    const replay = new Browser();
    replay.setCookie(t.baseUrl, 'oidc.session', cookie);
    expect((await replay.get(`${t.baseUrl}/auth/me`)).status).toBe(401);

    const back = await confirmLogoutAtOp(browser, res.location!);
    expect(back && new URL(back).origin).toBe(t.baseUrl);
    // The landing checks the logout's state, sends Clear-Site-Data: "cache" and ends on a clean URL.
    const landing = await browser.get(back!, { navigation: true });
    expect(landing.status).toBe(302);
    expect(landing.location).toBe(`${t.baseUrl}/`);
    expect(landing.headers.get('clear-site-data')).toBe('"cache"');
  });

  it('refuses a cross-site GET logout and keeps the session (LO-16)', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'ivy');
    const res = await browser.get(`${t.baseUrl}/auth/logout`, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(400);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    const sameSite = await browser.get(`${t.baseUrl}/auth/logout`, { headers: { 'sec-fetch-site': 'same-origin' } });
    expect(sameSite.status).toBe(302);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });

  it('ends a session after the idle timeout and after the absolute lifetime (SE-07)', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'jack');
    t.clock.advance(86_400 + 5);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });
});

describe.each(PLATFORMS)('module registration (%s)', (platform) => {
  it.each([
    ['forRoot', { session: { secret: 'too-short' } }, 'session.secret'],
    ['forRootAsync', { session: { secret: 'too-short' } }, 'session.secret'],
    ['forRoot', { issuer: 'http://op.example.com' }, 'issuer'],
    ['forRootAsync', { clientId: '' }, 'clientId'],
    ['forRootAsync', { bearer: { audience: 'api', algorithms: ['HS256'] } }, 'bearer.algorithms'],
  ] as const)('%s fails at bootstrap naming the option (%j → %s)', async (registration, bad, path) => {
    const start = startTestApp({
      platform,
      registration,
      options: { issuer: 'http://127.0.0.1:9', clientId: 'x', ...bad } as never,
    });
    await expect(start).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_OPTIONS', message: expect.stringContaining(`\`${path}\``) });
  });

  it('starts while the OP is down, answers 503, and recovers once it is up', async () => {
    const opPort = await getFreePort();
    const appPort = await getFreePort();
    const issuer = `http://127.0.0.1:${opPort}`;
    const t = await startTestApp({
      platform,
      port: appPort,
      options: { issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET },
    });
    let op: TestOp | undefined;
    try {
      const down = await fetch(`${t.baseUrl}/auth/login`, { redirect: 'manual' });
      expect(down.status).toBe(503);
      expect(down.headers.get('cache-control')).toBe('no-store');
      expect(await down.text()).not.toMatch(/at .*\.(ts|js):\d+/);

      op = await startTestOp({ clients: [webClient(t.baseUrl)], port: opPort });
      let status = 0;
      for (let i = 0; i < 40 && status !== 302; i++) {
        await new Promise((r) => setTimeout(r, 250));
        status = (await fetch(`${t.baseUrl}/auth/login`, { redirect: 'manual' })).status;
      }
      expect(status).toBe(302);
    } finally {
      await t.close();
      await op?.close();
    }
  });

  it('globalGuard protects every route; @Public and the built-in routes stay open', async () => {
    @Controller('open')
    class OpenController {
      @Get('secret') secret() {
        return 'secret';
      }
      @Public() @Get('public') pub() {
        return 'public';
      }
    }
    const port = await getFreePort();
    const op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)] });
    const t = await startTestApp({ platform, port, options: { ...clientOptions(op), globalGuard: true }, controllers: [OpenController] });
    try {
      expect((await fetch(`${t.baseUrl}/open/secret`)).status).toBe(401);
      expect((await fetch(`${t.baseUrl}/open/public`)).status).toBe(200);
      expect((await fetch(`${t.baseUrl}/auth/login`, { redirect: 'manual' })).status).toBe(302);
      const browser = new Browser();
      expect((await loginThroughApp(browser, t.baseUrl, 'kim')).status).toBe(302);
      expect((await browser.get(`${t.baseUrl}/open/secret`)).body).toBe('secret');
    } finally {
      await t.close();
      await op.close();
    }
  });

  it('mounts the routes under a custom prefix, or none with routes: false', async () => {
    const port = await getFreePort();
    const op = await startTestOp({
      clients: [webClient(`http://127.0.0.1:${port}`, { redirect_uris: [`http://127.0.0.1:${port}/sso/callback`] })],
    });
    const t = await startTestApp({ platform, port, options: clientOptions(op), extras: { routes: { prefix: 'sso' } } });
    const none = await startTestApp({ platform, options: clientOptions(op), extras: { routes: false } });
    try {
      const res = await fetch(`${t.baseUrl}/sso/login`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get('location')!).searchParams.get('redirect_uri')).toBe(`${t.baseUrl}/sso/callback`);
      const browser = new Browser();
      expect((await loginThroughApp(browser, t.baseUrl, 'lee', { prefix: 'sso' })).status).toBe(302);
      expect((await fetch(`${none.baseUrl}/auth/login`, { redirect: 'manual' })).status).toBe(404);
    } finally {
      await t.close();
      await none.close();
      await op.close();
    }
  });
});
