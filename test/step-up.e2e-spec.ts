/**
 * Step-up authentication (RFC 9470, API.md §7.1) and silent login (API.md §7.2) against the real OP, over Express
 * and Fastify. The dev OP's login form chooses the sign-in strength: no acr, `urn:example:loa:1`, or
 * `urn:example:loa:2` (with `amr` pwd + hwk).
 */
import { Controller, Get, UseGuards } from '@nestjs/common';
import { clientCredentialsGrant } from 'openid-client';
import { CurrentUser, OidcGuard, StepUp, type OidcUser } from '../lib/index.js';
import { ACR_BASIC, ACR_STRONG } from '../sample/dev-op.js';
import { PLATFORMS, ProfileController, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser, type BrowserResponse } from './fixtures/browser.js';
import { authorizeAtOp, loginThroughApp } from './fixtures/login.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { API_RESOURCE, startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

@Controller('vault')
@UseGuards(OidcGuard)
class VaultController {
  @StepUp({ acr: [ACR_STRONG] })
  @Get('strong')
  strong(@CurrentUser() user: OidcUser) {
    return { acr: user.acr, amr: user.amr, sessionId: user.sessionId };
  }

  @StepUp({ maxAge: 5 })
  @Get('recent')
  recent(@CurrentUser() user: OidcUser) {
    return { authTime: user.authTime };
  }
}

const json = { headers: { accept: 'application/json' } };
const sessionCookieOf = (browser: Browser, url: string) => browser.cookie(url, 'oidc.session');

