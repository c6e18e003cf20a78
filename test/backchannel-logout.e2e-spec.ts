import { Browser } from './fixtures/browser.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

describe.each(PLATFORMS)('back-channel logout from oidc-provider (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)] });
    t = await startTestApp({ platform, port, options: { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET } });
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  it('ends only the OP session that logged out, by sid (LO-01)', async () => {
    const a = new Browser();
    const b = new Browser();
    const bob = new Browser();
    await loginThroughApp(a, t.baseUrl, 'alice');
    await loginThroughApp(b, t.baseUrl, 'alice');
    await loginThroughApp(bob, t.baseUrl, 'bob');
    op.clearRequests();

    // Logout at the OP in browser A (not through the app): the OP POSTs a logout token with A's sid.
    await confirmLogoutAtOp(a, `${op.issuer}/session/end`);
    expect((await a.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
    expect((await b.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    expect((await bob.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
  });

  it('RP-initiated logout revokes the session tokens at the OP revocation endpoint (RFC 7009)', async () => {
    const a = new Browser();
    await loginThroughApp(a, t.baseUrl, 'carol');
    op.clearRequests();
    const res = await a.post(`${t.baseUrl}/auth/logout`, { navigation: true });
    expect(res.status).toBe(302);
    expect(op.count('/token/revocation', 'POST')).toBeGreaterThanOrEqual(1);
    await confirmLogoutAtOp(a, res.location!);
    expect((await a.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });
});
