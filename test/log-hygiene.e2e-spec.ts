/**
 * RS-09: whatever happens — logins, failed callbacks, refreshes, logouts, bad tokens — the module's logs
 * never contain a token, an authorization code or a cookie value.
 */
import { Browser } from './fixtures/browser.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { authorizeAtOp, loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, API_RESOURCE, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

describe.each(PLATFORMS)('log hygiene (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)] });
    t = await startTestApp({
      platform,
      port,
      logger,
      options: { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, bearer: { audience: API_RESOURCE } },
    });
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  it('logs no token, code or cookie value through login, failures, refresh and logout (RS-09)', async () => {
    const secrets: string[] = [];
    const browser = new Browser();
    await loginThroughApp(browser, t.baseUrl, 'alice');
    secrets.push(browser.cookie(t.baseUrl, 'oidc.session')!);
    secrets.push(JSON.parse((await browser.get(`${t.baseUrl}/profile/token`)).body).token);

    // A replayed callback (code already redeemed) and a code-injection attempt.
    const other = new Browser();
    const start = await other.get(`${t.baseUrl}/auth/login`, { navigation: true });
    const callback = new URL(await authorizeAtOp(other, start.location!, 'bob'));
    secrets.push(callback.searchParams.get('code')!);
    await other.get(callback.href);
    await other.get(callback.href);
    const forged = new URL(callback);
    forged.searchParams.set('code', 'forged-code-value-1234567890');
    secrets.push('forged-code-value-1234567890');
    await other.get(forged.href);

    // Refresh, a bad bearer token, a bad logout token, then logout.
    t.clock.advance(3 * 3600);
    await browser.get(`${t.baseUrl}/profile`);
    t.clock.offsetMs = 0;
    const badToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl';
    secrets.push(badToken);
    await fetch(`${t.baseUrl}/profile`, { headers: { authorization: `Bearer ${badToken}` } });
    await fetch(`${t.baseUrl}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `logout_token=${badToken}`,
    });
    await browser.post(`${t.baseUrl}/auth/logout`, { navigation: true });

    expect(logger.lines.length).toBeGreaterThan(3);
    const all = logger.lines.join('\n');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(all).not.toContain(secret);
      expect(all).not.toContain(secret.split('.')[0]!.slice(0, 40));
    }
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  });
});