describe.each(PLATFORMS)('step-up and silent login (%s)', (platform) => {
  let env: OpAndApp;
  let base: string;

  beforeAll(async () => {
    env = await startOpAndApp(platform, { bearer: { audience: API_RESOURCE } }, { controllers: [ProfileController, VaultController] });
    base = env.t.baseUrl;
  });

  afterAll(async () => {
    await env?.close();
  });

  /** Logs in with the given strength; returns the browser. */
  async function loggedIn(username: string, acr?: string): Promise<Browser> {
    const browser = new Browser();
    const start = await browser.get(`${base}/auth/login?returnTo=/profile`, { navigation: true });
    const callback = await browser.get(await authorizeAtOp(browser, start.location!, username, { acr }), { navigation: true });
    expect(callback.status).toBe(302);
    return browser;
  }

  /** Follows the app's step-up redirect through /auth/login to the OP; returns the OP's authorization URL. */
  async function stepUpStart(browser: Browser, res: BrowserResponse): Promise<URL> {
    expect(res.status).toBe(302);
    const login = await browser.get(res.location!, { navigation: true });
    expect(login.status).toBe(302);
    return new URL(login.location!);
  }

  it('RFC 9470: a weaker session navigating to a step-up route logs in again for the acr, lands on the URL, rotated', async () => {
    const browser = await loggedIn('stella', ACR_BASIC);
    const before = sessionCookieOf(browser, base);
    const weak = await browser.get(`${base}/vault/strong?x=1`, { navigation: true });
    const loginUrl = new URL(weak.location!);
    expect(loginUrl.pathname).toBe('/auth/login');
    expect(loginUrl.searchParams.get('returnTo')).toBe('/vault/strong?x=1');
    expect(loginUrl.searchParams.get('acr_values')).toBe(ACR_STRONG);

    const authorize = await stepUpStart(browser, weak);
    expect(authorize.searchParams.get('acr_values')).toBe(ACR_STRONG);
    // acr_values is voluntary at an OP without the claims parameter (the dev OP): the user is asked again.
    expect(authorize.searchParams.get('prompt')).toBe('login');
    const callback = await browser.get(await authorizeAtOp(browser, authorize.href, 'stella', { acr: ACR_STRONG }), { navigation: true });
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${base}/vault/strong?x=1`);

    const after = sessionCookieOf(browser, base);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const strong = await browser.get(`${base}/vault/strong?x=1`, json);
    expect(strong.status).toBe(200);
    expect(JSON.parse(strong.body)).toMatchObject({ acr: ACR_STRONG, amr: ['pwd', 'hwk'] });
    // The old session id is gone (a new id at every login, SE-03).
    const old = await fetch(`${base}/profile`, { headers: { cookie: `oidc.session=${before}` } });
    expect(old.status).toBe(401);
  });

  it('RFC 9470 §3: an API call of a weaker session gets 401 insufficient_user_authentication with acr_values; the handler does not run', async () => {
    const browser = await loggedIn('api-user', ACR_BASIC);
    const res = await browser.get(`${base}/vault/strong`, json);
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_user_authentication"');
    expect(challenge).toContain(`acr_values="${ACR_STRONG}"`);
    expect(res.body).not.toContain('sessionId');
  });

  it('adversarial: the OP answers the step-up with a lower acr → 401, and the session is what it was', async () => {
    const browser = await loggedIn('lowball', ACR_BASIC);
    const before = sessionCookieOf(browser, base);
    const authorize = await stepUpStart(browser, await browser.get(`${base}/vault/strong`, { navigation: true }));
    const callback = await browser.get(await authorizeAtOp(browser, authorize.href, 'lowball', { acr: ACR_BASIC }), { navigation: true });
    expect(callback.status).toBe(401);
    expect(callback.body).toContain('ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION');
    expect(callback.setCookies.some((c) => c.name === 'oidc.session')).toBe(false);
    expect(sessionCookieOf(browser, base)).toBe(before);
    const profile = await browser.get(`${base}/profile`, json);
    expect(profile.status).toBe(200);
    expect((await browser.get(`${base}/vault/strong`, json)).status).toBe(401);
  });

  /** Goes through the step-up login `res` starts (as `username`); returns the callback response. */
  async function stepUp(browser: Browser, res: BrowserResponse, username: string): Promise<BrowserResponse> {
    const authorize = await stepUpStart(browser, res);
    return browser.get(await authorizeAtOp(browser, authorize.href, username), { navigation: true });
  }

  it('OIDC Core §3.1.2.1: an authentication older than max_age logs in again (max_age, prompt=login) and then passes', async () => {
    const browser = await loggedIn('tempo');
    // A plain login's ID token need not carry auth_time: unknown is not recent, so the first visit steps up too.
    const unknown = await browser.get(`${base}/vault/recent`, { navigation: true });
    expect(new URL(unknown.location!).searchParams.get('max_age')).toBe('5');
    expect((await stepUp(browser, unknown, 'tempo')).location).toBe(`${base}/vault/recent`);
    expect((await browser.get(`${base}/vault/recent`, json)).status).toBe(200);
    // Past maxAge (5 s) and the default clockTolerance (60 s) on the app's clock.
    env.t.clock.advance(120);
    let stale: BrowserResponse;
    try {
      stale = await browser.get(`${base}/vault/recent`, { navigation: true });
      expect(new URL(stale.location!).searchParams.get('max_age')).toBe('5');
      const apiCall = await browser.get(`${base}/vault/recent`, json);
      expect(apiCall.status).toBe(401);
      expect(apiCall.headers.get('www-authenticate')).toContain('max_age="5"');
    } finally {
      env.t.clock.advance(-120);
    }
    const authorize = await stepUpStart(browser, stale);
    expect(authorize.searchParams.get('max_age')).toBe('5');
    expect(authorize.searchParams.get('prompt')).toBe('login');
    const logins = env.op.count('/login', 'POST');
    const callback = await browser.get(await authorizeAtOp(browser, authorize.href, 'tempo'), { navigation: true });
    // prompt=login: the OP asked for the password again, although its session was alive.
    expect(env.op.count('/login', 'POST')).toBe(logins + 1);
    expect(callback.location).toBe(`${base}/vault/recent`);
    const recent = await browser.get(`${base}/vault/recent`, json);
    expect(recent.status).toBe(200);
    expect(typeof JSON.parse(recent.body).authTime).toBe('number');
  });

  it('RFC 9470 §3: a Bearer token without the acr or auth_time gets the challenge with acr_values / max_age', async () => {
    const { access_token: token } = await clientCredentialsGrant(env.rp, { resource: API_RESOURCE, scope: 'api:read' });
    const strong = await fetch(`${base}/vault/strong`, { headers: { authorization: `Bearer ${token}` } });
    expect(strong.status).toBe(401);
    expect(strong.headers.get('www-authenticate')).toMatch(
      new RegExp(`^Bearer realm="[^"]+", error="insufficient_user_authentication", error_description="[^"]+", acr_values="${ACR_STRONG}"`),
    );
    const recent = await fetch(`${base}/vault/recent`, { headers: { authorization: `Bearer ${token}` } });
    expect(recent.status).toBe(401);
    expect(recent.headers.get('www-authenticate')).toContain('max_age="5"');
  });

  describe('silent login (prompt=none)', () => {
    it('without a session at the OP: back on returnTo, anonymous, no error page', async () => {
      const browser = new Browser();
      const start = await browser.get(`${base}/auth/login?prompt=none&returnTo=/profile`, { navigation: true });
      const authorize = new URL(start.location!);
      expect(authorize.searchParams.get('prompt')).toBe('none');
      const opAnswer = await browser.get(authorize.href, { navigation: true });
      const back = new URL(opAnswer.location!);
      expect(back.searchParams.get('error')).toBe('login_required');
      const callback = await browser.get(back.href, { navigation: true });
      expect(callback.status).toBe(302);
      expect(callback.location).toBe(`${base}/profile`);
      expect(sessionCookieOf(browser, base)).toBeUndefined();
      expect((await browser.get(`${base}/profile`, json)).status).toBe(401);
      // A replayed callback finds no login in progress: 400, still no session.
      const replay = await browser.get(back.href, { navigation: true });
      expect(replay.status).toBe(400);
      expect(sessionCookieOf(browser, base)).toBeUndefined();
    });

    it('with a session at the OP: signed in without a login form', async () => {
      const browser = new Browser();
      expect((await loginThroughApp(browser, base, 'quiet')).status).toBe(302);
      browser.deleteCookie(base, 'oidc.session');
      const logins = env.op.count('/login', 'POST');
      const start = await browser.get(`${base}/auth/login?prompt=none&returnTo=/profile`, { navigation: true });
      let res = await browser.get(start.location!, { navigation: true });
      while (res.status >= 300 && res.status < 400 && new URL(res.location!).origin !== base) {
        res = await browser.get(res.location!, { navigation: true });
      }
      const callback = await browser.get(res.location!, { navigation: true });
      expect(callback.location).toBe(`${base}/profile`);
      expect(env.op.count('/login', 'POST')).toBe(logins);
      const profile = await browser.get(`${base}/profile`, json);
      expect(profile.status).toBe(200);
      expect(JSON.parse(profile.body).sub).toBe('quiet');
    });

    it('takes no other prompt value from the query string', async () => {
      const browser = new Browser();
      for (const prompt of ['login', 'consent', 'select_account', 'none login']) {
        const start = await browser.get(`${base}/auth/login?prompt=${encodeURIComponent(prompt)}`, { navigation: true });
        expect(new URL(start.location!).searchParams.has('prompt')).toBe(false);
      }
    });

    it('refuses a malformed acr_values or max_age with 400', async () => {
      const browser = new Browser();
      for (const query of ['max_age=-1', 'max_age=1e3', 'acr_values=%20', `acr_values=${'a'.repeat(300)}`]) {
        expect((await browser.get(`${base}/auth/login?${query}`, { navigation: true })).status).toBe(400);
      }
    });
  });
});

describe('step-up at an OP that takes the claims parameter (OIDC Core §5.5.1.1)', () => {
  let op: TestOp;
  let t: TestApp;

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({
      clients: [webClient(`http://127.0.0.1:${port}`)],
      configuration: { features: { claimsParameter: { enabled: true } } },
    });
    t = await startTestApp({
      platform: 'express',
      port,
      options: { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET },
      controllers: [ProfileController, VaultController],
    });
  });

  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  it('asks for acr as an essential claim, and lets the OP decide whether to ask the user again (no prompt=login)', async () => {
    const browser = new Browser();
    expect((await loginThroughApp(browser, t.baseUrl, 'claimant')).status).toBe(302);
    const weak = await browser.get(`${t.baseUrl}/vault/strong`, { navigation: true });
    const login = await browser.get(weak.location!, { navigation: true });
    const authorize = new URL(login.location!);
    expect(JSON.parse(authorize.searchParams.get('claims')!)).toEqual({ id_token: { acr: { essential: true, values: [ACR_STRONG] } } });
    expect(authorize.searchParams.has('prompt')).toBe(false);
    expect(authorize.searchParams.has('acr_values')).toBe(false);
    // The OP's session is below the essential acr: it asks the user, who signs in strongly this time.
    const callback = await browser.get(await authorizeAtOp(browser, authorize.href, 'claimant', { acr: ACR_STRONG }), { navigation: true });
    expect(callback.location).toBe(`${t.baseUrl}/vault/strong`);
    expect(JSON.parse((await browser.get(`${t.baseUrl}/vault/strong`, json)).body)).toMatchObject({ acr: ACR_STRONG });
  });
});
