import { Browser } from './fixtures/browser.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { API_RESOURCE, startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';
import { OidcEvents, OidcTokenService, type OidcEvent } from '../lib/index.js';

describe.each(PLATFORMS)('token lifecycle and logout (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let local: TestApp;
  const events: OidcEvent[] = [];

  beforeAll(async () => {
    const port = await getFreePort();
    const localPort = await getFreePort();
    op = await startTestOp({
      clients: [
        webClient(`http://127.0.0.1:${port}`, {
          redirect_uris: [`http://127.0.0.1:${port}/auth/callback`, `http://127.0.0.1:${localPort}/auth/callback`],
          post_logout_redirect_uris: [`http://127.0.0.1:${port}/auth/logout/callback`, `http://127.0.0.1:${localPort}`],
        }),
      ],
    });
    const client = { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET };
    t = await startTestApp({
      platform,
      port,
      options: { ...client, logout: { postLogoutRedirectUri: `http://127.0.0.1:${port}/auth/logout/callback` } },
    });
    local = await startTestApp({ platform, port: localPort, options: { ...client, logout: { idpLogout: false } } });
    t.app.get(OidcEvents).on('*', (e) => void events.push(e));
  });
  afterAll(async () => {
    await t?.close();
    await local?.close();
    await op?.close();
  });

  it('lands on the returnTo given at logout only with the state it sent (LO-17, LO-18)', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'alice');
    const res = await browser.post(`${t.baseUrl}/auth/logout?returnTo=${encodeURIComponent('/bye?x=1')}`, { navigation: true });
    const endSession = new URL(res.location!);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${t.baseUrl}/auth/logout/callback`);
    const back = await confirmLogoutAtOp(browser, res.location!);
    expect(new URL(back!).searchParams.get('state')).toBe(endSession.searchParams.get('state'));

    // (a) another state and (b) no state: a neutral page, the stored returnTo is not used.
    const other = new Browser();
    for (const [name, value] of Object.entries(
      Object.fromEntries(browser.cookies(`${t.baseUrl}/auth/logout/callback`).map((c) => [c.name, c.value])),
    )) {
      other.setCookie(t.baseUrl, name, value);
    }
    const wrong = await other.get(`${t.baseUrl}/auth/logout/callback?state=not-the-state`);
    expect(wrong.status).toBe(200);
    expect(wrong.body).toContain('Signed out');
    const none = await browser.get(`${t.baseUrl}/auth/logout/callback`, { navigation: true });
    expect(none.status).toBe(200);

    // (c) the right state, but the cookie was just consumed by (b): a fresh logout lands on returnTo.
    await loginThroughApp(browser, t.baseUrl, 'alice');
    const again = await browser.post(`${t.baseUrl}/auth/logout?returnTo=${encodeURIComponent('/bye?x=1')}`, { navigation: true });
    const landing = await browser.get((await confirmLogoutAtOp(browser, again.location!))!, { navigation: true });
    expect(landing.status).toBe(302);
    expect(landing.location).toBe(`${t.baseUrl}/bye?x=1`);
  });

  it.each(['https://evil.example', '//evil.example', '/\\evil.example', 'https://rp.local@evil.example'])(
    'ignores a hostile logout returnTo %s (LO-17)',
    async (returnTo) => {
      const browser = new Browser();
      await loginThroughApp(browser, t.baseUrl, 'bob');
      const res = await browser.post(`${t.baseUrl}/auth/logout?returnTo=${encodeURIComponent(returnTo)}`, { navigation: true });
      expect(new URL(res.location!).searchParams.get('post_logout_redirect_uri')).toBe(`${t.baseUrl}/auth/logout/callback`);
      const landing = await browser.get((await confirmLogoutAtOp(browser, res.location!))!, { navigation: true });
      expect(landing.status).toBe(302);
      expect(landing.location).toBe(`${t.baseUrl}/`);
    },
  );

  it('logs out locally only with idpLogout: false, and still revokes the tokens', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, local.baseUrl, 'carol');
    op.clearRequests();
    const res = await browser.post(`${local.baseUrl}/auth/logout`, { navigation: true });
    expect(res.status).toBe(302);
    // Local-only logout goes through the landing route too (state, Clear-Site-Data), then to a clean URL.
    expect(res.location).toMatch(new RegExp(`^${local.baseUrl}/auth/logout/callback\\?state=[\\w-]+$`));
    const landing = await browser.get(res.location!, { navigation: true });
    expect(landing.status).toBe(302);
    expect(landing.location).toBe(`${local.baseUrl}/`);
    expect(landing.headers.get('clear-site-data')).toBe('"cache"');
    expect(op.count('/token/revocation', 'POST')).toBeGreaterThanOrEqual(1);
    expect((await browser.get(`${local.baseUrl}/auth/me`)).status).toBe(401);
  });

  it('caches client-credentials tokens per (scope, resource) with one request in flight', async () => {
    const tokens = t.app.get(OidcTokenService);
    op.clearRequests();
    const all = await Promise.all(Array.from({ length: 5 }, () => tokens.clientCredentials({ resource: API_RESOURCE })));
    expect(new Set(all.map((x) => x.accessToken)).size).toBe(1);
    expect(all[0]!.accessToken.split('.')).toHaveLength(3);
    expect(await tokens.clientCredentials({ resource: API_RESOURCE })).toBe(all[0]);
    expect(op.count('/token', 'POST')).toBe(1);
    await tokens.clientCredentials({ resource: API_RESOURCE, scope: 'api:read' });
    expect(op.count('/token', 'POST')).toBe(2);
  });

  it('introspects and revokes through the token service (RFC 7662, RFC 7009)', async () => {
    const tokens = t.app.get(OidcTokenService);
    // A login without a resource indicator gets an opaque access token, which the OP can introspect.
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'erin');
    const accessToken = JSON.parse((await browser.get(`${t.baseUrl}/profile/token`)).body).token as string;
    expect(accessToken.split('.')).not.toHaveLength(3);
    expect((await tokens.userinfo(accessToken)).sub).toBe('erin');
    expect((await tokens.introspect(accessToken)).active).toBe(true);
    await tokens.revoke(accessToken, 'access_token');
    const after = await tokens.introspect(accessToken);
    expect(after.active).toBe(false);
  });

  it.each(['grant_type', 'CLIENT_ID', 'Subject_Token', 'audience', 'scope', 'client_assertion'])(
    'refuses to let exchange() extra override the reserved parameter %s (RFC 8693 §2.1)',
    async (name) => {
      const tokens = t.app.get(OidcTokenService);
      op.clearRequests();
      await expect(
        tokens.exchange({
          subjectToken: 'x',
          subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
          extra: { [name]: 'evil' },
        }),
      ).rejects.toThrow(TypeError);
      expect(op.count('/token')).toBe(0);
    },
  );

  it('bounds exchange() arrays', async () => {
    const tokens = t.app.get(OidcTokenService);
    await expect(
      tokens.exchange({
        subjectToken: 'x',
        subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        audience: Array.from({ length: 11 }, (_, i) => `aud-${i}`),
      }),
    ).rejects.toThrow(TypeError);
  });

  it('reports login, logout and back-channel logout to OidcEvents listeners, without tokens', async () => {
    events.length = 0;
    const a = new Browser();
    const b = new Browser();
    await loginThroughApp(a, t.baseUrl, 'dora');
    await loginThroughApp(b, t.baseUrl, 'dora');
    await confirmLogoutAtOp(b, `${op.issuer}/session/end`);
    await a.post(`${t.baseUrl}/auth/logout`, { navigation: true });
    expect(events.map((e) => e.type)).toEqual(['login', 'login', 'backchannel-logout', 'logout']);
    expect(events.every((e) => e.iss === op.issuer)).toBe(true);
    expect(events.find((e) => e.type === 'backchannel-logout')).toMatchObject({ sub: 'dora', sessionsEnded: 1 });
    expect(JSON.stringify(events)).not.toMatch(/eyJ/);
  });
});
