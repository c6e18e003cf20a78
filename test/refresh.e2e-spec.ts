import { Browser } from './fixtures/browser.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { fullLogin, startHostileApp } from './fixtures/hostile-login.js';
import { startHostileOp, type HostileOp } from './fixtures/hostile-op.fixture.js';
import { loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

const refreshGrants = (op: TestOp | HostileOp) => op.requests.filter((r) => r.path === '/token' && r.method === 'POST').length;

describe.each(PLATFORMS)('automatic refresh against oidc-provider (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;

  beforeAll(async () => {
    const port = await getFreePort();
    // Rotate on every refresh: re-using a rotated refresh token would revoke the whole grant.
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)], configuration: { rotateRefreshToken: () => true } });
    t = await startTestApp({ platform, port, options: { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET } });
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  it('sends exactly one refresh grant for 20 concurrent requests on an expired session, and all succeed (SE-12)', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'alice');
    const before = JSON.parse((await browser.get(`${t.baseUrl}/auth/me`)).body);
    t.clock.advance(3 * 3600);
    op.clearRequests();
    const responses = await Promise.all(Array.from({ length: 20 }, () => browser.get(`${t.baseUrl}/profile/raw`)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(refreshGrants(op)).toBe(1);
    expect(responses.every((r) => JSON.parse(r.body).hasAccessToken)).toBe(true);

    // The rotated refresh token was stored: a second round refreshes again and the grant survives (LF-27 b).
    t.clock.advance(3 * 3600);
    op.clearRequests();
    const again = await Promise.all(Array.from({ length: 5 }, () => browser.get(`${t.baseUrl}/profile`)));
    expect(again.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(refreshGrants(op)).toBe(1);
    const after = JSON.parse((await browser.get(`${t.baseUrl}/auth/me`)).body);
    expect(after.sub).toBe(before.sub);
    t.clock.offsetMs = 0;
  });
});

describe.each(PLATFORMS)('refresh against a hostile OP (%s)', (platform) => {
  let hop: HostileOp;
  let t: TestApp;

  beforeAll(async () => {
    hop = await startHostileOp();
    t = await startHostileApp(hop, platform, { fetchUserinfo: false });
  });
  afterAll(async () => {
    await t?.close();
    await hop?.close();
  });
  beforeEach(() => hop.reset());
  afterEach(() => {
    t.clock.offsetMs = 0;
  });

  async function loggedIn(): Promise<Browser> {
    const browser = new Browser();
    const { callback } = await fullLogin(browser, t.baseUrl);
    expect(callback.status).toBe(302);
    t.clock.advance(3600);
    return browser;
  }

  function onRefresh(mutate: (claims: Record<string, unknown>) => Record<string, unknown>) {
    hop.behaviour.idTokenClaims = (claims) => (claims.nonce === undefined ? mutate(claims) : claims);
  }

  it.each([
    ['a: a different iss', (c: Record<string, unknown>) => ({ ...c, iss: 'http://127.0.0.1:6666' })],
    ['b: a different sub', (c: Record<string, unknown>) => ({ ...c, sub: 'mallory' })],
    ['c: a different aud', (c: Record<string, unknown>) => ({ ...c, aud: ['hostile-app', 'other'], azp: 'hostile-app' })],
    ['d: a different auth_time', (c: Record<string, unknown>) => ({ ...c, auth_time: Number(c.auth_time) - 1000 })],
  ])('ends the session when the refreshed ID token has %s (LF-26, OIDC Core §12.2)', async (_, mutate) => {
    const browser = await loggedIn();
    onRefresh(mutate);
    const res = await browser.get(`${t.baseUrl}/auth/me`);
    expect(res.status).toBe(401);
    expect(res.setCookies.find((c) => c.name === 'oidc.session')?.maxAge).toBe(0);
    t.clock.offsetMs = 0;
    hop.reset();
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });

  it('keeps the claims when the refresh has no ID token (LF-26 e)', async () => {
    const browser = await loggedIn();
    hop.behaviour.idToken = (ctx) => (ctx.grantType === 'refresh_token' ? undefined : ctx.sign(ctx.claims));
    const res = await browser.get(`${t.baseUrl}/auth/me`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).sub).toBe('alice');
    expect(hop.count('/token')).toBe(2);
  });

  it('keeps the old refresh token when the response has none (LF-27 a)', async () => {
    const browser = await loggedIn();
    hop.behaviour.rotateRefreshTokens = false;
    hop.behaviour.tokenResponse = (body) => {
      const { refresh_token: _, ...rest } = body;
      return rest;
    };
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    t.clock.advance(3600);
    hop.behaviour.tokenResponse = undefined;
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    const refreshes = hop.requests.filter((r) => r.path === '/token' && r.form?.get('grant_type') === 'refresh_token');
    expect(refreshes).toHaveLength(2);
    expect(refreshes[0]!.form!.get('refresh_token')).toBe(refreshes[1]!.form!.get('refresh_token'));
  });

  it('never sends a rotated-out refresh token again (LF-27 b)', async () => {
    const browser = await loggedIn();
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    t.clock.advance(3600);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    const sent = hop.requests.filter((r) => r.form?.get('grant_type') === 'refresh_token').map((r) => r.form!.get('refresh_token'));
    expect(sent).toHaveLength(2);
    expect(new Set(sent).size).toBe(2);
  });

  it('ends the session on invalid_grant without a retry loop (LF-27 c)', async () => {
    const browser = await loggedIn();
    hop.behaviour.override = (req) =>
      req.path === '/token' && req.form?.get('grant_type') === 'refresh_token'
        ? { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_grant"}' }
        : undefined;
    const api = await browser.get(`${t.baseUrl}/profile`);
    expect(api.status).toBe(401);
    const nav = await browser.get(`${t.baseUrl}/profile`, { navigation: true });
    expect(nav.status).toBe(302);
    expect(new URL(nav.location!).pathname).toBe('/auth/login');
    expect(hop.requests.filter((r) => r.form?.get('grant_type') === 'refresh_token')).toHaveLength(1);
  });

  it('keeps the session and answers 503 when the OP is unreachable during refresh (LF-27 d)', async () => {
    const browser = await loggedIn();
    hop.behaviour.override = (req) =>
      req.path === '/token' && req.form?.get('grant_type') === 'refresh_token'
        ? { status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>down</h1>' }
        : undefined;
    const res = await browser.get(`${t.baseUrl}/profile`);
    expect(res.status).toBe(503);
    expect(res.body).not.toMatch(/<h1>down|at .*:\d+/);
    hop.behaviour.override = undefined;
    const later = await browser.get(`${t.baseUrl}/profile`);
    expect(later.status).toBe(200);
  });
});
