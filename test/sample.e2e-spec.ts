import { io } from 'socket.io-client';
import { DEV_CLIENT_ID } from '../sample/dev-client.js';
import { escapeHtml, page } from '../sample/html.js';
import { claimsTable } from '../sample/profile.controller.js';
import { Browser } from './fixtures/browser.js';
import { PLATFORMS } from './fixtures/app.fixture.js';
import { confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { OP_PATHS, type TestOp } from './fixtures/op.fixture.js';
import { useSampleWithOp } from './fixtures/sample-app.js';

const LOGIN_LINK = 'href="/auth/login?returnTo=/profile"';
const LOGOUT_FORM = /<form[^>]*method="post"[^>]*action="\/auth\/logout"/;

describe('sample HTML helpers', () => {
  it('escapes every HTML-significant character', () => {
    expect(escapeHtml(`<script>alert("x") & 'y'</script>`)).toBe('&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;');
    expect(escapeHtml(undefined)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });

  it('renders claim names and values (strings, numbers, objects) escaped', () => {
    const html = claimsTable({
      name: '<script>alert(1)</script>',
      '<b>odd</b>': 'x',
      address: { street_address: '<img src=x onerror=alert(1)>' },
      groups: ['"quoted"'],
    });
    expect(html).not.toMatch(/<script|<img|<b>/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;odd&lt;/b&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&quot;\\&quot;quoted\\&quot;&quot;');
  });

  it('escapes the page title', () => {
    expect(page('<i>t</i>', '')).toContain('<title>&lt;i&gt;t&lt;/i&gt;</title>');
  });
});

describe.each(PLATFORMS)('sample app (%s)', (platform) => {
  const sample = useSampleWithOp(platform);
  let op: TestOp;
  let baseUrl: string;
  beforeAll(() => {
    ({ op, baseUrl } = sample);
  });

  it('GraphQL and WebSockets from the /live page: the session reaches both; another site cannot use it', async () => {
    const browser = new Browser();
    expect((await loginThroughApp(browser, baseUrl, 'livia', { returnTo: '/live' })).status).toBe(302);
    const live = await browser.get(`${baseUrl}/live`, { navigation: true });
    expect(live.status).toBe(200);
    expect(live.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(live.body).toContain('<script src="/live.js"></script>');
    expect((await browser.get(`${baseUrl}/live.js`)).body).toContain("'/graphql'");

    const graphql = await browser.post(`${baseUrl}/graphql`, { json: { query: '{ viewer { sub authMethod email } }' } });
    expect(JSON.parse(graphql.body)).toEqual({ data: { viewer: { sub: 'livia', authMethod: 'session', email: 'livia@example.com' } } });
    const anonymous = await new Browser().post(`${baseUrl}/graphql`, { json: { query: '{ viewer { sub } }' } });
    expect(JSON.parse(anonymous.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const cookie = browser
      .cookies(baseUrl)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const whoami = (origin: string) =>
      new Promise<unknown>((resolve) => {
        const socket = io(baseUrl, { transports: ['websocket'], extraHeaders: { cookie, origin }, reconnection: false });
        socket.on('connect', () => socket.emit('whoami', {}));
        socket.on('whoami', (data: unknown) => {
          resolve(data);
          socket.close();
        });
        socket.on('disconnect', () => resolve('disconnected'));
      });
    expect(await whoami(baseUrl)).toEqual({ sub: 'livia', authMethod: 'session', email: 'livia@example.com' });
    expect(await whoami('https://evil.example')).toBe('disconnected');
  });

  it('shows a login link on the home page when anonymous', async () => {
    const home = await new Browser().get(`${baseUrl}/`, { navigation: true });
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
    expect(home.body).toContain('<title>nestjs-oidc sample</title>');
    expect(home.body).toContain(LOGIN_LINK);
    expect(home.body).not.toMatch(LOGOUT_FORM);
  });

  it('redirects a browser navigation to /profile to the login route, and answers API calls with 401', async () => {
    const browser = new Browser();
    const nav = await browser.get(`${baseUrl}/profile`, { navigation: true });
    expect(nav.status).toBe(302);
    expect(nav.location).toBe(`${baseUrl}/auth/login?returnTo=%2Fprofile`);

    const api = await browser.get(`${baseUrl}/api/me`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('logs in as alice, shows her claims, serves /api/me, and logs out', async () => {
    const browser = new Browser();
    const login = await browser.get(`${baseUrl}/auth/login?returnTo=/profile`, { navigation: true });
    expect(login.status).toBe(302);
    expect(login.location?.startsWith(`${op.issuer}${OP_PATHS.authorization}?`)).toBe(true);
    expect(new URL(login.location!).searchParams.get('redirect_uri')).toBe(`${baseUrl}/auth/callback`);

    const callback = await loginThroughApp(browser, baseUrl, 'alice', { returnTo: '/profile' });
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${baseUrl}/profile`);

    const profile = await browser.get(`${baseUrl}/profile`, { navigation: true });
    expect(profile.status).toBe(200);
    expect(profile.headers.get('content-type')).toMatch(/^text\/html/);
    expect(profile.headers.get('cache-control')).toBe('no-store');
    expect(profile.body).toContain('alice');
    expect(profile.body).toContain('alice@example.com');
    expect(profile.body).toContain('<th scope="row">email</th><td>alice@example.com</td>');
    expect(profile.body).toMatch(LOGOUT_FORM);

    const home = await browser.get(`${baseUrl}/`, { navigation: true });
    expect(home.body).toContain('Signed in as <strong>Alice Example</strong>');
    expect(home.body).toMatch(LOGOUT_FORM);
    expect(home.body).not.toContain(LOGIN_LINK);

    const me = await browser.get(`${baseUrl}/api/me`);
    expect(me.status).toBe(200);
    expect(me.headers.get('content-type')).toMatch(/^application\/json/);
    const user = JSON.parse(me.body);
    expect(user.sub).toBe('alice');
    expect(user.claims.email).toBe('alice@example.com');
    expect(user.scopes).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(me.body).not.toMatch(/eyJ|access_token|refresh_token/);

    // the logout button: POST /auth/logout → the OP's end_session_endpoint (or the home page)
    const logout = await browser.post(`${baseUrl}/auth/logout`, { navigation: true, form: {} });
    expect(logout.status).toBe(302);
    const target = new URL(logout.location!);
    if (target.origin === op.issuer) {
      expect(target.pathname).toBe(OP_PATHS.endSession);
      expect(target.searchParams.get('post_logout_redirect_uri')).toBe(`${baseUrl}/auth/logout/callback`);
      expect(target.searchParams.get('client_id')).toBe(DEV_CLIENT_ID);
    } else {
      expect(target.origin + target.pathname).toBe(`${baseUrl}/auth/logout/callback`);
    }

    expect((await browser.get(`${baseUrl}/api/me`)).status).toBe(401);
    const afterLogout = await browser.get(`${baseUrl}/`, { navigation: true });
    expect(afterLogout.body).toContain(LOGIN_LINK);

    // the OP's confirmation page sends the browser back to the home page, logged out
    if (target.origin === op.issuer) {
      const back = await confirmLogoutAtOp(browser, logout.location!);
      expect(back).toBeDefined();
      const backUrl = new URL(back!);
      expect(backUrl.origin + backUrl.pathname).toBe(`${baseUrl}/auth/logout/callback`);
      // The landing route flushes the browser's cache and ends on the home page, with a clean URL.
      const landing = await browser.get(back!, { navigation: true });
      expect(landing.status).toBe(302);
      expect(landing.headers.get('clear-site-data')).toBe('"cache"');
      expect(landing.location).toBe(`${baseUrl}/`);
      const home = await browser.get(landing.location!, { navigation: true });
      expect(home.status).toBe(200);
      expect(home.body).toContain(LOGIN_LINK);
    }
  });

  it('the showcase: a token for the API with a copy-paste curl line that /api/me accepts as Bearer, and a routes page', async () => {
    const browser = new Browser();
    expect((await loginThroughApp(browser, baseUrl, 'dana', { returnTo: '/profile' })).status).toBe(302);
    const profile = await browser.get(`${baseUrl}/profile`, { navigation: true });
    expect(profile.body).toContain('href="/profile/api-token"');

    const tokenPage = await browser.get(`${baseUrl}/profile/api-token`, { navigation: true });
    expect(tokenPage.status).toBe(200);
    const curl = /curl -H &quot;Authorization: Bearer ([\w.-]+)&quot; (\S+)<\/pre>/.exec(tokenPage.body);
    expect(curl).not.toBeNull();
    expect(curl![2]).toBe(`${baseUrl}/api/me`);
    // What the curl line does: /api/me answers the token's user, authenticated by bearer.
    const api = await fetch(curl![2]!, { headers: { authorization: `Bearer ${curl![1]}` } });
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ sub: DEV_CLIENT_ID, authMethod: 'bearer' });

    const routes = await new Browser().get(`${baseUrl}/routes`, { navigation: true });
    expect(routes.status).toBe(200);
    for (const route of ['/auth/login', '/auth/callback', '/auth/logout/callback', '/auth/backchannel-logout', '/auth/me', '/api/me']) {
      expect(routes.body).toContain(route);
    }
  });

  it('escapes claim values on the profile and home pages (a username with <script>)', async () => {
    const browser = new Browser();
    const evil = `<script>alert("x")</script>`;
    const callback = await loginThroughApp(browser, baseUrl, evil, { returnTo: '/profile' });
    expect(callback.status).toBe(302);

    const profile = await browser.get(`${baseUrl}/profile`, { navigation: true });
    expect(profile.status).toBe(200);
    expect(profile.body).not.toContain('<script');
    expect(profile.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;@example.com');
    expect(profile.headers.get('content-security-policy')).toMatch(/default-src 'none'/);

    const home = await browser.get(`${baseUrl}/`, { navigation: true });
    expect(home.body).not.toContain('<script');
    expect(home.body).toContain('&lt;script&gt;');

    expect(JSON.parse((await browser.get(`${baseUrl}/api/me`)).body).sub).toBe(evil);
  });
});
