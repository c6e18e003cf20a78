/**
 * One issuer string (OIDC Discovery §4.3). Auth0, authentik and others publish their issuer with a trailing
 * slash; configured without it, the module uses the OP's string for every `iss` check — ID tokens, logout
 * tokens and access tokens (the default `bearer.issuers`) — and says so once. Any other difference, and the
 * usual discovery mistakes (404 at the well-known URL, not JSON), fail discovery with a message naming both.
 */
import { randomUUID } from 'node:crypto';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { DEFAULT_HOSTILE_CLIENT, startHostileOp, type HostileOp } from './fixtures/hostile-op.fixture.js';
import { fullLogin, startHostileApp } from './fixtures/hostile-login.js';
import { logoutToken, postBackchannelLogout } from './fixtures/logout-token.js';

const API = 'https://api.example.com';

let hop: HostileOp;
beforeAll(async () => {
  hop = await startHostileOp();
});
afterAll(async () => {
  await hop?.close();
});
beforeEach(() => hop.reset());

/** The hostile OP, publishing and signing with `published` as its issuer string. */
function publishIssuer(published: string): void {
  hop.behaviour.discovery = (doc) => ({ ...doc, issuer: published });
  hop.behaviour.idTokenClaims = (claims) => ({ ...claims, iss: published });
  hop.behaviour.authorizeRedirect = (params) => params.set('iss', published);
}

async function accessToken(iss: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return hop.sign(
    { iss, sub: 'alice', aud: API, iat: now, exp: now + 300, scope: 'api:read', jti: randomUUID(), client_id: 'api-client' },
    { header: { typ: 'at+jwt' } },
  );
}

describe.each(PLATFORMS)('issuer string (%s)', (platform) => {
  describe('the OP publishes "<issuer>/" while `issuer` has no slash', () => {
    let t: TestApp;
    const logger = new CapturingLogger();

    beforeAll(async () => {
      hop.reset();
      publishIssuer(`${hop.issuer}/`);
      t = await startHostileApp(hop, platform, { fetchUserinfo: false, bearer: { audience: API } }, { logger });
    });
    afterAll(async () => {
      await t?.close();
    });
    beforeEach(() => publishIssuer(`${hop.issuer}/`));

    it('warns once at discovery, naming both strings', () => {
      const lines = logger.find('warn', `"${hop.issuer}/"`, `"${hop.issuer}"`, 'trailing slash');
      expect(lines).toHaveLength(1);
    });

    it('logs in (ID token iss = the published string)', async () => {
      const { callback } = await fullLogin(new Browser(), t.baseUrl);
      expect(callback.status).toBe(302);
    });

    it('accepts an access token whose iss is the published string (default bearer.issuers), refuses the other spelling', async () => {
      const ok = await fetch(`${t.baseUrl}/profile`, { headers: { authorization: `Bearer ${await accessToken(`${hop.issuer}/`)}` } });
      expect(ok.status).toBe(200);
      const other = await fetch(`${t.baseUrl}/profile`, { headers: { authorization: `Bearer ${await accessToken(hop.issuer)}` } });
      expect(other.status).toBe(401);
    });

    it('ends the session named by a logout token whose iss is the published string', async () => {
      const browser = new Browser();
      const { callback } = await fullLogin(browser, t.baseUrl, { authorizeParams: { login_hint: `u-${randomUUID()}` } });
      expect(callback.status).toBe(302);
      const sid = JSON.parse((await browser.get(`${t.baseUrl}/auth/me`)).body).claims.sid as string;
      const res = await postBackchannelLogout(t.baseUrl, { logout_token: await logoutToken(hop, { iss: `${hop.issuer}/`, sid }) });
      expect(res.status).toBe(200);
      expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
    });
  });

  describe('discovery problems name their cause', () => {
    async function bootWith(issuer: string): Promise<{ t: TestApp; logger: CapturingLogger; login: number }> {
      const logger = new CapturingLogger();
      const t = await startTestApp({
        platform,
        logger,
        options: { issuer, clientId: DEFAULT_HOSTILE_CLIENT.clientId, clientSecret: DEFAULT_HOSTILE_CLIENT.clientSecret },
      });
      const login = (await fetch(`${t.baseUrl}/auth/login`, { redirect: 'manual' })).status;
      return { t, logger, login };
    }

    it('another issuer in the document: discovery fails naming both strings', async () => {
      publishIssuer('https://login.other.example/tenant');
      const { t, logger, login } = await bootWith(hop.issuer);
      try {
        expect(login).toBe(503);
        expect(logger.find('warn', 'https://login.other.example/tenant', hop.issuer, 'must be identical').length).toBeGreaterThan(0);
      } finally {
        await t.close();
      }
    });

    it('404 at the well-known URL: says so and points at the issuer URL', async () => {
      const { t, logger, login } = await bootWith(`${hop.issuer}/realms/typo`);
      try {
        expect(login).toBe(503);
        expect(
          logger.find('warn', `${hop.issuer}/realms/typo/.well-known/openid-configuration`, 'HTTP 404', 'Check the `issuer` URL').length,
        ).toBeGreaterThan(0);
      } finally {
        await t.close();
      }
    });

    it('a document that is not JSON: says so, with its content type', async () => {
      hop.behaviour.override = (req) =>
        req.path === '/.well-known/openid-configuration'
          ? { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>login</html>' }
          : undefined;
      const { t, logger, login } = await bootWith(hop.issuer);
      try {
        expect(login).toBe(503);
        expect(logger.find('warn', 'did not answer with a JSON discovery document', 'text/html').length).toBeGreaterThan(0);
      } finally {
        await t.close();
      }
    });
  });
});
