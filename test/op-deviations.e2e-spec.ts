/**
 * OPs that deviate from the letter of the specs, driven through the real login: the recipe in the README's
 * "Providers" section must work against them. Here: client_secret_basic credentials compared without
 * form-decoding (RFC 6749 §2.3.1 says decode; LemonLDAP::NG and others do not), with a secret that holds
 * reserved characters. (HS512 ID tokens run against the real OP in hs-id-tokens.e2e-spec.ts, a refresh without
 * rotation in refresh.e2e-spec.ts LF-27 a, introspection without token_type in introspection.e2e-spec.ts.)
 */
import { PLATFORMS } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { startHostileOp, type HostileOp } from './fixtures/hostile-op.fixture.js';
import { fullLogin, startHostileApp } from './fixtures/hostile-login.js';

const CLIENT = { clientId: 'lemon-rp', clientSecret: 'p@ss:w+rd/with=reserved&chars%20-0123456789' };

let hop: HostileOp;
beforeAll(async () => {
  hop = await startHostileOp({ clients: [CLIENT] });
  hop.behaviour.basicWithoutFormDecoding = true;
});
afterAll(async () => {
  await hop?.close();
});

describe.each(PLATFORMS)('an OP that compares Basic credentials without form-decoding (%s)', (platform) => {
  it('client_secret_basic fails with a log line naming invalid_client and what to check', async () => {
    hop.behaviour.basicWithoutFormDecoding = true;
    const logger = new CapturingLogger();
    const t = await startHostileApp(hop, platform, { ...CLIENT, fetchUserinfo: false }, { logger });
    try {
      const { callback } = await fullLogin(new Browser(), t.baseUrl);
      expect(callback.status).toBe(401);
      expect(logger.find('warn', 'HTTP 401', '"invalid_client"', 'clientAuthMethod')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('the recipe — clientAuthMethod: client_secret_post — logs in', async () => {
    hop.behaviour.basicWithoutFormDecoding = true;
    const t = await startHostileApp(hop, platform, { ...CLIENT, clientAuthMethod: 'client_secret_post', fetchUserinfo: false });
    try {
      const browser = new Browser();
      const { callback } = await fullLogin(browser, t.baseUrl);
      expect(callback.status).toBe(302);
      expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe.each(PLATFORMS)('an OP whose introspection answers carry no token_type (%s)', (platform) => {
  const API = 'https://orders.example.com';

  it('an opaque access token from a real login is accepted when aud names the API, refused without aud (RFC 7662 §2.2, RFC 8725 §2.8)', async () => {
    hop.behaviour.basicWithoutFormDecoding = false;
    const t = await startHostileApp(hop, platform, { ...CLIENT, fetchUserinfo: false, bearer: { audience: API, introspection: true } });
    try {
      const browser = new Browser();
      expect((await fullLogin(browser, t.baseUrl)).callback.status).toBe(302);
      const accessToken = JSON.parse((await browser.get(`${t.baseUrl}/profile/token`)).body).token as string;
      expect(accessToken.split('.')).not.toHaveLength(3);
      let aud: string | undefined = API;
      hop.behaviour.override = (req) => {
        if (req.path !== '/introspect') return undefined;
        const now = Math.floor(Date.now() / 1000);
        const body = {
          active: true,
          iss: hop.issuer,
          sub: 'alice',
          client_id: CLIENT.clientId,
          scope: 'openid',
          aud,
          iat: now,
          exp: now + 300,
        };
        return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
      };
      const ok = await fetch(`${t.baseUrl}/profile`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(ok.status).toBe(200);
      expect((await ok.json()).sub).toBe('alice');

      aud = undefined;
      const refused = await fetch(`${t.baseUrl}/profile`, { headers: { authorization: `Bearer ${accessToken}x` } });
      expect(refused.status).toBe(401);
    } finally {
      hop.behaviour.override = undefined;
      await t.close();
    }
  });
});
