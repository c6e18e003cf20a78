/**
 * `idTokenSigningAlg: 'HS256' | 'HS512'` (OIDC Core §10.1): ID tokens signed with the client secret, as
 * LemonLDAP::NG and many self-hosted OPs do by default — against the real OP, through the real login. Opt-in,
 * confidential clients only; without the option such a login is refused with a message naming the fix.
 */
import { PLATFORMS, startTestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { startTestOp, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

/** OIDC Core §10.1 / RFC 7518 §3.2: an HS512 key (the client secret) of at least 512 bits. */
const LONG_SECRET = 'a-client-secret-long-enough-for-hs512-0123456789-abcdefghijklmnopq';

describe.each(PLATFORMS)('HS-signed ID tokens (%s)', (platform) => {
  describe.each(['HS256', 'HS512'] as const)('%s', (alg) => {
    let op: TestOp;
    let port: number;

    beforeAll(async () => {
      port = await getFreePort();
      op = await startTestOp({
        clients: [webClient(`http://127.0.0.1:${port}`, { client_secret: LONG_SECRET, id_token_signed_response_alg: alg })],
        configuration: { enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256', 'HS512'] } } as never,
      });
    });
    afterAll(async () => {
      await op?.close();
    });

    it(`logs in with idTokenSigningAlg: '${alg}' (verified with the client secret), and a back-channel logout signed so ends the session`, async () => {
      const t = await startTestApp({
        platform,
        port,
        options: { issuer: op.issuer, clientId: 'test-app', clientSecret: LONG_SECRET, idTokenSigningAlg: alg },
      });
      try {
        const browser = new Browser();
        const res = await loginThroughApp(browser, t.baseUrl, 'lemon');
        expect(res.status).toBe(302);
        const me = await browser.get(`${t.baseUrl}/auth/me`);
        expect(JSON.parse(me.body)).toMatchObject({ sub: 'lemon' });
        // The OP signs its back-channel logout tokens like its ID tokens: with the client secret.
        await confirmLogoutAtOp(browser, `${op.issuer}/session/end`);
        expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
      } finally {
        await t.close();
      }
    });
  });
});
